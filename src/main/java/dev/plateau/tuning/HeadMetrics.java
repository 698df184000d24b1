package dev.plateau.tuning;

/** Accuracy and mean loss of a head on embeddings, for the trainer and the acceptance gate. */
public final class HeadMetrics {
    private static final int CHUNK = 256;

    private HeadMetrics() {}

    /**
     * One pass's figures: mean loss (cross-entropy or MSE, as the samples' kind says), top-1
     * accuracy (NaN for regression) and the number of samples with a non-finite output, which
     * count as wrong.
     */
    public record Evaluation(int n, double meanLoss, double accuracy, int nonFiniteOutputs) {}

    public static Evaluation evaluate(HeadNetwork net, Samples samples) {
        int chunk = Math.max(net.capacity(), CHUNK);
        return evaluate(net, samples, new Batch(chunk, 0, net.outputs(), samples.isClassification()), chunk, null);
    }

    /** Fraction of rows whose highest output is the label (ties go to the lower index). */
    public static double accuracy(HeadNetwork net, float[][] x, int[] labels) {
        return evaluate(net, Samples.classification(x, labels)).accuracy();
    }

    public static double accuracy(HeadNetwork net, Samples samples) {
        return evaluate(net, samples).accuracy();
    }

    public static double meanLoss(HeadNetwork net, Samples samples) {
        return evaluate(net, samples).meanLoss();
    }

    /**
     * Evaluates in chunks of at most {@code chunk} rows through the reused {@code batch}; fills
     * {@code predicted} (when given) with each row's top output.
     */
    static Evaluation evaluate(HeadNetwork net, Samples samples, Batch batch, int chunk, int[] predicted) {
        check(net, samples);
        Loss loss = Loss.of(samples);
        int k = net.outputs();
        int n = samples.size();
        double lossSum = 0;
        int correct = 0;
        int nonFinite = 0;
        for (int from = 0; from < n; from += chunk) {
            int m = Math.min(chunk, n - from);
            samples.copyTargets(from, m, batch);
            float[] out = net.forward(samples.data(), from * samples.dim(), m);
            lossSum += loss.compute(out, k, batch, null) * m;
            for (int r = 0; r < m; r++) {
                int best = 0;
                boolean finite = true;
                for (int c = 0; c < k; c++) {
                    float v = out[r * k + c];
                    finite &= Float.isFinite(v);
                    if (v > out[r * k + best]) {
                        best = c;
                    }
                }
                if (predicted != null) {
                    predicted[from + r] = finite ? best : -1;
                }
                if (!finite) {
                    nonFinite++;
                } else if (samples.isClassification() && best == batch.labels[r]) {
                    correct++;
                }
            }
        }
        return new Evaluation(n, lossSum / n, samples.isClassification() ? (double) correct / n : Double.NaN,
                nonFinite);
    }

    /** The samples must fit the head: same width, labels or targets within its outputs. */
    static void check(HeadNetwork net, Samples samples) {
        if (samples.dim() != net.inputs()) {
            throw new IllegalArgumentException("samples: embeddings have " + samples.dim() + " values, the head takes "
                    + net.inputs());
        }
        if (samples.isClassification()) {
            if (net.outputs() < 2) {
                throw new IllegalArgumentException("samples: classification needs a head with at least 2 outputs, "
                        + "found " + net.outputs());
            }
            if (samples.maxLabel() >= net.outputs()) {
                throw new IllegalArgumentException("samples: label " + samples.maxLabel() + " is not below the head's "
                        + net.outputs() + " outputs");
            }
        } else if (samples.targetWidth() != net.outputs()) {
            throw new IllegalArgumentException("samples: targets have " + samples.targetWidth()
                    + " values, the head gives " + net.outputs());
        }
    }
}
