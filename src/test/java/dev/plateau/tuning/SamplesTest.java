package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SamplesTest {

    @Test
    void classification_nonFiniteEmbedding_namesTheSample() {
        float[][] x = {{0, 1}, {2, Float.NaN}};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Samples.classification(x, new int[] {0, 1}));
        assertEquals("embeddings: sample 1 has a non-finite value (NaN at 1)", e.getMessage());
    }

    @Test
    void classification_negativeLabel_isRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> Samples.classification(new float[][] {{0}}, new int[] {-1}));
    }

    @Test
    void classification_raggedRows_areRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> Samples.classification(new float[][] {{0, 1}, {2}}, new int[] {0, 1}));
    }

    @Test
    void classification_flatLengthNotRowsTimesDim_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> Samples.classification(new float[5], 2, new int[] {0, 1}));
    }

    @Test
    void classification_noSamples_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> Samples.classification(new float[0][], new int[0]));
    }

    @Test
    void regression_targetRowCountDiffers_isRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> Samples.regression(new float[][] {{0}, {1}}, new float[][] {{0}}));
    }

    @Test
    void classification_inputArray_isCopied() {
        float[][] x = {{1, 2}};
        Samples s = Samples.classification(x, new int[] {0});
        x[0][0] = 9;
        assertEquals(1f, s.data()[0], 0f);
    }
}
