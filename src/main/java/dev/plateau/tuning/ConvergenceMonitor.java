package dev.plateau.tuning;

import java.time.Clock;
import java.util.Arrays;
import java.util.Locale;

/**
 * Watches a training run (DESIGN.md §6) and decides, after every step and every epoch, whether
 * it goes on, stops (keep the best epoch) or aborts (diverged: keep nothing). Fed by hand, it has
 * no notion of weights; time comes from the injected clock.
 *
 * <p>Spikes are measured against floors so that near-zero values, which a converged head
 * produces, do not turn ordinary noise into an abort: the loss reference is at least
 * {@link #LOSS_FLOOR} of the first step's loss, the gradient reference at least {@code grad_tol}.
 * The step-level loss check uses a bias-corrected moving average of step losses (weight
 * {@link #LOSS_SMOOTHING}), because one hard mini-batch is not a divergence.
 */
final class ConvergenceMonitor {
    /** Recent gradient norms whose median is the spike reference. */
    static final int GRAD_WINDOW = 20;
    /** Norms needed before the gradient spike check starts. */
    static final int GRAD_WINDOW_MIN = 5;
    static final double LOSS_SMOOTHING = 0.9;
    static final double LOSS_FLOOR = 0.01;

    /** CONTINUE has no reason; anything else stops or aborts per {@link StopReason#outcome()}. */
    record Decision(StopReason reason, String message) {
        static final Decision CONTINUE = new Decision(null, "continue");

        boolean halt() {
            return reason != null;
        }
    }

    private final TuningConfig c;
    private final Clock clock;
    private final long startMillis;
    private long steps;

    private double firstLoss = Double.NaN;
    private double smoothed;
    private int smoothedCount;
    private double bestTrain = Double.POSITIVE_INFINITY;
    private int stale;

    private final double[] norms = new double[GRAD_WINDOW];
    private final double[] sorted = new double[GRAD_WINDOW];
    private int normCount;

    private double bestVal = Double.POSITIVE_INFINITY;
    private int bestValEpoch;
    private double lastStripVal = Double.NaN;
    private int ups;
    private int stable;

    ConvergenceMonitor(TuningConfig config, Clock clock) {
        this.c = config;
        this.clock = clock;
        this.startMillis = clock.millis();
    }

    long steps() {
        return steps;
    }

    long elapsedMillis() {
        return clock.millis() - startMillis;
    }

    /** Step and time budgets; asked before every step and after every epoch. */
    Decision checkBudget() {
        if (c.maxSteps() > 0 && steps >= c.maxSteps()) {
            return new Decision(StopReason.BUDGET_STEPS, "reached max_steps " + c.maxSteps());
        }
        long elapsed = elapsedMillis();
        if (elapsed >= c.maxSeconds() * 1000) {
            return new Decision(StopReason.BUDGET_TIME, "ran " + elapsed / 1000.0 + " s, max_seconds "
                    + c.maxSeconds() + " (after " + steps + " steps)");
        }
        return Decision.CONTINUE;
    }

    /**
     * One mini-batch's loss and pre-clip global gradient norm, before its update is applied.
     * On CONTINUE the step is counted and the caller applies the update.
     */
    Decision onStep(double loss, double gradNorm) {
        long step = steps + 1;
        if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
            return new Decision(StopReason.DIVERGED_NON_FINITE, "step " + step + ": loss " + loss
                    + ", gradient norm " + gradNorm);
        }
        Decision spike = gradientSpike(step, gradNorm);
        if (spike.halt()) {
            return spike;
        }
        if (Double.isNaN(firstLoss)) {
            firstLoss = loss;
        }
        smoothed = LOSS_SMOOTHING * smoothed + (1 - LOSS_SMOOTHING) * loss;
        smoothedCount++;
        double average = smoothed / (1 - Math.pow(LOSS_SMOOTHING, smoothedCount));
        double reference = lossReference(Double.isInfinite(bestTrain) ? firstLoss : bestTrain);
        if (reference > 0 && average > c.spikeFactor() * reference) {
            return new Decision(StopReason.DIVERGED_LOSS_SPIKE, "step " + step + ": smoothed loss " + fmt(average)
                    + " > spike_factor " + Rules.format(c.spikeFactor()) + " x best " + fmt(reference));
        }
        steps = step;
        return Decision.CONTINUE;
    }

    private Decision gradientSpike(long step, double gradNorm) {
        int n = Math.min(normCount, GRAD_WINDOW);
        if (n >= GRAD_WINDOW_MIN) {
            System.arraycopy(norms, 0, sorted, 0, n);
            Arrays.sort(sorted, 0, n);
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            double reference = Math.max(median, c.gradTol());
            if (reference > 0 && gradNorm > c.gradSpikeFactor() * reference) {
                return new Decision(StopReason.DIVERGED_GRAD_SPIKE, "step " + step + ": gradient norm "
                        + fmt(gradNorm) + " > grad_spike_factor " + Rules.format(c.gradSpikeFactor()) + " x median "
                        + fmt(reference) + " of the last " + n + " steps");
            }
        }
        norms[normCount % GRAD_WINDOW] = gradNorm;
        normCount++;
        return Decision.CONTINUE;
    }

    private double lossReference(double best) {
        return Double.isNaN(firstLoss) ? best : Math.max(best, LOSS_FLOOR * firstLoss);
    }

    /**
     * The end of epoch {@code epoch} (1-based). Divergence first, then, in this order, Prechelt's
     * GL and UP on the validation loss, the overfitting gap, the training-loss plateau, a small
     * gradient, and the epoch budget.
     */
    Decision onEpoch(int epoch, double trainLoss, double valLoss, double meanGradNorm) {
        String at = "epoch " + epoch + ": ";
        if (!Double.isFinite(trainLoss) || !Double.isFinite(valLoss) || !Double.isFinite(meanGradNorm)) {
            return new Decision(StopReason.DIVERGED_NON_FINITE, at + "training loss " + trainLoss
                    + ", validation loss " + valLoss + ", gradient norm " + meanGradNorm);
        }
        double reference = lossReference(bestTrain);
        if (reference > 0 && trainLoss > c.spikeFactor() * reference) {
            return new Decision(StopReason.DIVERGED_LOSS_SPIKE, at + "training loss " + fmt(trainLoss)
                    + " > spike_factor " + Rules.format(c.spikeFactor()) + " x best " + fmt(reference));
        }
        Decision d = validation(at, epoch, valLoss);
        if (d.halt()) {
            return d;
        }
        if (valLoss - trainLoss > c.overfitGap()) {
            return new Decision(StopReason.OVERFITTING, at + "validation loss " + fmt(valLoss)
                    + " exceeds training loss " + fmt(trainLoss) + " by more than overfit_gap "
                    + Rules.format(c.overfitGap()));
        }
        d = plateau(at, trainLoss);
        if (d.halt()) {
            return d;
        }
        if (meanGradNorm < c.gradTol()) {
            return new Decision(StopReason.GRADIENT_SMALL, at + "mean gradient norm " + fmt(meanGradNorm)
                    + " < grad_tol " + Rules.format(c.gradTol()));
        }
        if (epoch >= c.maxEpochs()) {
            return new Decision(StopReason.BUDGET_EPOCHS, "reached max_epochs " + c.maxEpochs());
        }
        return Decision.CONTINUE;
    }

    /**
     * Weight stabilisation and functional consistency, after {@link #onEpoch} let the epoch pass:
     * {@code weightChange} is the epoch's relative L2 change of the weights, {@code unchanged}
     * the share of selection predictions the same as after the previous epoch (NaN at epoch 1).
     */
    Decision onStability(int epoch, double weightChange, double unchanged) {
        String at = "epoch " + epoch + ": ";
        if (c.weightTol() > 0 && weightChange < c.weightTol()) {
            return new Decision(StopReason.WEIGHTS_STABLE, at + "weights moved by " + fmt(weightChange)
                    + " (relative), below weight_tol " + Rules.format(c.weightTol()));
        }
        stable = c.consistencyStop() > 0 && unchanged >= c.consistencyStop() ? stable + 1 : 0;
        if (stable >= c.patience()) {
            return new Decision(StopReason.PREDICTIONS_STABLE, at + "at least " + Rules.format(c.consistencyStop())
                    + " of the selection predictions unchanged for " + stable + " epochs");
        }
        return Decision.CONTINUE;
    }

    /**
     * Prechelt (1998): {@code GL(t) = 100 (E_va(t) / E_opt(t) - 1)} with {@code E_opt} the lowest
     * validation loss up to t; UP_s stops when the validation loss at the end of a strip of
     * {@code strip_length} epochs is above that at the end of the previous strip, s times in a row.
     * Counting starts at epoch 1; the first comparison of UP is at the end of the second strip.
     */
    private Decision validation(String at, int epoch, double valLoss) {
        if (valLoss < bestVal) {
            bestVal = valLoss;
            bestValEpoch = epoch;
        }
        double gl = bestVal > 0 ? 100 * (valLoss / bestVal - 1) : (valLoss > bestVal ? Double.POSITIVE_INFINITY : 0);
        if (gl > c.glAlpha()) {
            return new Decision(StopReason.EARLY_STOP_GL, at + "validation loss " + fmt(valLoss) + " is "
                    + fmt(gl) + "% above the best " + fmt(bestVal) + " (epoch " + bestValEpoch + "), GL > gl_alpha "
                    + Rules.format(c.glAlpha()));
        }
        if (epoch % c.stripLength() == 0) {
            ups = !Double.isNaN(lastStripVal) && valLoss > lastStripVal ? ups + 1 : 0;
            lastStripVal = valLoss;
            if (ups >= c.upStrips()) {
                return new Decision(StopReason.EARLY_STOP_UP, at + "validation loss rose at the end of " + ups
                        + " successive strips of " + c.stripLength() + " epoch(s), now " + fmt(valLoss)
                        + " (best " + fmt(bestVal) + " at epoch " + bestValEpoch + ")");
            }
        }
        return Decision.CONTINUE;
    }

    /** Relative improvement of the training loss over its best so far; the first epoch always counts. */
    private Decision plateau(String at, double trainLoss) {
        boolean first = Double.isInfinite(bestTrain);
        double gain = first ? Double.POSITIVE_INFINITY
                : bestTrain > 0 ? (bestTrain - trainLoss) / bestTrain
                : trainLoss < bestTrain ? Double.POSITIVE_INFINITY : 0;
        stale = gain < c.minDelta() ? stale + 1 : 0;
        bestTrain = Math.min(bestTrain, trainLoss);
        if (stale >= c.patience()) {
            return new Decision(StopReason.PLATEAU, at + "training loss improved by less than min_delta "
                    + Rules.format(c.minDelta()) + " (relative) for " + stale + " epochs, best " + fmt(bestTrain));
        }
        return Decision.CONTINUE;
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }
}
