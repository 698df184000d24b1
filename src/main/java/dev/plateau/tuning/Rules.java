package dev.plateau.tuning;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects every {@code key: reason (value seen, allowed range)} problem of a configuration, so
 * that one failure lists them all. Nothing is clamped or replaced.
 */
final class Rules {
    private final List<String> errors = new ArrayList<>();

    void require(boolean ok, String message) {
        if (!ok) {
            errors.add(message);
        }
    }

    void add(String message) {
        errors.add(message);
    }

    /** Throws one {@link IllegalArgumentException} listing every problem, one per line. */
    void throwIfAny(String what) {
        if (errors.isEmpty()) {
            return;
        }
        if (errors.size() == 1) {
            throw new IllegalArgumentException(errors.get(0));
        }
        throw new IllegalArgumentException(what + ": " + errors.size() + " errors" + System.lineSeparator() + "  "
                + String.join(System.lineSeparator() + "  ", errors));
    }

    /** Short readable form that parses back to the same double: 0.001, 1E-8, 30, 0.5. */
    static String format(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        if (Math.abs(v) < 1e-4) {
            return Double.toString(v).replace(".0E", "E");
        }
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
