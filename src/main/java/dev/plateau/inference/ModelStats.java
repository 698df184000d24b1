package dev.plateau.inference;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** Counters of one loaded model, updated on the hot path without locks. */
public final class ModelStats {
    private final AtomicLong inferences = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLongArray rejected = new AtomicLongArray(InputRejectedException.Reason.values().length);
    private final LatencyHistogram latency = new LatencyHistogram();

    void inferred(long micros) {
        inferences.incrementAndGet();
        latency.record(micros);
    }

    void rejected(InputRejectedException.Reason reason) {
        rejected.incrementAndGet(reason.ordinal());
    }

    void failed() {
        errors.incrementAndGet();
    }

    /** The model-run latencies as cumulative buckets (see {@link LatencyHistogram#cumulative()}). */
    public LatencyHistogram.Cumulative latency() {
        return latency.cumulative();
    }

    public Snapshot snapshot() {
        Map<InputRejectedException.Reason, Long> byReason = new EnumMap<>(InputRejectedException.Reason.class);
        long rejectedTotal = 0;
        for (InputRejectedException.Reason reason : InputRejectedException.Reason.values()) {
            long n = rejected.get(reason.ordinal());
            rejectedTotal += n;
            if (n > 0) {
                byReason.put(reason, n);
            }
        }
        return new Snapshot(inferences.get(), rejectedTotal, Map.copyOf(byReason), errors.get(),
                latency.percentile(0.50), latency.percentile(0.90), latency.percentile(0.99));
    }

    /** Counts so far and latency percentiles in µs. */
    public record Snapshot(long inferences, long rejected, Map<InputRejectedException.Reason, Long> rejectedByReason,
                           long errors, long p50Micros, long p90Micros, long p99Micros) {}
}
