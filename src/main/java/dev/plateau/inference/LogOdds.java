package dev.plateau.inference;

/**
 * The per-window evidence of a detector: the log-odds of its positive class, from the model's
 * output logits. One function, used by the daemon's alarms and by {@code plateau eval --sequence},
 * so an alarm threshold chosen by evaluation means the same on the device.
 *
 * <p>With softmax probabilities {@code p}, the log-odds are {@code log p_pos - log(1 - p_pos)}; on
 * the logits that is {@code logit[pos] - logsumexp(logit[other])}, which for two classes is
 * {@code logit[pos] - logit[other]}. Computed on the logits, not on {@code p}: a float {@code p}
 * rounds to 1.0 beyond log-odds of about 17, where {@code log(1 - p)} is infinite.
 */
public final class LogOdds {
    /**
     * Scores are clamped to +-20 (p = 1 - 2e-9): no 5-second window can be that sure, and the bound
     * keeps one freak window (a truck on a resonance, a window far from a calibrated site's normal)
     * from moving a mean of N windows by more than 40/N on its own.
     */
    public static final double LIMIT = 20.0;

    private LogOdds() {}

    /**
     * The positive class's log-odds, clamped to {@code [-LIMIT, LIMIT]}.
     *
     * @throws IllegalArgumentException when a logit is not finite (the engine refuses such outputs
     *     before they get here), or {@code positive} is not a class index
     */
    public static double of(float[] logits, int positive) {
        if (logits.length < 2 || positive < 0 || positive >= logits.length) {
            throw new IllegalArgumentException("log-odds: positive class " + positive + " of " + logits.length
                    + " logits, expected at least 2 logits and an index in 0.." + (logits.length - 1));
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (!Float.isFinite(logits[i])) {
                throw new IllegalArgumentException("log-odds: logit " + i + " is " + logits[i] + ", expected finite");
            }
            if (i != positive) {
                max = Math.max(max, logits[i]);
            }
        }
        // logsumexp of the other classes, shifted by their largest so no exp overflows.
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            if (i != positive) {
                sum += Math.exp(logits[i] - max);
            }
        }
        double odds = logits[positive] - (max + Math.log(sum));
        return Math.max(-LIMIT, Math.min(LIMIT, odds));
    }

    /** The evidence of N windows: the mean of their scores. */
    public static double mean(double[] scores) {
        if (scores.length == 0) {
            throw new IllegalArgumentException("log-odds: the mean of no windows");
        }
        double sum = 0;
        for (double s : scores) {
            sum += s;
        }
        return sum / scores.length;
    }

    /** Whether a mean of N windows' scores is alarm evidence at {@code threshold}: strictly above it. */
    public static boolean above(double mean, double threshold) {
        return mean > threshold;
    }
}
