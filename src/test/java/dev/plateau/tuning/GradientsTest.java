package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GradientsTest {

    @Test
    void clipByGlobalNorm_normAboveMax_scalesToMaxAndReturnsPreClipNorm() {
        // (3, 0, 4) has norm 5; clipped to norm 1 it is (0.6, 0, 0.8).
        float[] g = {3, 0, 4};
        assertEquals(5.0, Gradients.clipByGlobalNorm(g, 1.0), 1e-12);
        assertEquals(0.6f, g[0], 1e-7f);
        assertEquals(0f, g[1], 0f);
        assertEquals(0.8f, g[2], 1e-7f);
        assertEquals(1.0, Gradients.globalNorm(g), 1e-6);
    }

    @Test
    void clipByGlobalNorm_normBelowMax_leavesGradientsAlone() {
        float[] g = {3, 4};
        assertEquals(5.0, Gradients.clipByGlobalNorm(g, 10.0), 1e-12);
        assertEquals(3f, g[0], 0f);
        assertEquals(4f, g[1], 0f);
    }

    @Test
    void clipByGlobalNorm_maxZero_isOffButStillMeasures() {
        float[] g = {30, 40};
        assertEquals(50.0, Gradients.clipByGlobalNorm(g, 0), 1e-12);
        assertEquals(30f, g[0], 0f);
    }

    @Test
    void clipByGlobalNorm_nonFinite_returnsItUnscaled() {
        float[] g = {Float.POSITIVE_INFINITY, 1};
        assertEquals(Double.POSITIVE_INFINITY, Gradients.clipByGlobalNorm(g, 1.0));
        assertEquals(1f, g[1], 0f);
    }

    @Test
    void globalNorm_manySmallValues_sumsInDouble() {
        // 1e6 values of 1e-3: norm sqrt(1e6 * 1e-6) = 1; float summation would drift visibly.
        float[] g = new float[1_000_000];
        Arrays.fill(g, 1e-3f);
        assertEquals(1.0, Gradients.globalNorm(g), 1e-6);
    }
}
