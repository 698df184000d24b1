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

    @Override
    public void step(float[] params, float[] grads, double lr) {
        t++;
        double c1 = 1 - Math.pow(beta1, t);
        double c2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < params.length; i++) {
            double g = grads[i];
            double mi = beta1 * m[i] + (1 - beta1) * g;
            double vi = beta2 * v[i] + (1 - beta2) * g * g;
            m[i] = (float) mi;
            v[i] = (float) vi;
            params[i] = (float) (params[i] - lr * (mi / c1) / (Math.sqrt(vi / c2) + eps));
        }
    }
}
