package dev.plateau.tuning;

/**
 * Embeddings with their labels (classification, softmax cross-entropy) or float targets
 * (regression, mean squared error), held flat as {@code [n][dim]}. Arrays are copied in.
 */
public final class Samples {
    private final int dim;
    private final float[] x;
    private final int[] labels;
    private final float[] targets;
    private final int targetWidth;

    private Samples(int dim, float[] x, int[] labels, float[] targets, int targetWidth) {
        this.dim = dim;
        this.x = x;
        this.labels = labels;
        this.targets = targets;
        this.targetWidth = targetWidth;
    }

    /** Rows of {@code x} are embeddings; {@code labels[i]} is the class index of row i. */
    public static Samples classification(float[][] x, int[] labels) {
        return owning(flatten("embeddings", x), x.length == 0 ? 0 : x[0].length, labels);
    }

    /** {@code flat} holds {@code labels.length} embeddings of {@code dim} values, row after row. */
    public static Samples classification(float[] flat, int dim, int[] labels) {
        return owning(flat.clone(), dim, labels);
    }

    /**
     * As {@link #classification(float[], int, int[])}, keeping {@code flat} itself: for a caller
     * that made it and lets go of it. A fine-tune's embeddings are most of its memory; a copy of
     * them would be the rest.
     */
    static Samples owning(float[] flat, int dim, int[] labels) {
        int n = checkShape(flat, dim, labels.length);
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0) {
                throw new IllegalArgumentException("labels[" + i + "]: must be >= 0 (" + labels[i] + " seen)");
            }
        }
        return new Samples(dim, flat, labels.clone(), null, 0);
    }

    /** Rows of {@code x} are embeddings; rows of {@code targets} the wanted outputs. */
    public static Samples regression(float[][] x, float[][] targets) {
        if (targets.length != x.length) {
            throw new IllegalArgumentException("targets: expected " + x.length + " rows, found " + targets.length);
        }
        float[] flat = flatten("embeddings", x);
        checkShape(flat, x.length == 0 ? 0 : x[0].length, x.length);
        float[] t = flatten("targets", targets);
        if (targets[0].length < 1) {
            throw new IllegalArgumentException("targets: rows must hold at least one value");
        }
        for (int j = 0; j < t.length; j++) {
            if (!Float.isFinite(t[j])) {
                throw new IllegalArgumentException("targets: row " + (j / targets[0].length)
                        + " has a non-finite value (" + t[j] + ")");
            }
        }
        return new Samples(x[0].length, flat, null, t, targets[0].length);
    }

    private static int checkShape(float[] flat, int dim, int n) {
        if (n < 1 || dim < 1) {
            throw new IllegalArgumentException("samples: need at least one sample of at least one value ("
                    + n + " samples of " + dim + " seen)");
        }
        if ((long) n * dim != flat.length) {
            throw new IllegalArgumentException("embeddings: expected " + n + "x" + dim + " = " + ((long) n * dim)
                    + " values, found " + flat.length);
        }
        for (int j = 0; j < flat.length; j++) {
            if (!Float.isFinite(flat[j])) {
                throw new IllegalArgumentException("embeddings: sample " + (j / dim) + " has a non-finite value ("
                        + flat[j] + " at " + (j % dim) + ")");
            }
        }
        return n;
    }

    private static float[] flatten(String what, float[][] rows) {
        if (rows.length == 0) {
            return new float[0];
        }
        int width = rows[0].length;
        if ((long) rows.length * width > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(what + ": too large (" + rows.length + "x" + width + ")");
        }
        float[] flat = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != width) {
                throw new IllegalArgumentException(what + ": row " + i + " has " + rows[i].length
                        + " values, row 0 has " + width);
            }
            System.arraycopy(rows[i], 0, flat, i * width, width);
        }
        return flat;
    }

    public int size() {
        return x.length / dim;
    }

    public int dim() {
        return dim;
    }

    public boolean isClassification() {
        return labels != null;
    }

    /** Outputs a target row has (regression); 0 for classification. */
    int targetWidth() {
        return targetWidth;
    }

    /** Row {@code i}, a new array. */
    float[] row(int i) {
        float[] out = new float[dim];
        System.arraycopy(x, i * dim, out, 0, dim);
        return out;
    }

    float[] data() {
        return x;
    }

    int label(int i) {
        return labels[i];
    }

    int maxLabel() {
        int max = 0;
        for (int label : labels) {
            max = Math.max(max, label);
        }
        return max;
    }

    /** Copies row {@code i}'s embedding and label or target into slot {@code slot} of {@code batch}. */
    void copyRow(int i, Batch batch, int slot) {
        System.arraycopy(x, i * dim, batch.x, slot * dim, dim);
        if (labels != null) {
            batch.labels[slot] = labels[i];
        } else {
            System.arraycopy(targets, i * targetWidth, batch.targets, slot * targetWidth, targetWidth);
        }
    }

    /**
     * Copies the labels or targets of rows {@code from..from+n} into {@code batch}; evaluation
     * reads the embeddings in place.
     */
    void copyTargets(int from, int n, Batch batch) {
        if (labels != null) {
            System.arraycopy(labels, from, batch.labels, 0, n);
        } else {
            System.arraycopy(targets, from * targetWidth, batch.targets, 0, n * targetWidth);
        }
        batch.n = n;
    }
}
