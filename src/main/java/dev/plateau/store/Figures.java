package dev.plateau.store;

import java.util.Arrays;

/**
 * A version's live figures over a window: mean top-1 confidence, mean prediction entropy (nats),
 * share of predictions per class, inference error rate and latency p99.
 */
public record Figures(long samples, double meanConfidence, double meanEntropy, double[] classShares,
                      double errorRate, long latencyP99Micros) {
    public Figures {
        classShares = classShares.clone();
    }

    @Override
    public double[] classShares() {
        return classShares.clone();
    }

    /** These figures with other class shares. */
    public Figures withClassShares(double[] shares) {
        return new Figures(samples, meanConfidence, meanEntropy, shares, errorRate, latencyP99Micros);
    }

    /** Total variation distance of the class distributions: half the L1 distance, in [0, 1]. */
    public double totalVariation(Figures other) {
        int n = Math.max(classShares.length, other.classShares.length);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double a = i < classShares.length ? classShares[i] : 0;
            double b = i < other.classShares.length ? other.classShares[i] : 0;
            sum += Math.abs(a - b);
        }
        return sum / 2;
    }

    @Override
    public String toString() {
        return String.format("samples=%d, confidence=%.4f, entropy=%.4f, classes=%s, error_rate=%.4f, p99=%dus",
                samples, meanConfidence, meanEntropy, Arrays.toString(classShares), errorRate, latencyP99Micros);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Figures f && f.samples == samples && f.meanConfidence == meanConfidence
                && f.meanEntropy == meanEntropy && Arrays.equals(f.classShares, classShares)
                && f.errorRate == errorRate && f.latencyP99Micros == latencyP99Micros;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(samples) * 31 + Arrays.hashCode(classShares);
    }
}
