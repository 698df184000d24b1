package dev.plateau.tuning;

/**
 * Adam (Kingma and Ba) with bias-corrected moments: {@code p -= lr * m^ / (sqrt(v^) + eps)}.
 * Decoupled weight decay (AdamW) is applied outside, by {@link WeightDecay}.
 */
final class Adam implements Optimizer {
    private final float[] m;
    private final float[] v;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private int t;

    Adam(int size, double beta1, double beta2, double eps) {
        this.m = new float[size];
        this.v = new float[size];
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    /**
     * In float, as one loop that C2 vectorises (square root and division included): the
     * bias corrections fold into two per-step constants, {@code lr / c1} and {@code 1 / sqrt(c2)},
     * so that {@code sqrt(v / c2) = sqrt(v) / sqrt(c2)}.
     */
    @Override
    public void step(float[] params, float[] grads, double lr) {
        t++;
        double c1 = 1 - Math.pow(beta1, t);
        double c2 = 1 - Math.pow(beta2, t);
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float a1 = (float) (1 - beta1);
        float a2 = (float) (1 - beta2);
        float rate = (float) (lr / c1);
        float unbias = (float) (1 / Math.sqrt(c2));
        float e = (float) eps;
        for (int i = 0; i < params.length; i++) {
            float g = grads[i];
            float mi = b1 * m[i] + a1 * g;
            float vi = b2 * v[i] + a2 * g * g;
            m[i] = mi;
            v[i] = vi;
            params[i] -= rate * mi / ((float) Math.sqrt(vi) * unbias + e);
        }
    }
}
