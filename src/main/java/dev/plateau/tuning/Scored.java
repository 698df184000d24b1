package dev.plateau.tuning;

import java.util.function.Function;

/**
 * One model's answers on a set of samples, sample by sample: the one evaluator behind both sides
 * of every comparison the gate makes. A sample whose output is not finite counts as wrong.
 */
record Scored(int n, double meanLoss, boolean[] correct, int[] labels, int nonFinite) {
    /** Same floor as {@link CrossEntropy}'s log-sum-exp never needs: a probability of exactly 0 would be -inf. */
    private static final double MIN_PROBABILITY = 1e-12;

    static Scored of(Function<float[], float[]> model, Samples samples) {
        int n = samples.size();
        boolean[] correct = new boolean[n];
        int[] labels = new int[n];
        double loss = 0;
        int nonFinite = 0;
        for (int i = 0; i < n; i++) {
            float[] logits = model.apply(samples.row(i));
            labels[i] = samples.label(i);
            double max = Double.NEGATIVE_INFINITY;
            int top = 0;
            boolean finite = true;
            for (int c = 0; c < logits.length; c++) {
                finite &= Float.isFinite(logits[c]);
                if (logits[c] > logits[top]) {
                    top = c;
                }
                max = Math.max(max, logits[c]);
            }
            if (!finite) {
                nonFinite++;
                continue;
            }
            double z = 0;
            for (float v : logits) {
                z += Math.exp(v - max);
            }
            double p = Math.exp(logits[labels[i]] - max) / z;
            loss += -Math.log(Math.max(p, MIN_PROBABILITY));
            correct[i] = top == labels[i];
        }
        return new Scored(n, loss / n, correct, labels, nonFinite);
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
