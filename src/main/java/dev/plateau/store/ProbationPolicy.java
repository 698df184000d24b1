package dev.plateau.store;

import java.time.Duration;

/**
 * How long a new version is on probation and how far its live figures may fall behind the previous
 * version's before it is rolled back.
 *
 * @param window time on probation; zero to count samples only
 * @param windowSamples samples on probation; 0 to count time only (the first bound reached ends it)
 * @param minSamples samples before any comparison is made, so one odd input decides nothing
 * @param maxConfidenceDrop largest allowed drop of mean top-1 confidence (absolute, 0..1)
 * @param maxEntropyRise largest allowed rise of mean prediction entropy (nats)
 * @param maxTotalVariation largest allowed total variation distance of the class distributions (0..1)
 * @param maxErrorRateRise largest allowed rise of the inference error rate (absolute, 0..1)
 * @param maxLatencyRatio largest allowed latency p99 as a multiple of the previous version's
 */
public record ProbationPolicy(Duration window, int windowSamples, int minSamples, double maxConfidenceDrop,
                              double maxEntropyRise, double maxTotalVariation, double maxErrorRateRise,
                              double maxLatencyRatio) {
    public ProbationPolicy {
        if (window == null || window.isNegative()) {
            throw new IllegalArgumentException("probation.window: zero or more (seen " + window + ")");
        }
        if (windowSamples < 0) {
            throw new IllegalArgumentException("probation.window_samples: 0 or more (seen " + windowSamples + ")");
        }
        if (window.isZero() && windowSamples == 0) {
            throw new IllegalArgumentException("probation: a window of time or samples is needed (seen 0 s and 0 samples)");
        }
        if (minSamples < 1) {
            throw new IllegalArgumentException("probation.min_samples: 1 or more (seen " + minSamples + ")");
        }
        unit("max_confidence_drop", maxConfidenceDrop);
        unit("max_total_variation", maxTotalVariation);
        unit("max_error_rate_rise", maxErrorRateRise);
        if (!(maxEntropyRise > 0)) {
            throw new IllegalArgumentException("probation.max_entropy_rise: above 0 (seen " + maxEntropyRise + ")");
        }
        if (!(maxLatencyRatio >= 1)) {
            throw new IllegalArgumentException("probation.max_latency_ratio: 1 or more (seen " + maxLatencyRatio + ")");
        }
    }

    /** Ten minutes or 500 samples; confidence -0.15, entropy +0.3 nats, TV 0.3, errors +5 %, p99 x3. */
    public static ProbationPolicy defaults() {
        return new ProbationPolicy(Duration.ofMinutes(10), 500, 30, 0.15, 0.3, 0.3, 0.05, 3.0);
    }

    /** These thresholds with the device's {@code probation} settings in place of theirs. */
    public ProbationPolicy with(Duration window, int windowSamples, double maxLatencyRatio, double maxConfidenceDrop,
                                double maxEntropyRise) {
        return new ProbationPolicy(window, windowSamples, minSamples, maxConfidenceDrop, maxEntropyRise,
                maxTotalVariation, maxErrorRateRise, maxLatencyRatio);
    }

    private static void unit(String name, double v) {
        if (!(v > 0 && v <= 1)) {
            throw new IllegalArgumentException("probation." + name + ": in (0, 1] (seen " + v + ")");
        }
    }
}
