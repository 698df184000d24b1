package dev.plateau.tuning;

import java.util.Arrays;

/**
 * One model's answers on a set of samples, sample by sample: the one evaluator behind both sides
 * of every comparison the gate and the search make. A sample whose output is not finite counts
 * as wrong.
 */
record Scored(int n, double meanLoss, boolean[] correct, int[] labels, int nonFinite) {
    /** A probability of exactly 0 would make the loss infinite; the floor keeps one such sample finite. */
    private static final double MIN_PROBABILITY = 1e-12;
    /**
     * Rows per call of the model: the default training batch, so a head that was trained scores
     * without growing its work buffers (four of rows x input width each: 6.4 MB for fashion-cnn's
     * head at 256 rows, 0.8 MB at 32), and {@link MemoryBudget}'s batch-sized work buffers hold.
     */
    private static final int CHUNK = TuningConfig.defaults().batchSize();

    /** A model over rows of embeddings: {@code n} rows laid out flat in, {@code n} rows of logits out. */
    @FunctionalInterface
    interface Model {
        float[] logits(float[] rows, int n);
    }

    static Scored of(Model model, Samples samples) {
        int n = samples.size();
        int dim = samples.dim();
        boolean[] correct = new boolean[n];
        int[] labels = new int[n];
        double loss = 0;
        int nonFinite = 0;
        for (int from = 0; from < n; from += CHUNK) {
            int m = Math.min(CHUNK, n - from);
            float[] logits = model.logits(Arrays.copyOfRange(samples.data(), from * dim, (from + m) * dim), m);
            int k = logits.length / m;
            for (int r = 0; r < m; r++) {
                int i = from + r;
                labels[i] = samples.label(i);
                double rowLoss = loss(logits, r * k, k, labels[i]);
                if (Double.isNaN(rowLoss)) {
                    nonFinite++;
                    continue;
                }
                loss += rowLoss;
                correct[i] = top(logits, r * k, k) == labels[i];
            }
        }
        return new Scored(n, loss / n, correct, labels, nonFinite);
    }

    /** Cross-entropy of one row of logits against {@code label}; NaN when an output is not finite. */
    private static double loss(float[] logits, int at, int k, int label) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
            if (!Float.isFinite(logits[at + c])) {
                return Double.NaN;
            }
            max = Math.max(max, logits[at + c]);
        }
        double z = 0;
        for (int c = 0; c < k; c++) {
            z += Math.exp(logits[at + c] - max);
        }
        return -Math.log(Math.max(Math.exp(logits[at + label] - max) / z, MIN_PROBABILITY));
    }

    /** The highest output's index; ties go to the lower index. */
    private static int top(float[] logits, int at, int k) {
        int top = 0;
        for (int c = 1; c < k; c++) {
            if (logits[at + c] > logits[at + top]) {
                top = c;
            }
        }
        return top;
    }

    double accuracy() {
        int right = 0;
        for (boolean c : correct) {
            right += c ? 1 : 0;
        }
        return (double) right / n;
    }

    /** The samples of class {@code label} only (positions kept in order), for per-class comparisons. */
    boolean[] correctOf(int label) {
        int m = 0;
        for (int l : labels) {
            m += l == label ? 1 : 0;
        }
        boolean[] out = new boolean[m];
        for (int i = 0, j = 0; i < n; i++) {
            if (labels[i] == label) {
                out[j++] = correct[i];
            }
        }
        return out;
    }
}
