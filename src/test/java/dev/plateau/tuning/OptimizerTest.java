package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each optimizer for a few steps on f(p) = p0^2 / 2 + p1^2, gradient (p0, 2 p1), from
 * p = (1, -2) with lr = 0.1; the expected values are worked out in the comments. Parameters are
 * floats, so results are compared to 1e-6.
 */
class OptimizerTest {
    private static final double LR = 0.1;
    private static final float TOL = 1e-6f;

    /** Runs {@code steps} steps and returns p. */
    private static float[] descend(Optimizer o, int steps) {
        float[] p = {1, -2};
        float[] g = new float[2];
        for (int s = 0; s < steps; s++) {
            g[0] = p[0];
            g[1] = 2 * p[1];
            o.step(p, g, LR);
        }
        return p;
    }

    @Test
    void sgd_twoSteps_followsGradient() {
        // step 1: g = (1, -4)     -> p = (1 - 0.1, -2 + 0.4)      = (0.9, -1.6)
        // step 2: g = (0.9, -3.2) -> p = (0.9 - 0.09, -1.6 + 0.32) = (0.81, -1.28)
        float[] p = descend(new Sgd(), 2);
        assertEquals(0.81f, p[0], TOL);
        assertEquals(-1.28f, p[1], TOL);
    }

    @Test
    void momentum_threeSteps_accumulatesVelocity() {
        // v = 0.9 v + g; p -= 0.1 v
        // step 1: g = (1, -4);       v = (1, -4);                p = (0.9, -1.6)
        // step 2: g = (0.9, -3.2);   v = (0.9 + 0.9, -3.6 - 3.2) = (1.8, -6.8);   p = (0.72, -0.92)
        // step 3: g = (0.72, -1.84); v = (1.62 + 0.72, -6.12 - 1.84) = (2.34, -7.96); p = (0.486, -0.124)
        float[] p = descend(new Momentum(2, 0.9, false), 3);
        assertEquals(0.486f, p[0], TOL);
        assertEquals(-0.124f, p[1], TOL);
    }

    @Test
    void nesterov_twoSteps_looksAhead() {
        // v = 0.9 v + g; p -= 0.1 (g + 0.9 v)
        // step 1: g = (1, -4); v = (1, -4); d = (1 + 0.9, -4 - 3.6) = (1.9, -7.6); p = (0.81, -1.24)
        // step 2: g = (0.81, -2.48); v = (0.9 + 0.81, -3.6 - 2.48) = (1.71, -6.08);
        //         d = (0.81 + 1.539, -2.48 - 5.472) = (2.349, -7.952); p = (0.5751, -0.4448)
        float[] p = descend(new Momentum(2, 0.9, true), 2);
        assertEquals(0.5751f, p[0], TOL);
        assertEquals(-0.4448f, p[1], TOL);
    }

    @Test
    void rmsprop_twoSteps_normalisesByRootMeanSquare() {
        // s = 0.9 s + 0.1 g^2; p -= 0.1 g / (sqrt(s) + 1e-8)
        // step 1: g = (1, -4); s = (0.1, 1.6); g / sqrt(s) = (3.1622777, -3.1622777)
        //         p = (0.68377224, -1.68377224)
        // step 2: g = (0.68377224, -3.36754447); s = (0.09 + 0.04675448, 1.44 + 1.13403558)
        //         = (0.13675448, 2.57403558); g / sqrt(s) = (1.84902033, -2.09899048)
        //         p = (0.68377224 - 0.18490203, -1.68377224 + 0.20989905) = (0.49887021, -1.47387532)
        float[] p = descend(new RmsProp(2, 0.9, 1e-8), 2);
        assertEquals(0.49887021f, p[0], TOL);
        assertEquals(-1.47387532f, p[1], TOL);
    }

    @Test
    void adam_firstStep_movesEachParameterByLr() {
        // Bias correction makes m^ = g and v^ = g^2 at step 1, so the step is lr * sign(g):
        // p = (1 - 0.1, -2 + 0.1) = (0.9, -1.9).
        float[] p = descend(new Adam(2, 0.9, 0.999, 1e-8), 1);
        assertEquals(0.9f, p[0], TOL);
        assertEquals(-1.9f, p[1], TOL);
    }

    @Test
    void adam_threeSteps_matchesBiasCorrectedMoments() {
        // step 2: g = (0.9, -3.8); m = (0.18, -0.74); v = (0.001809, 0.030424)
        //         m^ = m / 0.19 = (0.94736842, -3.89473684); v^ = v / 0.001999 = (0.90495248, 15.2196098)
        //         p = (0.9 - 0.09958771, -1.9 + 0.09983351) = (0.80041223, -1.80016649)
        // step 3: g = (0.80041223, -3.60033297); m = (0.24204122, -1.02603330)
        //         v = (0.00244785, 0.04335597); m^ = m / 0.271 = (0.89314104, -3.78610073)
        //         v^ = v / 0.002997001 = (0.81676674, 14.4664528)
        //         p = (0.80041223 - 0.09882595, -1.80016649 + 0.09954310) = (0.70158627, -1.70062339)
        float[] p = descend(new Adam(2, 0.9, 0.999, 1e-8), 3);
        assertEquals(0.70158627f, p[0], TOL);
        assertEquals(-1.70062339f, p[1], TOL);
    }

    @Test
    void step_gradientsArray_isLeftUnchanged() {
        float[] p = {1, -2};
        float[] g = {0.5f, -0.25f};
        new Adam(2, 0.9, 0.999, 1e-8).step(p, g, LR);
        assertEquals(0.5f, g[0], 0f);
        assertEquals(-0.25f, g[1], 0f);
    }

    @Test
    void weightDecay_coupled_addsDecayToWeightGradientsOnly() {
        // segment {0, 2} is a weight matrix, index 2 a bias: g += 0.1 * p on the first two only.
        float[] p = {2, -4, 8};
        float[] g = {1, 1, 1};
        new WeightDecay(0.1, false, new int[][] {{0, 2}}, 0, new float[2]).apply(p, g, LR);
        assertEquals(1.2f, g[0], TOL);
        assertEquals(0.6f, g[1], TOL);
        assertEquals(1f, g[2], 0f);
        assertEquals(2f, p[0], 0f);
    }

    @Test
    void weightDecay_decoupled_shrinksWeightsByLrTimesRate() {
        // p -= lr * wd * p = p * (1 - 0.1 * 0.5): 2 -> 1.9, -4 -> -3.8; bias and gradients untouched.
        float[] p = {2, -4, 8};
        float[] g = {1, 1, 1};
        new WeightDecay(0.5, true, new int[][] {{0, 2}}, 0, new float[2]).apply(p, g, LR);
        assertEquals(1.9f, p[0], TOL);
        assertEquals(-3.8f, p[1], TOL);
        assertEquals(8f, p[2], 0f);
        assertEquals(1f, g[0], 0f);
    }

    @Test
    void create_eachKind_buildsTheMatchingOptimizer() {
        for (TuningConfig.OptimizerKind kind : TuningConfig.OptimizerKind.values()) {
            TuningConfig c = TuningConfig.fromOverrides(Map.of("optimizer", kind.key()));
            Optimizer o = Optimizer.create(c, 2);
            Class<?> expected = switch (kind) {
                case SGD -> Sgd.class;
                case MOMENTUM, NESTEROV -> Momentum.class;
                case RMSPROP -> RmsProp.class;
                case ADAM, ADAMW -> Adam.class;
            };
            assertEquals(expected, o.getClass(), kind.key());
        }
    }

    @Test
    void driftDecay_pullsWeightsBackToTheStart() {
        float[] p = {1.5f, -2f};
        float[] g = {0f, 0f};
        // g += 0.2 * (p - p0) with p0 = {1, -1}: {0.1, -0.2}.
        new WeightDecay(0, false, new int[][] {{0, 2}}, 0.2, new float[] {1f, -1f}).apply(p, g, LR);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0.1f, -0.2f}, g, 1e-6f);
    }
}
