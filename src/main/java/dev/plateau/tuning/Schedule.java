package dev.plateau.tuning;

/** Learning rate per epoch. */
interface Schedule {

    /** The rate for epoch {@code epoch} (0-based), asked once at its start. */
    double rate(int epoch);

    /** Told each epoch's validation loss, after {@link #rate} was asked for that epoch. */
    default void onEpochEnd(double validationLoss) {}

    static Schedule create(TuningConfig c) {
        return switch (c.schedule()) {
            case CONSTANT -> epoch -> c.lr();
            case COSINE -> new CosineSchedule(c.lr(), c.minLr(), c.maxEpochs());
            case PLATEAU -> new PlateauSchedule(c.lr(), c.minLr(), c.plateauFactor(), c.plateauPatience(),
                    c.minDelta());
        };
    }
}
