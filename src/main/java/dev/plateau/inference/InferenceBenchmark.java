package dev.plateau.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Plateau's per-sample path side by side with ONNX Runtime's own cost, on one session and one
 * input, in interleaved rounds so every part sees the same machine load:
 *
 * <ul>
 *   <li>{@link Part#FLOOR}: raw {@code OrtSession.run} on one reused direct-buffer tensor with a
 *       pinned output, nothing else: what any caller of ONNX Runtime pays;
 *   <li>{@link Part#FULL}: {@link InferenceEngine#infer(String, byte[])} from the file's bytes
 *       (decode, checks, preprocessing, run, softmax, stats, the returned prediction);
 *   <li>{@link Part#PREPARED}: the same without decoding ({@code runPrepared});
 *   <li>{@link Part#NAIVE}: the binding used the usual way, a new tensor from an array per call
 *       and the output read back with {@code getValue()}.
 * </ul>
 *
 * <p>Every call is timed on its own; bytes are what the calling thread allocated over a round,
 * per call. With a rate the calls are paced (one every {@code 1/rate} s, the latency of a device
 * fed by a sensor), otherwise back to back.
 */
public final class InferenceBenchmark {
    /** Calls of one part in a round, back to back: long enough to amortise the round's bookkeeping. */
    static final int BACK_TO_BACK_ROUND_CALLS = 200;
    /** Calls of one part in a paced round: 0.2 s at 100 Hz, so parts alternate several times a second. */
    static final int PACED_ROUND_CALLS = 20;
    /** Warm-up before measuring: enough for the JIT to compile the path (C2 after ~10k calls). */
    static final int WARM_UP_CALLS = 15_000;
    /**
     * ... or this long per part, whichever comes first: a model of 10 ms a call would otherwise
     * warm up for 10 minutes, and its own cost dwarfs what the JIT changes.
     */
    static final long WARM_UP_NANOS = 5_000_000_000L;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** What is measured. */
    public enum Part { FLOOR, FULL, PREPARED, NAIVE }

    /** Percentiles of single-call latency in µs and bytes allocated per call, of one part. */
    public record Figures(int calls, double p50Micros, double p90Micros, double p99Micros, long bytesPerCall) {}

    /** All parts of one run; {@code rateHz} 0 means back to back. */
    public record Result(String model, double rateHz, int rounds, Map<Part, Figures> parts) {
        public Figures part(Part part) {
            return parts.get(part);
        }

        /** A part's p50 over the floor's. */
        public double ratioP50(Part part) {
            return parts.get(part).p50Micros() / parts.get(Part.FLOOR).p50Micros();
        }

        /** A part's p99 over the floor's. */
        public double ratioP99(Part part) {
            return parts.get(part).p99Micros() / parts.get(Part.FLOOR).p99Micros();
        }
    }

    private InferenceBenchmark() {}

    /**
     * Measures the four parts for about {@code seconds} after a warm-up.
     *
     * @param rateHz calls per second of each part, or 0 for back to back
     * @throws InputRejectedException when {@code sample} is not an input of the model
     */
    public static Result run(InferenceEngine engine, byte[] sample, String sampleName, double rateHz, double seconds)
            throws InputRejectedException {
        if (!(rateHz >= 0) || !(seconds > 0)) {
            throw new IllegalArgumentException("rate must be >= 0 and seconds > 0, found " + rateHz + " and " + seconds);
        }
        engine.infer(sampleName, sample); // fills the input buffer the other parts read
        try (Calls calls = new Calls(engine, sample, sampleName)) {
            // Warm-up, back to back: every part compiled before any is measured.
            for (Part part : Part.values()) {
                long warm = System.nanoTime() + WARM_UP_NANOS;
                for (int i = 0; i < WARM_UP_CALLS && System.nanoTime() < warm; i++) {
                    calls.call(part);
                }
            }
            int perRound = rateHz > 0 ? PACED_ROUND_CALLS : BACK_TO_BACK_ROUND_CALLS;
            long periodNanos = rateHz > 0 ? (long) (1e9 / rateHz) : 0;
            Part[] parts = Part.values();
            long[][] times = new long[parts.length][];
            int[] counts = new int[parts.length];
            long[] bytes = new long[parts.length];
            long[] round = new long[perRound];
            long end = System.nanoTime() + (long) (seconds * 1e9);
            int rounds = 0;
            for (; rounds < 2 || System.nanoTime() < end; rounds++) {
                for (int k = 0; k < parts.length; k++) {
                    // The order rotates so no part always runs first (after the pause of a switch).
                    int p = (k + rounds) % parts.length;
                    bytes[p] += measureRound(calls, parts[p], round, periodNanos);
                    times[p] = append(times[p], counts[p], round);
                    counts[p] += perRound;
                }
            }
            Map<Part, Figures> figures = new java.util.EnumMap<>(Part.class);
            for (Part part : parts) {
                int p = part.ordinal();
                long[] t = Arrays.copyOf(times[p], counts[p]);
                Arrays.sort(t);
                figures.put(part, new Figures(counts[p], percentile(t, 0.50), percentile(t, 0.90),
                        percentile(t, 0.99), bytes[p] / counts[p]));
            }
            return new Result(engine.manifest().name(), rateHz, rounds, Map.copyOf(figures));
        }
    }

    /** Times each call of one round into {@code round} (ns); returns the bytes the round allocated. */
    private static long measureRound(Calls calls, Part part, long[] round, long periodNanos) {
        long next = System.nanoTime();
        long before = THREADS.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < round.length; i++) {
            if (periodNanos > 0) {
                next += periodNanos;
                for (long wait = next - System.nanoTime(); wait > 0; wait = next - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
            }
            long t0 = System.nanoTime();
            calls.call(part);
            round[i] = System.nanoTime() - t0;
        }
        return THREADS.getCurrentThreadAllocatedBytes() - before;
    }

    private static long[] append(long[] all, int count, long[] round) {
        long[] out = all == null ? new long[round.length * 64] : all;
        if (count + round.length > out.length) {
            out = Arrays.copyOf(out, out.length * 2);
        }
        System.arraycopy(round, 0, out, count, round.length);
        return out;
    }

    private static double percentile(long[] sortedNanos, double q) {
        int rank = (int) Math.ceil(q * sortedNanos.length) - 1;
        return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, rank))] / 1000.0;
    }

    /** The four ways of making one call, with the floor's own tensors. */
    private static final class Calls implements AutoCloseable {
        private final InferenceEngine engine;
        private final byte[] sample;
        private final String sampleName;
        private final OrtEnvironment env;
        private final OrtSession session;
        private final String inputName;
        private final long[] shape;
        private final float[] values;
        private final OnnxTensor floorIn;
        private final OnnxTensor floorOut;
        private final Map<String, OnnxTensor> floorInputs;
        private final Map<String, OnnxTensor> floorOutputs;

        Calls(InferenceEngine engine, byte[] sample, String sampleName) {
            this.engine = engine;
            this.sample = sample;
            this.sampleName = sampleName;
            this.env = OrtRuntime.environment(1);
            this.session = engine.session();
            this.inputName = engine.manifest().input().tensor();
            this.shape = OrtRuntime.batchOfOne(engine.manifest().input().shape());
            this.values = new float[engine.manifest().input().sampleSize()];
            engine.inputBuffer().get(0, values);
            FloatBuffer in = OrtRuntime.direct(values.length);
            in.put(0, values);
            FloatBuffer out = OrtRuntime.direct(engine.manifest().classCount());
            OnnxTensor i = null;
            try {
                i = OnnxTensor.createTensor(env, in, shape);
                this.floorOut = OnnxTensor.createTensor(env, out, new long[] {1, engine.manifest().classCount()});
            } catch (OrtException e) {
                if (i != null) {
                    i.close();
                }
                throw new InferenceException("cannot create the floor's tensors", e);
            }
            this.floorIn = i;
            this.floorInputs = Map.of(inputName, floorIn);
            this.floorOutputs = Map.of(engine.manifest().output().tensor(), floorOut);
        }

        void call(Part part) {
            try {
                switch (part) {
                    case FLOOR -> floor();
                    case FULL -> engine.infer(sampleName, sample);
                    case PREPARED -> engine.runPrepared(sampleName);
                    case NAIVE -> naive();
                    default -> throw new IllegalStateException("unhandled part " + part);
                }
            } catch (InputRejectedException e) {
                throw new IllegalStateException("the sample was accepted once and then rejected", e);
            }
        }

        private void floor() {
            try (OrtSession.Result result = session.run(floorInputs, floorOutputs)) {
                assert result.size() == 1;
            } catch (OrtException e) {
                throw new InferenceException("raw ONNX Runtime call failed", e);
            }
        }

        private void naive() {
            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape);
                 OrtSession.Result result = session.run(Map.of(inputName, in))) {
                float[][] out = (float[][]) result.get(0).getValue();
                if (out.length != 1) {
                    throw new IllegalStateException("expected one row of logits, got " + out.length);
                }
            } catch (OrtException e) {
                throw new InferenceException("raw ONNX Runtime call failed", e);
            }
        }

        @Override
        public void close() {
            floorIn.close();
            floorOut.close();
        }
    }
}
