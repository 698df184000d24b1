package dev.plateau.tuning;

import dev.plateau.tuning.TuneReport.SiteReport;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The blinding guard of a site calibration: on the log-odds of the {@code healthy} validation
 * windows followed by their {@link SiteCalibration#PROXIES_PER_WINDOW} proxies each (synthetic
 * damage, {@link Proxies}), before and after, is the candidate still responding to damage?
 */
final class BlindingGuard {
    private static final int BOOTSTRAP_BLOCKS = 20_000;
    private static final int RESAMPLES = 2_000;
    /** Log-odds spread below which a model's healthy scores count as constant. */
    private static final double MIN_SPREAD = 1e-3;

    private final int healthy;
    private final int bands;
    private final TuningConfig config;

    /**
     * @param healthy the validation windows the proxies were made from
     * @param bands the modal bands the proxies slow, for the reason's text
     */
    BlindingGuard(int healthy, int bands, TuningConfig config) {
        this.healthy = healthy;
        this.bands = bands;
        this.config = config;
    }

    /**
     * Does the candidate respond to the proxies, and not less than the current model? The
     * response is the mean rise of the log-odds from a proxy's source window to the proxy, in
     * standard deviations of the healthy windows' log-odds: what an alarm averaging windows adds
     * up. The rise is tested paired (t-test, one-sided); the comparison with the current model
     * by resampling the source windows with their proxies.
     */
    SiteReport.Blinding judge(double[] before, double[] after) {
        int h = healthy;
        int p = before.length - healthy;
        double alpha = 1 - config.gateConfidence();
        double[] rise = new double[p];
        for (int j = 0; j < p; j++) {
            rise[j] = after[h + j] - after[j / SiteCalibration.PROXIES_PER_WINDOW];
        }
        double riseMean = BlockAlarm.mean(rise, 0, p);
        double riseSd = BlockAlarm.sd(rise, 0, p);
        double seesP = riseSd > 0 ? 1 - Normal.cdf(riseMean / (riseSd / Math.sqrt(p))) : riseMean > 0 ? 0 : 1;
        double responseAfter = response(after, identity(h));
        double responseBefore = response(before, identity(h));
        SplittableRandom random = new SplittableRandom(config.seed() + 13);
        int notLower = 0;
        for (int b = 0; b < RESAMPLES; b++) {
            int[] pick = new int[h];
            for (int i = 0; i < h; i++) {
                pick[i] = random.nextInt(h);
            }
            notLower += response(after, pick) >= response(before, pick) ? 1 : 0;
        }
        double lossP = (double) notLower / RESAMPLES;
        double blockBefore = blockDetection(before);
        double blockAfter = blockDetection(after);
        String figures = String.format(Locale.ROOT, "on %d synthetic-damage proxies (one of the %d modal bands in turn, "
                        + "slowed by %.0f-%.0f %%) of %d validation windows, the candidate's log-odds rise by "
                        + "%.3f healthy standard deviations (the current model's: %.3f); a %d-window alarm at %.2f "
                        + "block false alarms would catch %.3f of proxy blocks (the current model %.3f)", p,
                bands, Proxies.MIN_SHIFT * 100, Proxies.MAX_SHIFT * 100, h,
                responseAfter, responseBefore, BlockAlarm.WINDOWS, BlockAlarm.FALSE_ALARM_RATE, blockAfter, blockBefore);
        String reason = null;
        if (seesP > alpha) {
            reason = String.format(Locale.ROOT, "blinded: %s; the rise is not significant (p = %.3g): the candidate "
                    + "does not respond to the damage this site's data can show", figures, seesP);
        } else if (responseAfter < responseBefore && lossP <= alpha) {
            reason = String.format(Locale.ROOT, "blinded: %s; the candidate responds significantly less than the "
                    + "current model (p = %.3g)", figures, lossP);
        }
        return new SiteReport.Blinding(p, h, responseBefore, responseAfter, seesP, lossP, blockBefore, blockAfter,
                reason != null, reason != null ? reason : "not blinded: " + figures);
    }

    /** Mean rise source to proxy over the picked source windows, in healthy standard deviations. */
    private double response(double[] scores, int[] pick) {
        int h = healthy;
        double rise = 0;
        double sum = 0;
        double squares = 0;
        for (int i : pick) {
            for (int k = 0; k < SiteCalibration.PROXIES_PER_WINDOW; k++) {
                rise += scores[h + i * SiteCalibration.PROXIES_PER_WINDOW + k] - scores[i];
            }
            sum += scores[i];
            squares += scores[i] * scores[i];
        }
        int n = pick.length;
        double variance = Math.max(0, (squares - sum * sum / n) / Math.max(1, n - 1));
        return rise / (n * SiteCalibration.PROXIES_PER_WINDOW) / Math.max(Math.sqrt(variance), MIN_SPREAD);
    }

    /** Share of proxy blocks over the threshold a block of healthy windows reaches at the alarm's rate (resampled). */
    private double blockDetection(double[] scores) {
        int h = healthy;
        double[] healthy = Arrays.copyOf(scores, h);
        double[] damaged = Arrays.copyOfRange(scores, h, scores.length);
        double threshold = NoveltyFit.quantile(blockMeans(healthy, config.seed() + 17),
                1 - BlockAlarm.FALSE_ALARM_RATE);
        double[] blocks = blockMeans(damaged, config.seed() + 19);
        int over = 0;
        for (double b : blocks) {
            over += b > threshold ? 1 : 0;
        }
        return (double) over / blocks.length;
    }

    /** Means of {@link BlockAlarm#WINDOWS} scores drawn with replacement, {@link #BOOTSTRAP_BLOCKS} of them. */
    private static double[] blockMeans(double[] scores, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] means = new double[BOOTSTRAP_BLOCKS];
        for (int b = 0; b < means.length; b++) {
            double sum = 0;
            for (int k = 0; k < BlockAlarm.WINDOWS; k++) {
                sum += scores[random.nextInt(scores.length)];
            }
            means[b] = sum / BlockAlarm.WINDOWS;
        }
        return means;
    }

    private static int[] identity(int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = i;
        }
        return out;
    }
}
