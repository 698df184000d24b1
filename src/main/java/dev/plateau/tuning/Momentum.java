package dev.plateau.tuning;

/**
 * Heavy-ball momentum as in PyTorch's {@code SGD(momentum=mu)} without dampening:
 * {@code v = mu * v + g; p -= lr * v}. Nesterov's variant steps along {@code g + mu * v}.
 */
final class Momentum implements Optimizer {
    private final float[] velocity;
    private final double mu;
    private final boolean nesterov;

    Momentum(int size, double mu, boolean nesterov) {
        this.velocity = new float[size];
        this.mu = mu;
        this.nesterov = nesterov;
    }

    @Override
    public void step(float[] params, float[] grads, double lr) {
        for (int i = 0; i < params.length; i++) {
            double v = mu * velocity[i] + grads[i];
            velocity[i] = (float) v;
            double d = nesterov ? grads[i] + mu * v : v;
            params[i] = (float) (params[i] - lr * d);
        }
    }
}
