package dev.plateau.tuning;

import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.ModelStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Inference latency while a fine-tune runs, against the same inference idle: what a device's
 * sources see when an operator fine-tunes. Inference runs as the daemon runs it (the shared
 * pool of {@code poolThreads}), on one sample, back to back or paced; the fine-tune is a real
 * {@link FineTune} of the bundle on a directory, into a throw-away store, run at idle CPU priority
 * as the daemon runs it ({@link IdleThread}) or, for comparison, at normal priority.
 */
public final class FineTuneContention {
    /** Calls before measuring: the JIT compiles the path. */
    private static final int WARM_UP_CALLS = 15_000;

    /** Single-call latency, µs. */
    public record Figures(int calls, double p50Micros, double p99Micros, double maxMicros) {}

    /** One measurement: inference idle, then during one fine-tune. */
    public record Result(boolean idlePriority, double rateHz, Figures idle, Figures during, long fineTuneMillis,
                         String decision) {
        /** p99 during the fine-tune over p99 idle. */
        public double ratioP99() {
            return during.p99Micros() / idle.p99Micros();
        }

        /** p50 during the fine-tune over p50 idle. */
        public double ratioP50() {
            return during.p50Micros() / idle.p50Micros();
        }
    }

    private FineTuneContention() {}

    /**
     * @param rateHz inference calls per second, 0 for back to back
     * @param idleSeconds how long inference is measured before the fine-tune starts
     */
    public static Result measure(ModelBundle bundle, int poolThreads, byte[] sample, String sampleName, Path data,
                                 boolean idlePriority, double rateHz, double idleSeconds)
            throws InputRejectedException, IOException {
        Path state = Files.createTempDirectory("plateau-contention");
        try (InferenceEngine engine = InferenceEngine.load(bundle, OrtRuntime.environment(poolThreads), 0)) {
            for (int i = 0; i < WARM_UP_CALLS; i++) {
                engine.infer(sampleName, sample);
            }
            long periodNanos = rateHz > 0 ? (long) (1e9 / rateHz) : 0;
            Latencies idle = new Latencies();
            long end = System.nanoTime() + (long) (idleSeconds * 1e9);
            while (System.nanoTime() < end) {
                idle.add(call(engine, sample, sampleName, periodNanos));
            }
            ModelStore store = ModelStore.signedByDevice(state, Clock.systemUTC(), ModelStore.KEEP_LAST);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread tune = new Thread(() -> {
                try {
                    FineTune run = new FineTune(bundle, store, TuningConfig.defaults(), Clock.systemUTC(), line -> { });
                    FineTune.Outcome o = idlePriority ? IdleThread.run("plateau-finetune", () -> run.run(data, null))
                            : run.run(data, null);
                    outcome.set(o.accepted() ? "accepted" : "rejected");
                } catch (RuntimeException | Error e) {
                    outcome.set(e);
                }
            }, "bench-finetune");
            Latencies during = new Latencies();
            long started = System.nanoTime();
            tune.start();
            while (tune.isAlive()) {
                during.add(call(engine, sample, sampleName, periodNanos));
            }
            long millis = (System.nanoTime() - started) / 1_000_000;
            if (outcome.get() instanceof Throwable t) {
                throw new IllegalStateException("the fine-tune failed: " + t, t);
            }
            return new Result(idlePriority, rateHz, idle.figures(), during.figures(), millis, (String) outcome.get());
        } finally {
            DurableFiles.deleteTree(state);
        }
    }

    private static long call(InferenceEngine engine, byte[] sample, String name, long periodNanos)
            throws InputRejectedException {
        if (periodNanos > 0) {
            long next = System.nanoTime() + periodNanos;
            for (long wait = periodNanos; wait > 0; wait = next - System.nanoTime()) {
                LockSupport.parkNanos(wait);
            }
        }
        long t0 = System.nanoTime();
        engine.infer(name, sample);
        return System.nanoTime() - t0;
    }

    /** Call times in ns, growing. */
    private static final class Latencies {
        private long[] nanos = new long[1 << 14];
        private int n;

        void add(long t) {
            if (n == nanos.length) {
                nanos = Arrays.copyOf(nanos, n * 2);
            }
            nanos[n++] = t;
        }

        Figures figures() {
            long[] t = Arrays.copyOf(nanos, n);
            Arrays.sort(t);
            return new Figures(n, at(t, 0.50), at(t, 0.99), n == 0 ? Double.NaN : t[n - 1] / 1000.0);
        }

        private static double at(long[] sorted, double q) {
            if (sorted.length == 0) {
                return Double.NaN;
            }
            int rank = (int) Math.ceil(q * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1000.0;
        }
    }
}
