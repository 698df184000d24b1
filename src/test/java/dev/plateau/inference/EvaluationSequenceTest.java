package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.ModelBundle;
import dev.plateau.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Blocks of N windows on the tiny window model, whose log-odds of {@code damaged} are the sum of
 * channel az: every block mean, and so every figure, is known by hand.
 */
class EvaluationSequenceTest {
    @TempDir
    Path tmp;

    /** A window whose az samples are all {@code odds / 8}: the tiny model's log-odds are {@code odds}. */
    private void window(String label, String name, double odds) throws Exception {
        StringBuilder csv = new StringBuilder("ax,ay,az\n");
        for (int i = 0; i < 8; i++) {
            csv.append("0,0,").append(odds / 8).append('\n');
        }
        Files.writeString(Files.createDirectories(tmp.resolve("data").resolve(label)).resolve(name), csv);
    }

    private Evaluation.Result run(String manifestExtra, int n) throws Exception {
        TinyModels.Spec spec = TinyModels.window3x8();
        Path bundle = TinyModels.bundle(tmp.resolve("model"), spec, TinyModels.manifest(spec, "damaged") + manifestExtra);
        ModelBundle b = ModelBundle.open(bundle);
        try (InferenceEngine engine = InferenceEngine.load(b, OrtRuntime.environment(1), 0)) {
            return Evaluation.run(engine, SampleDirectory.scan(tmp.resolve("data"), b.manifest().output().labels()),
                    OptionalInt.of(n));
        }
    }

    /** Healthy blocks [-2 -2 -2] [4 4 4] and a 7th window dropped; damaged [1 1 1] [-3 0 0]. */
    private void sevenAndSix() throws Exception {
        // Written out of name order: blocks follow names, not the order files came.
        double[] healthy = {-2, -2, -2, 4, 4, 4, 9};
        for (int i = healthy.length - 1; i >= 0; i--) {
            window("healthy", "h" + i + ".csv", healthy[i]);
        }
        double[] damaged = {1, 1, 1, -3, 0, 0};
        for (int i = 0; i < damaged.length; i++) {
            window("damaged", "d" + i + ".csv", damaged[i]);
        }
    }

    @Test
    void sequence3_knownScores_blockFiguresAtTheDefaultThresholdZero() throws Exception {
        sevenAndSix();
        Evaluation.Sequence q = run("", 3).sequence().orElseThrow();
        assertEquals(3, q.n());
        assertEquals(Map.of("healthy", 2, "damaged", 2), q.blocks());
        assertEquals(1, q.droppedFiles());
        assertEquals(0.0, q.threshold());
        assertTrue(q.alarm().isEmpty());
        assertEquals(0.5, q.falseAlarmRate(), 1e-12, "healthy block [4 4 4] alarms");
        assertEquals(0.5, q.detectionRate(), 1e-12, "damaged block [-3 0 0] (mean -1) is missed");
        // Damaged {1, -1} against healthy {-2, 4}: 2 of 4 pairs ranked right.
        assertEquals(0.5, q.rocAuc(), 1e-12);
    }

    @Test
    void sequence3_manifestAlarmThreshold_isTheOneJudged() throws Exception {
        sevenAndSix();
        Evaluation.Sequence q = run("alarm: {windows: 3, threshold: 0.5}\n", 3).sequence().orElseThrow();
        assertEquals(0.5, q.threshold());
        assertEquals(3, q.alarm().orElseThrow().windows());
        assertEquals(0.5, q.falseAlarmRate(), 1e-12);
        assertEquals(0.5, q.detectionRate(), 1e-12, "mean 1 is above 0.5");
        Evaluation.Sequence strict = run("alarm: {windows: 3, threshold: 1.0}\n", 3).sequence().orElseThrow();
        assertEquals(0.0, strict.detectionRate(), 1e-12, "a mean equal to the threshold does not alarm");
    }

    @Test
    void sequence_perWindowFigures_stayAsWithout() throws Exception {
        sevenAndSix();
        Evaluation.Result with = run("", 3);
        assertEquals(13, with.n());
        // Windows with log-odds > 0 are called damaged: healthy 4 4 4 9 wrong, damaged 1 1 1 right.
        assertEquals(3.0 / 7, with.perClass().get("healthy"), 1e-12);
        assertEquals(3.0 / 6, with.perClass().get("damaged"), 1e-12);
    }

    @Test
    void sequence_longerThanAClass_dropsEveryFile() throws Exception {
        sevenAndSix();
        Evaluation.Sequence q = run("", 8).sequence().orElseThrow();
        assertEquals(Map.of("healthy", 0, "damaged", 0), q.blocks());
        assertEquals(13, q.droppedFiles());
        assertTrue(Double.isNaN(q.falseAlarmRate()) && Double.isNaN(q.detectionRate()) && Double.isNaN(q.rocAuc()));
    }

    @Test
    void sequence_modelWithoutPositive_isRefusedSayingWhy() throws Exception {
        TinyModels.Spec spec = TinyModels.gray4x4();
        ModelBundle b = ModelBundle.open(TinyModels.bundle(tmp.resolve("gray"), spec));
        Files.createDirectories(tmp.resolve("data/top"));
        try (InferenceEngine engine = InferenceEngine.load(b, OrtRuntime.environment(1), 0)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Evaluation.run(engine,
                    SampleDirectory.scan(tmp.resolve("data"), b.manifest().output().labels()), OptionalInt.of(12)));
            assertTrue(e.getMessage().startsWith("--sequence: model tiny-gray has no output.positive"), e.getMessage());
        }
    }
}
