package dev.plateau.tuning;

/**
 * L2 weight decay on the dense weight matrices (biases are left alone, as is usual). Coupled
 * (every optimizer but AdamW): {@code g += wd * p}, so adaptive optimizers rescale it with the
 * gradient. Decoupled (AdamW, Loshchilov and Hutter): {@code p -= lr * wd * p}, independent of
 * the gradient's scale. Applied after clipping, so clipping sees the loss gradient only.
 */
final class WeightDecay {
    private final double rate;
    private final boolean decoupled;
    private final int[][] segments;

    WeightDecay(double rate, boolean decoupled, int[][] segments) {
        this.rate = rate;
        this.decoupled = decoupled;
        this.segments = segments;
    }

    static WeightDecay of(TuningConfig config, HeadNetwork network) {
        return new WeightDecay(config.weightDecay(), config.optimizer() == TuningConfig.OptimizerKind.ADAMW,
                network.weightSegments());
    }

    /** Adds the decay to {@code grads} (coupled) or shrinks {@code params} (decoupled). */
    void apply(float[] params, float[] grads, double lr) {
        if (rate == 0) {
            return;
        }
        for (int[] s : segments) {
            for (int i = s[0], end = s[0] + s[1]; i < end; i++) {
                if (decoupled) {
                    params[i] = (float) (params[i] - lr * rate * params[i]);
                } else {
                    grads[i] = (float) (grads[i] + rate * params[i]);
                }
            }
        }
    }
}
