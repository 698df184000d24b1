package dev.plateau.tuning;

import dev.plateau.tuning.TuneReport.SiteReport;

/**
 * The deck-level alarm a site calibration writes into the manifest: the mean log-odds of
 * {@link #WINDOWS} consecutive windows against a threshold set, from windows the candidate scored
 * without their minute, for a block false-alarm rate of {@link #FALSE_ALARM_RATE} on minutes the
 * calibration never saw. The daemon's alarm state and {@code plateau eval --sequence} average the
 * same blocks.
 */
final class BlockAlarm {
    /** Windows an alarm averages: one minute of 5 s windows, the runs the splits keep whole. */
    static final int WINDOWS = 12;
    /** The block false-alarm rate the threshold is set for. */
    static final double FALSE_ALARM_RATE = 0.01;

    private BlockAlarm() {}

    /**
     * The threshold: the normal prediction bound at {@code 1 - FALSE_ALARM_RATE} for the mean of
     * a minute the calibration never saw, {@code m + t(J - 1) s sqrt(1 + 1/J)}, from the {@code J}
     * blocks of {@code heldOut}, with mean {@code m} and spread {@code s} of their block means,
     * {@code s} no smaller than independent windows would give. A block's windows share their
     * weather, traffic and wind, so block means vary between minutes by more than single windows
     * suggest, and only minutes the fit did not touch show by how much: on a finite-element deck,
     * the calibration windows' own minutes varied half as much as minutes of unseen years. With
     * fewer than two blocks, the spread of single windows alone.
     *
     * @param heldOut log-odds of windows scored without their minute, in time order
     */
    static SiteReport.Alarm threshold(double[] heldOut) {
        int n = WINDOWS;
        int blocks = heldOut.length / n;
        double mean = mean(heldOut, 0, heldOut.length);
        double sd = sd(heldOut, 0, heldOut.length);
        double independent = sd * sd / n;
        double variance = independent;
        int df = Math.max(1, heldOut.length - 1);
        double[] means = new double[blocks];
        for (int j = 0; j < blocks; j++) {
            means[j] = mean(heldOut, j * n, (j + 1) * n);
        }
        if (blocks >= 2) {
            double between = sd(means, 0, blocks);
            variance = Math.max(independent, between * between);
            df = blocks - 1;
            mean = mean(means, 0, blocks);
        }
        double bound = StudentT.quantile(1 - FALSE_ALARM_RATE, df)
                * Math.sqrt(variance * (1 + 1.0 / Math.max(1, blocks)));
        double effect = independent > 0 ? variance / independent : 1;
        return new SiteReport.Alarm(n, mean + bound, FALSE_ALARM_RATE, heldOut.length, blocks, effect);
    }

    /** Mean of {@code x[from..to)}. */
    static double mean(double[] x, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[i];
        }
        return sum / (to - from);
    }

    /** Sample standard deviation of {@code x[from..to)}. */
    static double sd(double[] x, int from, int to) {
        double m = mean(x, from, to);
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += (x[i] - m) * (x[i] - m);
        }
        return Math.sqrt(sum / Math.max(1, to - from - 1));
    }
}
