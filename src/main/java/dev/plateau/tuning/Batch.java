package dev.plateau.tuning;

/** Reused buffers for one mini-batch: embeddings, labels or targets, and the loss gradient. */
final class Batch {
    final float[] x;
    final int[] labels;
    final float[] targets;
    final float[] dLogits;
    int n;

    Batch(int capacity, int dim, int outputs, boolean classification) {
        x = new float[capacity * dim];
        labels = classification ? new int[capacity] : null;
        targets = classification ? null : new float[capacity * outputs];
        dLogits = new float[capacity * outputs];
    }
}
