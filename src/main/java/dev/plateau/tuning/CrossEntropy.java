package dev.plateau.tuning;

/** Softmax cross-entropy against integer labels, through a log-sum-exp that cannot overflow. */
final class CrossEntropy implements Loss {

    @Override
    public double compute(float[] logits, int k, Batch batch, float[] dLogits) {
        int n = batch.n;
        double sum = 0;
        for (int r = 0; r < n; r++) {
            int row = r * k;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, logits[row + c]);
            }
            // Subtracting the max keeps every exp() in (0, 1]; the sum is then at least 1.
            double z = 0;
            for (int c = 0; c < k; c++) {
                z += Math.exp(logits[row + c] - max);
            }
            double logZ = max + Math.log(z);
            int y = batch.labels[r];
            sum += logZ - logits[row + y];
            if (dLogits != null) {
                for (int c = 0; c < k; c++) {
                    double p = Math.exp(logits[row + c] - logZ);
                    dLogits[row + c] = (float) ((p - (c == y ? 1 : 0)) / n);
                }
            }
        }
        return sum / n;
    }
}
