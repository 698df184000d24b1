package dev.plateau.config;

import java.util.Objects;

/** One-line argument checks whose messages carry the value seen and what was allowed. */
public final class Checks {
    private Checks() {}

    public static int inRange(String name, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " out of range (" + value + ", allowed " + min + ".." + max + ")");
        }
        return value;
    }

    public static long inRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " out of range (" + value + ", allowed " + min + ".." + max + ")");
        }
        return value;
    }

    public static double inRange(String name, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(name + " out of range (" + value + ", allowed " + min + ".." + max + ")");
        }
        return value;
    }

    public static <T> T present(String name, T value) {
        return Objects.requireNonNull(value, () -> name + " is required");
    }

    public static String notBlank(String name, String value) {
        if (present(name, value).isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
        return value;
    }
}
