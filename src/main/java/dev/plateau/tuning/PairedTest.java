package dev.plateau.tuning;

/**
 * Two classifiers scored on the same samples: how many the second gets right that the first got
 * wrong ({@code improved}) and the reverse ({@code worsened}). Only these discordant pairs carry
 * information about which is better; samples both get right or both get wrong cancel out.
 *
 * <p>The difference in accuracy {@code (improved - worsened) / n} gets confidence bounds from
 * Tango's score interval for paired proportions (Statistics in Medicine 17:891, 1998), which
 * stays sensible with zero discordant pairs, where a Wald interval collapses to a point; and
 * "better" gets the exact one-sided sign test on the discordant pairs (McNemar's exact test).
 */
record PairedTest(int n, int improved, int worsened) {

    PairedTest {
        if (n < 1 || improved < 0 || worsened < 0 || improved + worsened > n) {
            throw new IllegalArgumentException("paired counts: need n >= 1 and 0 <= improved + worsened <= n ("
                    + n + ", " + improved + ", " + worsened + " seen)");
        }
    }

    /** Counts the discordant pairs of two per-sample correctness vectors of equal length. */
    static PairedTest of(boolean[] before, boolean[] after) {
        if (before.length != after.length) {
            throw new IllegalArgumentException("paired samples: " + before.length + " before, " + after.length
                    + " after");
        }
        int up = 0;
        int down = 0;
        for (int i = 0; i < before.length; i++) {
            if (after[i] && !before[i]) {
                up++;
            } else if (before[i] && !after[i]) {
                down++;
            }
        }
        return new PairedTest(before.length, up, down);
    }

    /** After minus before, in accuracy. */
    double difference() {
        return (double) (improved - worsened) / n;
    }

    int discordant() {
        return improved + worsened;
    }

    /**
     * One-sided exact p-value of "the second is better": the chance of at least {@code improved}
     * improvements among the discordant pairs if improving and worsening were equally likely.
     */
    double signTestP() {
        int m = discordant();
        if (m == 0) {
            return 1.0;
        }
        double logHalfPowM = m * Math.log(0.5);
        double p = 0;
        double logC = 0; // log C(m, 0)
        for (int k = 0; k <= m; k++) {
            if (k > 0) {
                logC += Math.log(m - k + 1) - Math.log(k);
            }
            if (k >= improved) {
                p += Math.exp(logC + logHalfPowM);
            }
        }
        return Math.min(1.0, p);
    }

    /** The difference is at least this with the given one-sided confidence. */
    double lowerBound(double confidence) {
        double z = Normal.quantile(confidence);
        double lo = -1;
        double hi = difference();
        for (int i = 0; i < 80; i++) {
            double mid = (lo + hi) / 2;
            if (score(mid) > z) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return hi;
    }

    /** The difference is at most this with the given one-sided confidence. */
    double upperBound(double confidence) {
        double z = Normal.quantile(confidence);
        double lo = difference();
        double hi = 1;
        for (int i = 0; i < 80; i++) {
            double mid = (lo + hi) / 2;
            if (score(mid) < -z) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return lo;
    }

    /**
     * One-sided p-value of "the difference is above {@code -margin}" (non-inferiority): small
     * when the data rule out a loss of {@code margin} or more.
     */
    double nonInferiorityP(double margin) {
        return 1 - Normal.cdf(score(-margin));
    }

    /**
     * Tango's score statistic for the hypothesis "difference = delta": the observed difference
     * minus delta over its standard error under that hypothesis, with the worsening probability
     * at its constrained maximum-likelihood value.
     */
    double score(double delta) {
        double b = improved;
        double c = worsened;
        double w = -b - c + (2.0 * n - b + c) * delta;
        double q = (Math.sqrt(Math.max(0, w * w + 8.0 * n * c * delta * (1 - delta))) - w) / (4.0 * n);
        double variance = n * (2 * q + delta * (1 - delta));
        double numerator = b - c - n * delta;
        if (!(variance > 0)) {
            return numerator == 0 ? 0 : Math.copySign(Double.POSITIVE_INFINITY, numerator);
        }
        return numerator / Math.sqrt(variance);
    }

    /** Clusters with a nonzero balance up to which {@link #clusteredSignP} enumerates every sign flip. */
    static final int EXACT_CLUSTERS = 20;

    /**
     * One-sided p-value of "the second is better" when the samples come in clusters that are
     * not independent of each other inside (the windows of one minute of a sensor): the
     * sign-flip test on each cluster's balance {@code d_k = improved_k - worsened_k}, which
     * under "neither is better" is as likely to be {@code -d_k}. Exact over all flips of the
     * clusters with a nonzero balance up to {@link #EXACT_CLUSTERS}, else the normal
     * approximation {@code sum d_k / sqrt(sum d_k^2)} (Durkalski et al., Statistics in Medicine
     * 22:1417, 2003). With K such clusters, no p-value is below {@code 2^-K}: four minutes can
     * never show a gain at 95 %.
     *
     * @param cluster the cluster of each sample
     */
    static double clusteredSignP(boolean[] before, boolean[] after, int[] cluster) {
        if (before.length != after.length || cluster.length != before.length) {
            throw new IllegalArgumentException("paired samples: " + before.length + " before, " + after.length
                    + " after, " + cluster.length + " cluster ids");
        }
        java.util.Map<Integer, Integer> balance = new java.util.TreeMap<>();
        for (int i = 0; i < before.length; i++) {
            int d = (after[i] ? 1 : 0) - (before[i] ? 1 : 0);
            balance.merge(cluster[i], d, Integer::sum);
        }
        int[] d = balance.values().stream().mapToInt(Integer::intValue).filter(v -> v != 0).toArray();
        int observed = java.util.Arrays.stream(d).sum();
        if (d.length == 0) {
            return 1.0;
        }
        if (d.length > EXACT_CLUSTERS) {
            double squares = java.util.Arrays.stream(d).mapToDouble(v -> (double) v * v).sum();
            return 1 - Normal.cdf(observed / Math.sqrt(squares));
        }
        long atLeast = 0;
        for (long flips = 0; flips < (1L << d.length); flips++) {
            int sum = 0;
            for (int k = 0; k < d.length; k++) {
                sum += (flips >> k & 1) == 0 ? d[k] : -d[k];
            }
            atLeast += sum >= observed ? 1 : 0;
        }
        return (double) atLeast / (1L << d.length);
    }

    /**
     * The gain {@code (improved - worsened) / n} is at least this with the given one-sided
     * confidence when the samples come in clusters: the gain minus Student's t (clusters - 1
     * degrees of freedom) times its cluster-robust standard error, {@code sqrt(K / (K - 1) sum_k
     * (d_k - n_k gain)^2) / n}, over the K clusters with their balances {@code d_k} and sizes
     * {@code n_k}; -1 with fewer than two clusters.
     */
    static double clusteredLowerBound(boolean[] before, boolean[] after, int[] cluster, double confidence) {
        java.util.Map<Integer, int[]> byCluster = new java.util.TreeMap<>();
        int balance = 0;
        for (int i = 0; i < before.length; i++) {
            int d = (after[i] ? 1 : 0) - (before[i] ? 1 : 0);
            int[] c = byCluster.computeIfAbsent(cluster[i], k -> new int[2]);
            c[0] += d;
            c[1]++;
            balance += d;
        }
        int k = byCluster.size();
        if (k < 2) {
            return -1;
        }
        double gain = (double) balance / before.length;
        double squares = 0;
        for (int[] c : byCluster.values()) {
            squares += (c[0] - c[1] * gain) * (c[0] - c[1] * gain);
        }
        double se = Math.sqrt((double) k / (k - 1) * squares) / before.length;
        return Math.max(-1, gain - StudentT.quantile(confidence, k - 1) * se);
    }
}
