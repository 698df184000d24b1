package dev.plateau.tuning;

import dev.plateau.testing.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.tuning.ConvergenceMonitor.Decision;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The monitor fed by hand with constructed loss curves. */
class ConvergenceMonitorTest {
    private final ManualClock clock = new ManualClock();

    /** Every guard but the ones under test is set out of reach. */
    private ConvergenceMonitor monitor(String... keyValues) {
        Map<String, String> m = new HashMap<>(Map.of("gl_alpha", "1000", "up_strips", "1000", "overfit_gap", "1000",
                "patience", "1000", "grad_tol", "0", "max_epochs", "1000"));
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return new ConvergenceMonitor(TuningConfig.fromOverrides(m), clock);
    }

    private static void steps(ConvergenceMonitor m, int n, double loss, double norm) {
        for (int i = 0; i < n; i++) {
            assertFalse(m.onStep(loss, norm).halt(), "step " + i);
        }
    }

    @Test
    void onStep_nanLoss_abortsNonFinite() {
        Decision d = monitor().onStep(Double.NaN, 1);
        assertEquals(StopReason.DIVERGED_NON_FINITE, d.reason());
        assertEquals(StopReason.Outcome.ABORTED, d.reason().outcome());
    }

    @Test
    void onStep_infiniteGradientNorm_abortsNonFinite() {
        assertEquals(StopReason.DIVERGED_NON_FINITE, monitor().onStep(1, Double.POSITIVE_INFINITY).reason());
    }

    @Test
    void onStep_smoothedLossAboveSpikeFactorTimesBest_abortsLossSpike() {
        // Five steps at 1.0 keep the average at 1. A step at 200 moves the bias-corrected
        // average to (0.9 * 0.40951 + 20) / 0.468559 = 43.5 > 10 x 1.
        ConvergenceMonitor m = monitor("spike_factor", "10");
        steps(m, 5, 1.0, 1);
        Decision d = m.onStep(200, 1);
        assertEquals(StopReason.DIVERGED_LOSS_SPIKE, d.reason());
        assertEquals(5, m.steps());
    }

    @Test
    void onStep_oneHardBatch_isSmoothedAndContinues() {
        // Ten steps at 1.0, then one at 30: the average becomes (0.9 * 0.651322 + 3) / 0.686189
        // = 5.2, under 10 x 1.
        ConvergenceMonitor m = monitor("spike_factor", "10");
        steps(m, 10, 1.0, 1);
        assertFalse(m.onStep(30, 1).halt());
    }

    @Test
    void onStep_gradientNormAboveFactorTimesMedian_abortsGradSpike() {
        ConvergenceMonitor m = monitor("grad_spike_factor", "100");
        steps(m, ConvergenceMonitor.GRAD_WINDOW_MIN, 1.0, 1.0);
        assertEquals(StopReason.DIVERGED_GRAD_SPIKE, m.onStep(1.0, 101).reason());
    }

    @Test
    void onStep_gradientNormJustUnderFactorTimesMedian_continues() {
        ConvergenceMonitor m = monitor("grad_spike_factor", "100");
        steps(m, ConvergenceMonitor.GRAD_WINDOW_MIN, 1.0, 1.0);
        assertFalse(m.onStep(1.0, 99).halt());
    }

    @Test
    void onStep_medianUsesRecentWindowOnly() {
        // 30 norms of 1, then 20 of 10: the window (last 20) has median 10, so 500 is 50x, not 500x.
        ConvergenceMonitor m = monitor("grad_spike_factor", "100");
        steps(m, 30, 1.0, 1.0);
        steps(m, ConvergenceMonitor.GRAD_WINDOW, 1.0, 10.0);
        assertFalse(m.onStep(1.0, 500).halt());
    }

    @Test
    void onStep_nearZeroMedian_isFlooredAtGradTol() {
        // A converged head: norms 1e-7. 1e-3 is 10 000x that, but only 10x grad_tol = 1e-4.
        ConvergenceMonitor m = monitor("grad_spike_factor", "100", "grad_tol", "1e-4");
        steps(m, 10, 1.0, 1e-7);
        assertFalse(m.onStep(1.0, 1e-3).halt());
    }

    @Test
    void onStep_fewerNormsThanWindowMinimum_skipsGradSpikeCheck() {
        ConvergenceMonitor m = monitor("grad_spike_factor", "100");
        steps(m, ConvergenceMonitor.GRAD_WINDOW_MIN - 1, 1.0, 1.0);
        assertFalse(m.onStep(1.0, 1000).halt());
    }

    @Test
    void onEpoch_trainLossAboveSpikeFactorTimesBestEpoch_abortsLossSpike() {
        ConvergenceMonitor m = monitor("spike_factor", "10");
        assertFalse(m.onEpoch(1, 1.0, 1.0, 1).halt());
        assertEquals(StopReason.DIVERGED_LOSS_SPIKE, m.onEpoch(2, 10.5, 1.0, 1).reason());
    }

    @Test
    void onEpoch_nonFiniteValidationLoss_abortsNonFinite() {
        assertEquals(StopReason.DIVERGED_NON_FINITE, monitor().onEpoch(1, 1.0, Double.NaN, 1).reason());
    }

    @Test
    void onEpoch_validationLossBeyondGlAlpha_stopsEarlyGl() {
        // Prechelt GL(t) = 100 (E_va(t) / E_opt(t) - 1), alpha 5:
        // epoch 2: E_opt 0.8; epoch 3: 0.83 -> GL 3.75, go on; epoch 4: 0.85 -> GL 6.25 > 5, stop.
        ConvergenceMonitor m = monitor("gl_alpha", "5");
        double[] train = {1.0, 0.9, 0.8, 0.7};
        double[] val = {1.0, 0.8, 0.83, 0.85};
        for (int e = 0; e < 3; e++) {
            assertFalse(m.onEpoch(e + 1, train[e], val[e], 1).halt(), "epoch " + (e + 1));
        }
        Decision d = m.onEpoch(4, train[3], val[3], 1);
        assertEquals(StopReason.EARLY_STOP_GL, d.reason());
        assertTrue(d.message().contains("epoch 2"), d.message());
    }

    @Test
    void onEpoch_validationLossUpInSuccessiveStripEnds_stopsEarlyUp() {
        // Strips of k = 2 epochs, s = 2: only epochs 2, 4, 6 are compared. The dip at epoch 3 is
        // inside a strip and does not count; 0.85 > 0.8 (epoch 4) and 0.9 > 0.85 (epoch 6) stop.
        ConvergenceMonitor m = monitor("strip_length", "2", "up_strips", "2");
        double[] val = {1.0, 0.8, 0.5, 0.85, 0.7, 0.9};
        for (int e = 0; e < 5; e++) {
            assertFalse(m.onEpoch(e + 1, 0.5, val[e], 1).halt(), "epoch " + (e + 1));
        }
        assertEquals(StopReason.EARLY_STOP_UP, m.onEpoch(6, 0.5, val[5], 1).reason());
    }

    @Test
    void onEpoch_decreaseBetweenIncreases_restartsUpCount() {
        // k = 1, s = 2: up (1.1), down (1.05) resets, up (1.2), up (1.3) stops at epoch 5.
        ConvergenceMonitor m = monitor("strip_length", "1", "up_strips", "2");
        double[] val = {1.0, 1.1, 1.05, 1.2, 1.3};
        for (int e = 0; e < 4; e++) {
            assertFalse(m.onEpoch(e + 1, 0.5, val[e], 1).halt(), "epoch " + (e + 1));
        }
        assertEquals(StopReason.EARLY_STOP_UP, m.onEpoch(5, 0.5, val[4], 1).reason());
    }

    @Test
    void onEpoch_validationMinusTrainingAboveGap_stopsOverfitting() {
        ConvergenceMonitor m = monitor("overfit_gap", "0.5");
        assertFalse(m.onEpoch(1, 0.3, 0.7, 1).halt());
        assertEquals(StopReason.OVERFITTING, m.onEpoch(2, 0.2, 0.71, 1).reason());
    }

    @Test
    void onEpoch_trainingLossStallsForPatienceEpochs_stopsPlateau() {
        // min_delta 1 %: 0.995, 0.993, 0.992 are each under 1 % better than the best -> 3 stale.
        ConvergenceMonitor m = monitor("min_delta", "0.01", "patience", "3");
        double[] train = {1.0, 0.995, 0.993, 0.992};
        for (int e = 0; e < 3; e++) {
            assertFalse(m.onEpoch(e + 1, train[e], 1.0 - e * 0.01, 1).halt(), "epoch " + (e + 1));
        }
        assertEquals(StopReason.PLATEAU, m.onEpoch(4, train[3], 0.97, 1).reason());
    }

    @Test
    void onEpoch_realImprovement_resetsPlateauCount() {
        ConvergenceMonitor m = monitor("min_delta", "0.01", "patience", "2");
        double[] train = {1.0, 0.999, 0.9, 0.899};
        for (int e = 0; e < 4; e++) {
            assertFalse(m.onEpoch(e + 1, train[e], 1.0, 1).halt(), "epoch " + (e + 1));
        }
    }

    @Test
    void onEpoch_meanGradientNormUnderTolerance_stopsGradientSmall() {
        ConvergenceMonitor m = monitor("grad_tol", "1e-3");
        assertEquals(StopReason.GRADIENT_SMALL, m.onEpoch(1, 0.5, 0.5, 5e-4).reason());
    }

    @Test
    void onEpoch_lastAllowedEpoch_stopsBudgetEpochs() {
        ConvergenceMonitor m = monitor("max_epochs", "2");
        assertFalse(m.onEpoch(1, 1.0, 1.0, 1).halt());
        assertEquals(StopReason.BUDGET_EPOCHS, m.onEpoch(2, 0.5, 0.5, 1).reason());
    }

    @Test
    void checkBudget_stepsAtMax_stopsBudgetSteps() {
        ConvergenceMonitor m = monitor("max_steps", "3");
        steps(m, 3, 1.0, 1.0);
        assertEquals(StopReason.BUDGET_STEPS, m.checkBudget().reason());
    }

    @Test
    void checkBudget_clockReachesMaxSeconds_stopsBudgetTime() {
        ConvergenceMonitor m = monitor("max_seconds", "10");
        clock.advance(Duration.ofMillis(9_999));
        assertFalse(m.checkBudget().halt());
        clock.advance(Duration.ofMillis(1));
        Decision d = m.checkBudget();
        assertEquals(StopReason.BUDGET_TIME, d.reason());
        assertEquals(StopReason.Outcome.STOPPED, d.reason().outcome());
    }

    @Test
    void onStep_randomBoundedCurves_neverAbort() {
        // Fuzz: losses and norms within a factor 2 of each other can never be a 10x / 100x spike,
        // and every halt carries a reason and a message.
        SplittableRandom r = new SplittableRandom(7);
        for (int run = 0; run < 200; run++) {
            ConvergenceMonitor m = monitor("max_epochs", "100000");
            for (int step = 0; step < 200; step++) {
                Decision d = m.onStep(r.nextDouble(1, 2), r.nextDouble(1, 2));
                assertFalse(d.halt(), "run " + run + " step " + step + ": " + d.message());
                if (step % 20 == 19) {
                    Decision e = m.onEpoch(step / 20 + 1, r.nextDouble(1, 2), r.nextDouble(1, 2), r.nextDouble(1, 2));
                    assertNotEquals(StopReason.Outcome.ABORTED, e.halt() ? e.reason().outcome() : null, e.message());
                    assertFalse(e.halt() && e.message().isBlank());
                    if (e.halt()) {
                        break;
                    }
                }
            }
        }
    }
}
