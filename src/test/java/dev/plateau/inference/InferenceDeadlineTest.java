package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.ModelBundle;
import dev.plateau.testing.Files2;
import dev.plateau.testing.SlowModels;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run past its deadline is stopped by ONNX Runtime's terminate flag, and the engine goes on. */
class InferenceDeadlineTest {
    private static final Duration DEADLINE = Duration.ofMillis(300);

    @TempDir
    Path tmp;

    private static byte[] image(boolean bright) {
        int[][] px = new int[4][4];
        if (bright) {
            px[1] = new int[] {255, 255, 255, 255};
        }
        return Files2.grayPng(px);
    }

    @Test
    void infer_runThatNeverEnds_stoppedAtTheDeadlineAndTheNextInputAnswered() throws Exception {
        // 4e12 loop steps for the bright image: hours without the deadline; none for a black one.
        ModelBundle bundle = ModelBundle.open(SlowModels.bundle(tmp.resolve("slow"), 1e12));
        try (InferenceEngine engine = InferenceEngine.load(bundle, OrtRuntime.environment(1), 0, DEADLINE)) {
            for (int round = 0; round < 3; round++) {
                long start = System.nanoTime();
                InferenceException e = assertThrows(InferenceException.class, () -> engine.infer("stuck.png", image(true)));
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(e.getMessage().contains("inference on stuck.png ran past its deadline of 300 ms and was stopped"),
                        e.getMessage());
                assertTrue(millis >= DEADLINE.toMillis() && millis < DEADLINE.toMillis() + 2_000, millis + " ms");
                // The flag is cleared: a quick input right after is answered, not stopped.
                assertEquals("top", engine.infer("quick.png", image(false)).label());
            }
            assertEquals(3, engine.stats().snapshot().errors());
            assertEquals(3, engine.stats().snapshot().inferences());
        }
    }

    @Test
    void infer_slowRunWithinTheDeadline_answered() throws Exception {
        ModelBundle bundle = ModelBundle.open(SlowModels.bundle(tmp.resolve("slow"), 2_000));
        try (InferenceEngine engine = InferenceEngine.load(bundle, OrtRuntime.environment(1), 0, DEADLINE)) {
            assertEquals("middle", engine.infer("slow.png", image(true)).label());
        }
    }
}
