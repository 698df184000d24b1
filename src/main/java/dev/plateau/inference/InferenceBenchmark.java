package dev.plateau.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * Our hot path against the raw ONNX Runtime binding used the usual way (a new tensor from a Java
 * array per call, the output read back as an array), on the same session and input, in
 * alternating rounds so both see the same machine load. Reports medians and their ratio.
 */
public final class InferenceBenchmark {
    private InferenceBenchmark() {}

    /** Medians of per-round mean call times in µs, their ratio, and bytes allocated per call. */
    public record Result(String model, int rounds, int callsPerRound, double oursMicros, double rawMicros,
                         double ratio, long oursBytesPerCall, long rawBytesPerCall) {}

    public static Result run(InferenceEngine engine, byte[] sample, String sampleName, int rounds, int callsPerRound)
            throws InputRejectedException {
        engine.infer(sampleName, sample); // fills the input buffer the hot path reads
        OrtEnvironment env = OrtRuntime.environment(1);
        String inputName = engine.manifest().input().tensor();
        long[] shape = new long[engine.manifest().input().shape().size() + 1];
        shape[0] = 1;
        for (int i = 1; i < shape.length; i++) {
            shape[i] = engine.manifest().input().shape().get(i - 1);
        }
        float[] values = new float[engine.manifest().input().sampleSize()];
        engine.inputBuffer().get(0, values);
        double[] ours = new double[rounds];
        double[] raw = new double[rounds];
        long[] oursBytes = new long[rounds];
        long[] rawBytes = new long[rounds];
        for (int r = -2; r < rounds; r++) { // two warm-up rounds
            long t0 = System.nanoTime();
            long a0 = allocated();
            for (int i = 0; i < callsPerRound; i++) {
                engine.runPrepared(sampleName);
            }
            long a1 = allocated();
            long t1 = System.nanoTime();
            for (int i = 0; i < callsPerRound; i++) {
                rawCall(env, engine.session(), inputName, values, shape);
            }
            long t2 = System.nanoTime();
            long a2 = allocated();
            if (r >= 0) {
                ours[r] = (t1 - t0) / 1000.0 / callsPerRound;
                raw[r] = (t2 - t1) / 1000.0 / callsPerRound;
                oursBytes[r] = (a1 - a0) / callsPerRound;
                rawBytes[r] = (a2 - a1) / callsPerRound;
            }
        }
        double o = median(ours);
        double w = median(raw);
        return new Result(engine.manifest().name(), rounds, callsPerRound, o, w, o / w,
                (long) median(Arrays.stream(oursBytes).asDoubleStream().toArray()),
                (long) median(Arrays.stream(rawBytes).asDoubleStream().toArray()));
    }

    private static void rawCall(OrtEnvironment env, OrtSession session, String inputName, float[] values, long[] shape) {
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

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
