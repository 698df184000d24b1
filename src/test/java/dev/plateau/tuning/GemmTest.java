package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Gemm's blocked, unrolled products against naive triple loops in double, on odd shapes. */
class GemmTest {
    /** Float sums of at most a few hundred terms of size about 1 agree with double to this. */
    private static final double TOL = 1e-4;

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "3, 5, 7", "4, 64, 4", "5, 65, 3", "7, 129, 10", "32, 1568, 128", "33, 131, 9"})
    void forward_oddShapes_matchesNaiveProduct(int n, int k, int m) {
        SplittableRandom random = new SplittableRandom(n * 31L + k * 7L + m);
        int offset = 3;
        float[] x = random(random, offset + n * k);
        float[] w = random(random, m * k);
        float[] b = random(random, 2 + m);
        float[][] wt = new float[k][m];
        Gemm.transpose(w, 0, m, k, wt);
        float[][] y = new float[n][m];
        Gemm.forward(x, offset, n, k, wt, b, 2, m, y);
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < m; o++) {
                double s = b[2 + o];
                for (int i = 0; i < k; i++) {
                    s += (double) x[offset + r * k + i] * w[o * k + i];
                }
                assertEquals(s, y[r][o], TOL, "y[" + r + "][" + o + "]");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "3, 5, 7", "5, 65, 3", "7, 129, 10", "32, 1568, 128", "33, 131, 9"})
    void weightGradientRow_oddShapes_matchesNaiveProduct(int n, int k, int m) {
        SplittableRandom random = new SplittableRandom(n * 17L + k * 5L + m);
        float[] dy = random(random, n * m);
        float[][] x = new float[n][];
        for (int r = 0; r < n; r++) {
            x[r] = random(random, k);
        }
        float[] gw = random(random, k + 1);
        for (int o = 0; o < m; o++) {
            Gemm.weightGradientRow(dy, m, o, n, x, k, gw);
            for (int i = 0; i < k; i++) {
                double s = 0;
                for (int r = 0; r < n; r++) {
                    s += (double) dy[r * m + o] * x[r][i];
                }
                assertEquals(s, gw[i], TOL, "dW[" + o + "][" + i + "]");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "3, 5, 7", "5, 65, 3", "7, 129, 10", "32, 128, 10", "33, 131, 9"})
    void inputGradientRow_oddShapes_matchesNaiveProduct(int n, int k, int m) {
        SplittableRandom random = new SplittableRandom(n * 13L + k * 3L + m);
        float[] dy = random(random, n * m);
        float[] w = random(random, m * k);
        float[][] rows = new float[m][k];
        Gemm.rows(w, 0, m, k, rows);
        float[] dx = random(random, k);
        for (int r = 0; r < n; r++) {
            Gemm.inputGradientRow(dy, m, r, rows, k, dx);
            for (int i = 0; i < k; i++) {
                double s = 0;
                for (int o = 0; o < m; o++) {
                    s += (double) dy[r * m + o] * w[o * k + i];
                }
                assertEquals(s, dx[i], TOL, "dX[" + r + "][" + i + "]");
            }
        }
    }

    /** Values in [-1, 1); the buffers written start full of them too, so that a missing reset shows. */
    private static float[] random(SplittableRandom random, int size) {
        float[] out = new float[size];
        for (int i = 0; i < size; i++) {
            out[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return out;
    }
}
