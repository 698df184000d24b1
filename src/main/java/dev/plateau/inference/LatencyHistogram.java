package dev.plateau.inference;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Latencies in log-spaced buckets (8 per power of two, so a percentile is within ~9 % of the
 * truth), from 1 µs to about 70 minutes. Recording allocates nothing and takes no lock.
 */
public final class LatencyHistogram {
    private static final int SUB = 8;
    private static final int BUCKETS = 32 * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    public void record(long micros) {
        counts.incrementAndGet(bucket(Math.max(1, micros)));
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
