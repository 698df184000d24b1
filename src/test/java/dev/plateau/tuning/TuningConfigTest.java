package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TuningConfigTest {

    private static IllegalArgumentException rejected(Map<String, String> overrides) {
        return assertThrows(IllegalArgumentException.class, () -> TuningConfig.fromOverrides(overrides));
    }

    @Test
    void fromOverrides_none_givesTheDefaults() {
        assertEquals(TuningConfig.defaults(), TuningConfig.fromOverrides(Map.of()));
    }

    @Test
    void defaults_documentedValues_areTheOnesHeld() {
        TuningConfig d = TuningConfig.defaults();
        assertEquals(TuningConfig.OptimizerKind.ADAM, d.optimizer());
        assertEquals(1e-3, d.lr(), 0);
        assertEquals(32, d.batchSize());
        assertEquals(30, d.maxEpochs());
        assertEquals(5, d.patience());
    }

    @Test
    void fromOverrides_validValues_areApplied() {
        TuningConfig c = TuningConfig.fromOverrides(Map.of("optimizer", "nesterov", "lr", "0.05", "batch_size", " 64 ",
                "seed", "-9", "schedule", "cosine", "clip_norm", "0"));
        assertEquals(TuningConfig.OptimizerKind.NESTEROV, c.optimizer());
        assertEquals(0.05, c.lr(), 0);
        assertEquals(64, c.batchSize());
        assertEquals(-9, c.seed());
        assertEquals(TuningConfig.ScheduleKind.COSINE, c.schedule());
        assertEquals(0.0, c.clipNorm(), 0);
    }

    @Test
    void fromOverrides_unknownKey_listsTheKnownKeys() {
        String m = rejected(Map.of("learning_rate", "0.1")).getMessage();
        assertTrue(m.startsWith("unknown key 'learning_rate'"), m);
        assertTrue(m.contains("optimizer, lr, momentum"), m);
        assertTrue(m.contains("val_fraction"), m);
    }

    @Test
    void fromOverrides_badNumber_namesKeyAndValueSeen() {
        assertEquals("lr: not a number ('fast' seen, allowed (0, 1000])",
                rejected(Map.of("lr", "fast")).getMessage());
    }

    @Test
    void fromOverrides_fractionForIntegerKey_isNotAnInteger() {
        assertEquals("batch_size: not an integer ('32.5' seen, allowed 1..65536)",
                rejected(Map.of("batch_size", "32.5")).getMessage());
    }

    @Test
    void fromOverrides_outOfRange_namesValueAndRange() {
        assertEquals("lr: out of range (0 seen, allowed (0, 1000])", rejected(Map.of("lr", "0")).getMessage());
    }

    @Test
    void fromOverrides_hugeInteger_isOutOfRangeNotWrapped() {
        assertEquals("max_epochs: out of range (99999999999 seen, allowed 1..100000)",
                rejected(Map.of("max_epochs", "99999999999")).getMessage());
    }

    @Test
    void fromOverrides_nan_isOutOfRange() {
        assertEquals("momentum: out of range (NaN seen, allowed [0, 1))",
                rejected(Map.of("momentum", "NaN")).getMessage());
    }

    @Test
    void fromOverrides_unknownChoice_listsTheChoices() {
        assertEquals("optimizer: unknown value ('lbfgs' seen, allowed sgd|momentum|nesterov|rmsprop|adam|adamw)",
                rejected(Map.of("optimizer", "lbfgs")).getMessage());
    }

    @Test
    void fromOverrides_severalProblems_reportsEveryOne() {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("lr", "-1");
        bad.put("bogus", "1");
        bad.put("patience", "x");
        String m = rejected(bad).getMessage();
        assertTrue(m.startsWith("--set: 3 errors"), m);
        assertTrue(m.contains("lr: out of range (-1 seen") && m.contains("unknown key 'bogus'")
                && m.contains("patience: not an integer ('x' seen"), m);
    }

    @Test
    void fromOverrides_minLrAboveLr_isRejected() {
        assertEquals("min_lr: must not exceed lr (0.1 seen, allowed [0, 0.01])",
                rejected(Map.of("lr", "0.01", "min_lr", "0.1")).getMessage());
    }

    @Test
    void constructor_outOfRangeValue_isRejectedNotClamped() {
        TuningConfig d = TuningConfig.defaults();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TuningConfig(
                d.optimizer(), d.lr(), d.momentum(), d.beta1(), 1.0, d.epsilon(), d.weightDecay(), d.driftDecay(), d.clipNorm(),
                0, d.maxEpochs(), d.maxSteps(), d.maxSeconds(), d.maxMemoryMb(), d.seed(), d.schedule(), d.minLr(),
                d.plateauFactor(), d.plateauPatience(), d.rehearsalRatio(), d.minDelta(), d.patience(), d.gradTol(),
                d.spikeFactor(), d.gradSpikeFactor(), d.glAlpha(), d.upStrips(), d.stripLength(), d.overfitGap(),
                d.minGain(), d.maxForgetting(), d.minPerClass(), d.valFraction(), d.novelty(), d.gateConfidence(),
                d.maxClassForgetting(), d.search(), d.weightTol(), d.consistencyStop(), d.pinned()));
        assertTrue(e.getMessage().contains("beta2: out of range (1 seen, allowed [0, 1))"), e.getMessage());
        assertTrue(e.getMessage().contains("batch_size: out of range (0 seen, allowed 1..65536)"), e.getMessage());
    }

    @Test
    void asMap_defaults_roundTripsThroughFromOverrides() {
        TuningConfig c = TuningConfig.fromOverrides(Map.of("lr", "3e-4", "epsilon", "1e-7", "optimizer", "adamw"));
        assertEquals(c.asMap(), TuningConfig.fromOverrides(c.asMap()).asMap());
    }

    @Test
    void describeDefaults_everyKey_hasARowWithItsDefault() {
        String table = TuningConfig.describeDefaults();
        for (Map.Entry<String, String> e : TuningConfig.defaults().asMap().entrySet()) {
            assertTrue(table.contains("| `" + e.getKey() + "` | " + e.getValue() + " | "), e.getKey());
        }
        assertEquals(39, TuningConfig.keyNames().size());
    }
}
