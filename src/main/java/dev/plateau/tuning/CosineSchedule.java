package dev.plateau.tuning;

/**
 * Cosine annealing per epoch (Loshchilov and Hutter, without restarts):
 * {@code min + (base - min) * (1 + cos(pi * e / epochs)) / 2}, from {@code base} at epoch 0 down
 * to {@code min} at epoch {@code epochs}; it stays at {@code min} after that.
 */
final class CosineSchedule implements Schedule {
    private final double base;
    private final double min;
    private final int epochs;

    CosineSchedule(double base, double min, int epochs) {
        this.base = base;
        this.min = min;
        this.epochs = epochs;
    }

    @Override
    public double rate(int epoch) {
        if (epoch >= epochs) {
            return min;
        }
        return min + (base - min) * (1 + Math.cos(Math.PI * epoch / epochs)) / 2;
    }
}
