package dev.plateau.tuning;

/** Plain gradient descent: {@code p -= lr * g}. */
final class Sgd implements Optimizer {

    @Override
    public void step(float[] params, float[] grads, double lr) {
        for (int i = 0; i < params.length; i++) {
            params[i] = (float) (params[i] - lr * grads[i]);
        }
    }
}
