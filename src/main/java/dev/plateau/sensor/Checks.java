package dev.plateau.sensor;

/** Argument checks whose messages name the parameter, the value seen and the allowed range. */
final class Checks {
    private Checks() {}

    /** Rejects NaN too: every comparison with NaN is false. */
    static double inRange(String name, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(
                    name + ": out of range (value " + value + ", allowed [" + min + ", " + max + "])");
        }
        return value;
    }

    static int inRange(String name, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(
                    name + ": out of range (value " + value + ", allowed [" + min + ", " + max + "])");
        }
        return value;
    }
}
