package dev.plateau.tuning;

/** Squared error averaged over every output of every row, as PyTorch's {@code MSELoss()} does. */
final class MeanSquaredError implements Loss {

    @Override
    public double compute(float[] logits, int k, Batch batch, float[] dLogits) {
        int m = batch.n * k;
        double sum = 0;
        for (int j = 0; j < m; j++) {
            double e = (double) logits[j] - batch.targets[j];
            sum += e * e;
            if (dLogits != null) {
                dLogits[j] = (float) (2 * e / m);
            }
        }
        return sum / m;
    }
}
