package dev.plateau.tuning;

import dev.plateau.model.NoveltyGraph;
import java.util.Arrays;

/**
 * Fits a site's novelty score on its own normal embeddings: mean and a shrunk covariance from
 * one part, the threshold from the squared distances of the other part, so the threshold sees
 * distances of windows the fit did not, as live windows will be.
 */
final class NoveltyFit {
    /** Share of the normal windows the mean and covariance are fitted on; the rest set the threshold. */
    static final double FIT_SHARE = 0.7;
    /** Shrinkage toward a scaled identity: a few hundred windows cannot fill a 64x64 covariance. */
    static final double SHRINKAGE = 0.1;
    /** Threshold quantile of the held-out distances: about 1 % of normal windows reach it. */
    static final double QUANTILE = 0.99;
    /** Log-odds at twice the threshold distance; damaged windows are well beyond it. */
    static final float BETA = 4f;

    private NoveltyFit() {}

    /** Variance added along a nuisance direction: far more than any feature's own. */
    static final double NUISANCE_VARIANCE = 1.0;

    /** @param normal embeddings of the site's normal windows, in a seeded random order */
    static NoveltyGraph.Score fit(float[][] normal) {
        return fit(normal, null);
    }

    /**
     * @param nuisance a direction of change that says nothing about the positive class (for modal
     *     features: all log frequencies moving together, as temperature moves them), to which the
     *     score is made insensitive; null for none
     */
    static NoveltyGraph.Score fit(float[][] normal, double[] nuisance) {
        int n = normal.length;
        int e = normal[0].length;
        int fitN = (int) Math.round(n * FIT_SHARE);
        if (fitN < 2 * 8 || n - fitN < 8) {
            throw new TuningDataException("novelty: needs at least 24 normal windows to fit and set a threshold, found " + n);
        }
        double[] mean = new double[e];
        for (int s = 0; s < fitN; s++) {
            for (int i = 0; i < e; i++) {
                mean[i] += normal[s][i];
            }
        }
        for (int i = 0; i < e; i++) {
            mean[i] /= fitN;
        }
        double[][] cov = new double[e][e];
        for (int s = 0; s < fitN; s++) {
            for (int i = 0; i < e; i++) {
                double di = normal[s][i] - mean[i];
                for (int j = 0; j <= i; j++) {
                    cov[i][j] += di * (normal[s][j] - mean[j]);
                }
            }
        }
        double trace = 0;
        for (int i = 0; i < e; i++) {
            for (int j = 0; j <= i; j++) {
                cov[i][j] /= fitN - 1;
                cov[j][i] = cov[i][j];
            }
            trace += cov[i][i];
        }
        double floor = Math.max(trace / e, 1e-12);
        for (int i = 0; i < e; i++) {
            for (int j = 0; j < e; j++) {
                cov[i][j] = (1 - SHRINKAGE) * cov[i][j] + (i == j ? SHRINKAGE * floor : 0);
            }
        }
        if (nuisance != null) {
            for (int i = 0; i < e; i++) {
                for (int j = 0; j < e; j++) {
                    cov[i][j] += NUISANCE_VARIANCE * nuisance[i] * nuisance[j];
                }
            }
        }
        double[][] inverseFactor = invertLower(cholesky(cov));
        // d2 = |L^-1 (x - mean)|^2 = (x - mean) . M . M^T . (x - mean)^T with M = (L^-1)^T.
        float[] projection = new float[e * e];
        for (int i = 0; i < e; i++) {
            for (int j = 0; j < e; j++) {
                projection[i * e + j] = (float) inverseFactor[j][i];
            }
        }
        float[] meanF = new float[e];
        for (int i = 0; i < e; i++) {
            meanF[i] = (float) mean[i];
        }
        NoveltyGraph.Score unit = new NoveltyGraph.Score(meanF, projection, 1f, BETA);
        double[] held = new double[n - fitN];
        for (int s = fitN; s < n; s++) {
            held[s - fitN] = unit.distance2(normal[s]);
        }
        double tau = quantile(held, QUANTILE);
        return new NoveltyGraph.Score(meanF, projection, (float) tau, BETA);
    }

    /**
     * The empirical {@code q} quantile: the smallest value with a share of at least {@code q} of
     * the values at or below it.
     */
    static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(q * sorted.length) - 1))];
    }

    static double[][] cholesky(double[][] a) {
        int n = a.length;
        double[][] l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = a[i][j];
                for (int k = 0; k < j; k++) {
                    sum -= l[i][k] * l[j][k];
                }
                if (i == j) {
                    if (!(sum > 0)) {
                        throw new TuningDataException("novelty: the normal windows' covariance is not positive definite");
                    }
                    l[i][i] = Math.sqrt(sum);
                } else {
                    l[i][j] = sum / l[j][j];
                }
            }
        }
        return l;
    }

    static double[][] invertLower(double[][] l) {
        int n = l.length;
        double[][] inv = new double[n][n];
        for (int c = 0; c < n; c++) {
            for (int i = c; i < n; i++) {
                double sum = i == c ? 1 : 0;
                for (int k = c; k < i; k++) {
                    sum -= l[i][k] * inv[k][c];
                }
                inv[i][c] = sum / l[i][i];
            }
        }
        return inv;
    }
}
