package dev.plateau.tuning;

/**
 * Reduce-on-plateau on the validation loss, counted as Keras does: after {@code patience}
 * epochs in a row without a relative improvement of at least {@code minDelta} over the best
 * loss, the rate is multiplied by {@code factor} (not below {@code min}) and the count restarts.
 */
final class PlateauSchedule implements Schedule {
    private final double min;
    private final double factor;
    private final int patience;
    private final double minDelta;
    private double rate;
    private double best = Double.POSITIVE_INFINITY;
    private int bad;

    PlateauSchedule(double base, double min, double factor, int patience, double minDelta) {
        this.rate = base;
        this.min = min;
        this.factor = factor;
        this.patience = patience;
        this.minDelta = minDelta;
    }

    @Override
    public double rate(int epoch) {
        return rate;
    }

    @Override
    public void onEpochEnd(double validationLoss) {
        if (validationLoss < best - minDelta * Math.abs(best) || best == Double.POSITIVE_INFINITY) {
            best = Math.min(best, validationLoss);
            bad = 0;
            return;
        }
        if (++bad >= patience) {
            rate = Math.max(rate * factor, min);
            bad = 0;
        }
    }
}
