package dev.plateau.tuning;

/**
 * RMSprop as in PyTorch (no momentum, not centred): {@code s = rho * s + (1 - rho) * g^2;
 * p -= lr * g / (sqrt(s) + eps)}. {@code rho} is the configuration's {@code beta2}.
 */
final class RmsProp implements Optimizer {
    private final float[] meanSquare;
    private final double rho;
    private final double eps;

    RmsProp(int size, double rho, double eps) {
        this.meanSquare = new float[size];
        this.rho = rho;
        this.eps = eps;
    }

    @Override
    public void step(float[] params, float[] grads, double lr) {
        for (int i = 0; i < params.length; i++) {
            double g = grads[i];
            double s = rho * meanSquare[i] + (1 - rho) * g * g;
            meanSquare[i] = (float) s;
            params[i] = (float) (params[i] - lr * g / (Math.sqrt(s) + eps));
        }
    }
}
