package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LossTest {
    private static final CrossEntropy CE = new CrossEntropy();
    private static final MeanSquaredError MSE = new MeanSquaredError();

    private static Batch labels(int k, int... y) {
        Batch b = new Batch(y.length, 1, k, true);
        System.arraycopy(y, 0, b.labels, 0, y.length);
        b.n = y.length;
        return b;
    }

    private static Batch targets(int k, float... t) {
        Batch b = new Batch(t.length / k, 1, k, false);
        System.arraycopy(t, 0, b.targets, 0, t.length);
        b.n = t.length / k;
        return b;
    }

    @Test
    void crossEntropy_equalLogits_isLogOfClassCount() {
        assertEquals(Math.log(4), CE.compute(new float[] {2, 2, 2, 2}, 4, labels(4, 1), null), 1e-12);
    }

    @Test
    void crossEntropy_knownLogits_matchesHandComputation() {
        // logits (1, 2, 3), label 0: -log(e^1 / (e^1 + e^2 + e^3)) = 2.40760596...
        assertEquals(2.4076059644443806, CE.compute(new float[] {1, 2, 3}, 3, labels(3, 0), null), 1e-12);
    }

    @Test
    void crossEntropy_gradient_isSoftmaxMinusOneHotOverBatch() {
        float[] d = new float[6];
        CE.compute(new float[] {0, 0, 0, 0, 0, 0}, 3, labels(3, 2, 0), d);
        // softmax is 1/3 everywhere; divided by the batch of 2.
        float third = 1 / 3f / 2;
        float[] expected = {third, third, third - 0.5f, third - 0.5f, third, third};
        for (int i = 0; i < 6; i++) {
            assertEquals(expected[i], d[i], 1e-7f, "entry " + i);
        }
    }

    @Test
    void crossEntropy_hugeLogits_staysFiniteAndExact() {
        // A naive exp(1000) overflows; log-sum-exp gives 2000 for the wrong class exactly.
        float[] d = new float[2];
        double loss = CE.compute(new float[] {1000, -1000}, 2, labels(2, 1), d);
        assertEquals(2000, loss, 1e-9);
        assertEquals(1f, d[0], 1e-7f);
        assertEquals(-1f, d[1], 1e-7f);
    }

    @Test
    void crossEntropy_logitsFiniteDifference_matchesGradient() {
        float[] logits = {0.3f, -1.2f, 2.0f, 0.7f, 0.1f, -0.4f};
        Batch b = labels(3, 2, 1);
        float[] d = new float[6];
        CE.compute(logits, 3, b, d);
        for (int i = 0; i < 6; i++) {
            assertEquals(numeric(CE, logits, 3, b, i), d[i], 1e-5, "logit " + i);
        }
    }

    @Test
    void meanSquaredError_knownValues_averagesOverEveryOutput() {
        // errors (1, -2) and (0, 3): (1 + 4 + 0 + 9) / 4 = 3.5
        float[] d = new float[4];
        double loss = MSE.compute(new float[] {1, 0, 5, 3}, 2, targets(2, 0, 2, 5, 0), d);
        assertEquals(3.5, loss, 1e-12);
        // 2 * error / 4
        assertEquals(0.5f, d[0], 1e-7f);
        assertEquals(-1f, d[1], 1e-7f);
        assertEquals(0f, d[2], 1e-7f);
        assertEquals(1.5f, d[3], 1e-7f);
    }

    @Test
    void meanSquaredError_logitsFiniteDifference_matchesGradient() {
        float[] logits = {0.3f, -1.2f, 2.0f, 0.7f};
        Batch b = targets(2, 1, 1, -1, 0.5f);
        float[] d = new float[4];
        MSE.compute(logits, 2, b, d);
        for (int i = 0; i < 4; i++) {
            assertEquals(numeric(MSE, logits, 2, b, i), d[i], 1e-5, "output " + i);
        }
    }

    @Test
    void crossEntropy_nonFiniteLogit_givesNonFiniteLoss() {
        assertTrue(Double.isNaN(CE.compute(new float[] {Float.NaN, 0}, 2, labels(2, 0), null)));
    }

    /**
     * Central difference with h = 1e-3 on a float logit, divided by the float step actually
     * taken. The loss is evaluated in double at those exact float logits, so what remains is the
     * truncation error h^2/6 times a third derivative (~2e-7 here) and the float rounding of the
     * analytic gradient (~6e-8 relative); the tests allow 1e-5.
     */
    private static double numeric(Loss loss, float[] logits, int k, Batch b, int i) {
        float saved = logits[i];
        float plus = saved + 1e-3f;
        float minus = saved - 1e-3f;
        logits[i] = plus;
        double up = loss.compute(logits, k, b, null);
        logits[i] = minus;
        double down = loss.compute(logits, k, b, null);
        logits[i] = saved;
        return (up - down) / ((double) plus - minus);
    }
}
