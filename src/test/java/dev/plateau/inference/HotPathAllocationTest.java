package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.plateau.model.ModelBundle;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyModels;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference hot path reuses its tensors: per call it may allocate only the few small
 * objects ORT's Java binding creates for a run result, never buffers that grow with the model.
 * The full path, from a file's bytes to the prediction, adds only the prediction itself.
 */
class HotPathAllocationTest {
    /** Issue 15's bound on one inference from file bytes to result. */
    private static final long FULL_PATH_BYTES = 1024;

    @TempDir
    Path tmp;

    @Test
    void infer_fashionPngBytes_allocatesAtMost1KbPerCall() throws Exception {
        long bytes = fullPathBytesPerCall(Path.of("models/fashion-cnn"),
                Path.of("models/fashion-cnn/anchor/ankle-boot/00317.png"));
        assertTrue(bytes <= FULL_PATH_BYTES, "full path allocated " + bytes + " B per call");
    }

    @Test
    void infer_bridgeCsvBytes_allocatesAtMost1KbPerCall() throws Exception {
        long bytes = fullPathBytesPerCall(Path.of("models/bridge-vibration"),
                Path.of("models/bridge-vibration/anchor/damaged/00048.csv"));
        assertTrue(bytes <= FULL_PATH_BYTES, "full path allocated " + bytes + " B per call");
    }

    /** Decode, checks, preprocessing, run, softmax, stats and the prediction, after a warm-up. */
    private static long fullPathBytesPerCall(Path bundle, Path sample) throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        byte[] data = Files.readAllBytes(sample);
        String name = sample.getFileName().toString();
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(1), 0)) {
            for (int i = 0; i < 20_000; i++) {
                engine.infer(name, data);
            }
            int calls = 5_000;
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++) {
                engine.infer(name, data);
            }
            return (threads.getCurrentThreadAllocatedBytes() - before) / calls;
        }
    }

    @Test
    void runPrepared_manyCalls_allocatesNoBuffersPerCall() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Path bundle = TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4());
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(1), 0)) {
            engine.infer("warm.png", Files2.grayPng(new int[4][4]));
            for (int i = 0; i < 20_000; i++) {
                engine.runPrepared("warm-up");
            }
            long tid = Thread.currentThread().getId();
            int calls = 10_000;
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < calls; i++) {
                engine.runPrepared("measured");
            }
            long ours = (threads.getThreadAllocatedBytes(tid) - before) / calls;

            // The usual way with the raw binding: a new input tensor from an array, output read back.
            OrtEnvironment env = OrtRuntime.environment(1);
            float[][][][] pixels = new float[1][1][4][4];
            before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < calls; i++) {
                try (OnnxTensor in = OnnxTensor.createTensor(env, pixels);
                     OrtSession.Result r = engine.session().run(Map.of("image", in))) {
                    float[][] logits = (float[][]) r.get(0).getValue();
                    assertTrue(logits[0].length == 3);
                }
            }
            long raw = (threads.getThreadAllocatedBytes(tid) - before) / calls;
            // Measured 2026-11-24: ours ~540 B per call, all of it inside ORT's run() (name and
            // handle arrays, the Result and its map); the raw way ~1.6 KB on this 16-pixel model, growing with the input. What is left is the
            // binding's own, so the bound is on that, and on never growing with the model.
            assertTrue(ours < 1024 && ours * 2 < raw, "hot path allocated " + ours + " B per call, raw ORT " + raw + " B");
        }
    }
}
