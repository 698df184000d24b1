package dev.plateau.tuning;

/**
 * The head's three matrix products in float, written so that C2 vectorises their inner loops:
 * every inner loop is an update {@code y[j] += a0*x0[j] + a1*x1[j] + a2*x2[j] + a3*x3[j]} over
 * contiguous, separate row arrays (four rows per pass, so that the row written is loaded and
 * stored once per four multiply-adds), and the outer loops go in blocks that keep the rows they
 * reuse in the first-level cache. Sums run in a different order than a naive triple loop, so
 * results agree with it to float rounding, not bit for bit.
 */
final class Gemm {
    /** Rows of the transposed weights per block of the forward product: 64 x 128 floats is 32 KB. */
    private static final int K_BLOCK = 64;

    /** Columns per tile of the transposition: 16 floats are one 64-byte cache line. */
    private static final int TRANSPOSE_TILE = 16;

    private Gemm() {}

    /**
     * {@code y[r][0..m) = b + sum_k x[r][k] * wt[k][0..m)} for {@code r < n}, {@code x} laid out
     * {@code [n][kk]} from {@code xOffset}; {@code wt} is the transposed weight matrix
     * ({@code [kk][m]}), {@code b} the bias from {@code bOffset}.
     */
    static void forward(float[] x, int xOffset, int n, int kk, float[][] wt, float[] b, int bOffset, int m,
                        float[][] y) {
        for (int r = 0; r < n; r++) {
            System.arraycopy(b, bOffset, y[r], 0, m);
        }
        for (int k0 = 0; k0 < kk; k0 += K_BLOCK) {
            int k1 = Math.min(kk, k0 + K_BLOCK);
            for (int r = 0; r < n; r++) {
                float[] acc = y[r];
                int row = xOffset + r * kk;
                int k = k0;
                for (; k + 4 <= k1; k += 4) {
                    update4(acc, m, x[row + k], wt[k], x[row + k + 1], wt[k + 1], x[row + k + 2], wt[k + 2],
                            x[row + k + 3], wt[k + 3]);
                }
                for (; k < k1; k++) {
                    update1(acc, m, x[row + k], wt[k]);
                }
            }
        }
    }

    /**
     * The weight gradient row by row: {@code gw[0..kk) = sum_r dy[r * m + o] * x[r][0..kk)} for
     * one output {@code o}, over {@code n} input rows.
     */
    static void weightGradientRow(float[] dy, int m, int o, int n, float[][] x, int kk, float[] gw) {
        java.util.Arrays.fill(gw, 0, kk, 0f);
        int r = 0;
        for (; r + 4 <= n; r += 4) {
            update4(gw, kk, dy[r * m + o], x[r], dy[(r + 1) * m + o], x[r + 1], dy[(r + 2) * m + o], x[r + 2],
                    dy[(r + 3) * m + o], x[r + 3]);
        }
        for (; r < n; r++) {
            update1(gw, kk, dy[r * m + o], x[r]);
        }
    }

    /**
     * The input gradient of one row: {@code dx[0..kk) = sum_o dy[r * m + o] * w[o][0..kk)}, with
     * the weights' rows in {@code w} (see {@link #rows}).
     */
    static void inputGradientRow(float[] dy, int m, int r, float[][] w, int kk, float[] dx) {
        java.util.Arrays.fill(dx, 0, kk, 0f);
        int base = r * m;
        int o = 0;
        for (; o + 4 <= m; o += 4) {
            update4(dx, kk, dy[base + o], w[o], dy[base + o + 1], w[o + 1], dy[base + o + 2], w[o + 2],
                    dy[base + o + 3], w[o + 3]);
        }
        for (; o < m; o++) {
            update1(dx, kk, dy[base + o], w[o]);
        }
    }

    /** Copies the {@code [rows][cols]} matrix at {@code from[offset]} into the row arrays {@code to}. */
    static void rows(float[] from, int offset, int rows, int cols, float[][] to) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(from, offset + r * cols, to[r], 0, cols);
        }
    }

    /** {@code wt[c][r] = w[offset + r * cols + c]}, in tiles so that the rows read and written stay in cache. */
    static void transpose(float[] w, int offset, int rows, int cols, float[][] wt) {
        for (int c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
            int c1 = Math.min(cols, c0 + TRANSPOSE_TILE);
            for (int r = 0; r < rows; r++) {
                int base = offset + r * cols;
                for (int c = c0; c < c1; c++) {
                    wt[c][r] = w[base + c];
                }
            }
        }
    }

    private static void update4(float[] y, int len, float a0, float[] x0, float a1, float[] x1, float a2, float[] x2,
                                float a3, float[] x3) {
        for (int j = 0; j < len; j++) {
            y[j] += a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j];
        }
    }

    private static void update1(float[] y, int len, float a, float[] x) {
        for (int j = 0; j < len; j++) {
            y[j] += a * x[j];
        }
    }
}
