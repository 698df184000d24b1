package dev.plateau.tuning;

/**
 * L2 weight decay on the dense weight matrices (biases are left alone, as is usual). Coupled
 * (every optimizer but AdamW): {@code g += wd * p}, so adaptive optimizers rescale it with the
 * gradient. Decoupled (AdamW, Loshchilov and Hutter): {@code p -= lr * wd * p}, independent of
 * the gradient's scale. Applied after clipping, so clipping sees the loss gradient only.
 *
 * <p>Drift decay (L2-SP, Li et al. 2018) pulls the weights back toward the pre-trained ones,
 * {@code g += dd * (p - p0)}: fine-tuning a head on a few hundred new samples otherwise moves it
 * far from what the original task needs, and rehearsal alone does not hold it there.
 */
final class WeightDecay {
    private final double rate;
    private final boolean decoupled;
    private final int[][] segments;
    private final double drift;
    private final float[] origin;

    WeightDecay(double rate, boolean decoupled, int[][] segments, double drift, float[] origin) {
        this.rate = rate;
        this.decoupled = decoupled;
        this.segments = segments;
        this.drift = drift;
        this.origin = origin;
    }

    /** @param start the parameters training starts from (copied), the pre-trained head */
    static WeightDecay of(TuningConfig config, HeadNetwork network, float[] start) {
        return new WeightDecay(config.weightDecay(), config.optimizer() == TuningConfig.OptimizerKind.ADAMW,
                network.weightSegments(), config.driftDecay(), start.clone());
    }

    /** Adds the decay to {@code grads} (coupled) or shrinks {@code params} (decoupled). */
    void apply(float[] params, float[] grads, double lr) {
        if (drift != 0) {
            for (int[] s : segments) {
                for (int i = s[0], end = s[0] + s[1]; i < end; i++) {
                    grads[i] = (float) (grads[i] + drift * (params[i] - origin[i]));
                }
            }
        }
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
