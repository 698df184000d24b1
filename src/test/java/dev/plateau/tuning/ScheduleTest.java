package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ScheduleTest {

    @Test
    void constant_anyEpoch_isTheBaseRate() {
        Schedule s = Schedule.create(TuningConfig.fromOverrides(Map.of("schedule", "constant", "lr", "0.05")));
        assertEquals(0.05, s.rate(0), 0);
        s.onEpochEnd(1.0);
        s.onEpochEnd(2.0);
        assertEquals(0.05, s.rate(17), 0);
    }

    @Test
    void cosine_fourEpochs_followsHalfCosine() {
        // 0.1 * (1 + cos(pi e / 4)) / 2 for e = 0..4: 0.1, 0.0853553, 0.05, 0.0146447, 0
        CosineSchedule s = new CosineSchedule(0.1, 0, 4);
        double[] expected = {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0};
        for (int e = 0; e < expected.length; e++) {
            assertEquals(expected[e], s.rate(e), 1e-12, "epoch " + e);
        }
    }

    @Test
    void cosine_withMinLr_endsAtMinLrAndStays() {
        // min + (base - min) * (1 + cos(pi / 2)) / 2 = 0.01 + 0.09 / 2 = 0.055 halfway.
        CosineSchedule s = new CosineSchedule(0.1, 0.01, 10);
        assertEquals(0.055, s.rate(5), 1e-12);
        assertEquals(0.01, s.rate(10), 1e-12);
        assertEquals(0.01, s.rate(50), 1e-12);
    }

    @Test
    void plateau_noImprovementForPatienceEpochs_multipliesByFactor() {
        PlateauSchedule s = new PlateauSchedule(0.1, 0.001, 0.5, 2, 0.01);
        s.onEpochEnd(1.0);   // best 1.0
        s.onEpochEnd(0.995); // only 0.5 % better: bad epoch 1
        assertEquals(0.1, s.rate(2), 0);
        s.onEpochEnd(1.2);   // bad epoch 2 -> 0.05
        assertEquals(0.05, s.rate(3), 1e-15);
    }

    @Test
    void plateau_improvement_resetsTheCount() {
        PlateauSchedule s = new PlateauSchedule(0.1, 0.001, 0.5, 2, 0.01);
        s.onEpochEnd(1.0);
        s.onEpochEnd(1.1); // bad 1
        s.onEpochEnd(0.9); // 10 % better: reset
        s.onEpochEnd(0.95); // bad 1
        assertEquals(0.1, s.rate(4), 0);
    }

    @Test
    void plateau_repeatedReductions_stopAtMinLr() {
        // 0.1 -> 0.05 -> 0.025 -> 0.02 (floor) -> 0.02
        PlateauSchedule s = new PlateauSchedule(0.1, 0.02, 0.5, 1, 0.0);
        s.onEpochEnd(1.0);
        double[] expected = {0.05, 0.025, 0.02, 0.02};
        for (double e : expected) {
            s.onEpochEnd(1.0);
            assertEquals(e, s.rate(0), 1e-15);
        }
    }

    @Test
    void create_cosine_spansMaxEpochs() {
        Schedule s = Schedule.create(TuningConfig.fromOverrides(
                Map.of("schedule", "cosine", "lr", "0.1", "min_lr", "0", "max_epochs", "4")));
        assertEquals(0.05, s.rate(2), 1e-12);
    }
}
