package dev.plateau.tuning;

/** Updates parameters in place from their gradients; holds its own per-parameter state. */
interface Optimizer {

    /** One update of every parameter with learning rate {@code lr}; {@code grads} is left as is. */
    void step(float[] params, float[] grads, double lr);

    /** Creates the optimizer {@code config} names for {@code size} parameters. */
    static Optimizer create(TuningConfig config, int size) {
        return switch (config.optimizer()) {
            case SGD -> new Sgd();
            case MOMENTUM -> new Momentum(size, config.momentum(), false);
            case NESTEROV -> new Momentum(size, config.momentum(), true);
            case RMSPROP -> new RmsProp(size, config.beta2(), config.epsilon());
            case ADAM, ADAMW -> new Adam(size, config.beta1(), config.beta2(), config.epsilon());
        };
    }

    /** Floats of state each parameter needs, for the memory estimate. */
    static int stateSlots(TuningConfig.OptimizerKind kind) {
        return switch (kind) {
            case SGD -> 0;
            case MOMENTUM, NESTEROV, RMSPROP -> 1;
            case ADAM, ADAMW -> 2;
        };
    }
}
