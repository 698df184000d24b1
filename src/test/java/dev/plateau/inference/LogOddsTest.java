package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.ModelBundle;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The detector's per-window score: the positive class's log-odds from the logits. */
class LogOddsTest {
    @Test
    void of_twoClasses_isTheLogitDifference() {
        assertEquals(3.5 - (-1.25), LogOdds.of(new float[] {-1.25f, 3.5f}, 1), 1e-12);
        assertEquals(-1.25 - 3.5, LogOdds.of(new float[] {-1.25f, 3.5f}, 0), 1e-12);
    }

    @Test
    void of_manyClasses_isLogPOverOneMinusPOfTheSoftmax() {
        float[] logits = {0.3f, -1.2f, 2.0f, 0.9f};
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l);
        }
        double p = Math.exp(logits[2]) / sum;
        assertEquals(Math.log(p) - Math.log(1 - p), LogOdds.of(logits, 2), 1e-9);
    }

    @Test
    void of_logitsBeyondFloatProbabilities_staysFiniteAndClamped() {
        // p rounds to 1.0f here; on the logits the score is exact up to the clamp.
        assertEquals(LogOdds.LIMIT, LogOdds.of(new float[] {-300f, 300f}, 1));
        assertEquals(-LogOdds.LIMIT, LogOdds.of(new float[] {3e38f, -3e38f}, 1));
        assertEquals(18.0, LogOdds.of(new float[] {0f, 18f}, 1), 1e-12);
    }

    @Test
    void of_nonFiniteLogitOrBadIndex_isRefusedNamingIt() {
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> LogOdds.of(new float[] {Float.NaN, 1f}, 1));
        assertTrue(nan.getMessage().contains("logit 0 is NaN, expected finite"), nan.getMessage());
        IllegalArgumentException index = assertThrows(IllegalArgumentException.class,
                () -> LogOdds.of(new float[] {0f, 1f}, 2));
        assertTrue(index.getMessage().contains("index in 0..1"), index.getMessage());
    }

    @Test
    void logOdds_bridgeModelOnItsAnchors_agreesWithTheProbabilities() throws Exception {
        Path bundle = Path.of("models/bridge-vibration");
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(1), 0)) {
            Prediction damaged = engine.infer(bundle.resolve("anchor/damaged/00048.csv"));
            int positive = engine.manifest().output().positiveIndex();
            double p = damaged.score(positive);
            double odds = damaged.logOdds(positive);
            assertTrue(Double.isFinite(odds) && Math.abs(odds) <= LogOdds.LIMIT, "log-odds " + odds);
            // Where the float probability still resolves, both ways agree.
            if (p > 1e-6 && p < 1 - 1e-6) {
                assertEquals(Math.log(p) - Math.log(1 - p), odds, 1e-3);
            }
            assertEquals(p > 0.5, odds > 0, "p " + p + ", log-odds " + odds);
        }
    }
}
