package dev.plateau.inference;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Latencies in log-spaced buckets (8 per power of two, so a percentile is within ~9 % of the
 * truth), from 1 µs to about 70 minutes. Recording allocates nothing and takes no lock.
 */
public final class LatencyHistogram {
    private static final int SUB = 8;
    private static final int BUCKETS = 32 * SUB;

    /** The widest bucket a {@link #cumulative()} view reports: 2^26 µs, about 67 s. */
    private static final int MAX_POWER = 26;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final AtomicLong sumMicros = new AtomicLong();

    public void record(long micros) {
        long m = Math.max(1, micros);
        counts.incrementAndGet(bucket(m));
        sumMicros.addAndGet(m);
    }

    /**
     * Counts at or below each power of two of microseconds, 1 µs up to 2^26 µs, and in all: the
     * exact cumulative buckets of a Prometheus histogram (every eighth bucket ends on a power of
     * two). Read without a lock, so a recording in between may show in a later bound only.
     *
     * @param upperBoundsMicros {@code 2^k} for k = 0 .. 26
     * @param cumulative        recordings at or below each bound
     */
    public record Cumulative(long[] upperBoundsMicros, long[] cumulative, long count, long sumMicros) {}

    public Cumulative cumulative() {
        long[] bounds = new long[MAX_POWER + 1];
        long[] below = new long[MAX_POWER + 1];
        long seen = 0;
        int bucket = 0;
        for (int k = 0; k <= MAX_POWER; k++) {
            bounds[k] = 1L << k;
            // Buckets of exponent < k all end at or below 2^k.
            for (; bucket < BUCKETS && bucket < k * SUB; bucket++) {
                seen += counts.get(bucket);
            }
            below[k] = seen;
        }
        for (; bucket < BUCKETS; bucket++) {
            seen += counts.get(bucket);
        }
        return new Cumulative(bounds, below, seen, sumMicros.get());
    }

    static int bucket(long micros) {
        int exp = 63 - Long.numberOfLeadingZeros(micros);
        int sub = exp < 3 ? (int) ((micros << (3 - exp)) & (SUB - 1)) : (int) ((micros >>> (exp - 3)) & (SUB - 1));
        return Math.min(BUCKETS - 1, exp * SUB + sub);
    }

    static long upperBound(int bucket) {
        int exp = bucket / SUB;
        int sub = bucket % SUB;
        // The bucket holds [ (8+sub) * 2^exp / 8, (9+sub) * 2^exp / 8 ).
        return Math.max(1, ((SUB + sub + 1L) << exp) / SUB);
    }

    public long count() {
        long n = 0;
        for (int i = 0; i < BUCKETS; i++) {
            n += counts.get(i);
        }
        return n;
    }

    /** The latency below which a fraction {@code q} of recordings fall, in µs; 0 when empty. */
    public long percentile(double q) {
        long total = count();
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts.get(i);
            if (seen >= rank && seen > 0) {
                return upperBound(i);
            }
        }
        return upperBound(BUCKETS - 1);
    }
}
