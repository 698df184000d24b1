package dev.plateau.tuning;

/** A training objective on a batch of head outputs. */
interface Loss {

    /**
     * Mean loss over the {@code batch.n} rows of {@code logits} ({@code [n][k]}); when
     * {@code dLogits} is not null, writes the gradient of that mean into it.
     */
    double compute(float[] logits, int k, Batch batch, float[] dLogits);

    static Loss of(Samples samples) {
        return samples.isClassification() ? new CrossEntropy() : new MeanSquaredError();
    }
}
