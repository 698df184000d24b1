package dev.plateau.tuning;

import java.util.List;
import java.util.function.Function;

/**
 * One {@code --set} key of {@link TuningConfig}: its name, type, allowed values and meaning, in
 * one place for validation, parsing and the defaults table.
 */
final class ConfigKey {
    enum Type { REAL, INTEGER, CHOICE }

    final String name;
    final Type type;
    final double lo;
    final double hi;
    final boolean loOpen;
    final boolean hiOpen;
    final List<String> choices;
    final String meaning;
    final Function<TuningConfig, Object> value;

    private ConfigKey(String name, Type type, double lo, boolean loOpen, double hi, boolean hiOpen,
                      List<String> choices, String meaning, Function<TuningConfig, Object> value) {
        this.name = name;
        this.type = type;
        this.lo = lo;
        this.hi = hi;
        this.loOpen = loOpen;
        this.hiOpen = hiOpen;
        this.choices = choices;
        this.meaning = meaning;
        this.value = value;
    }

    /** A real number in {@code [lo, hi]}, or {@code (lo, hi]} / {@code [lo, hi)} as flagged. */
    static ConfigKey real(String name, double lo, boolean loOpen, double hi, boolean hiOpen, String meaning,
                          Function<TuningConfig, Object> value) {
        return new ConfigKey(name, Type.REAL, lo, loOpen, hi, hiOpen, List.of(), meaning, value);
    }

    static ConfigKey integer(String name, long lo, long hi, String meaning, Function<TuningConfig, Object> value) {
        return new ConfigKey(name, Type.INTEGER, lo, false, hi, false, List.of(), meaning, value);
    }

    static ConfigKey choice(String name, List<String> choices, String meaning, Function<TuningConfig, Object> value) {
        return new ConfigKey(name, Type.CHOICE, 0, false, 0, false, choices, meaning, value);
    }

    void check(Rules rules, double v) {
        boolean ok = (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
        rules.require(ok, name + ": out of range (" + Rules.format(v) + " seen, allowed " + allowed() + ")");
    }

    void check(Rules rules, long v) {
        rules.require(v >= lo && v <= hi, name + ": out of range (" + v + " seen, allowed " + allowed() + ")");
    }

    void check(Rules rules, Object choice) {
        rules.require(choice != null, name + ": required (none seen, allowed " + allowed() + ")");
    }

    String allowed() {
        return switch (type) {
            case REAL -> (loOpen ? "(" : "[") + Rules.format(lo) + ", " + Rules.format(hi) + (hiOpen ? ")" : "]");
            case INTEGER -> lo <= Long.MIN_VALUE && hi >= Long.MAX_VALUE ? "any 64-bit integer"
                    : (long) lo + ".." + (long) hi;
            case CHOICE -> String.join("|", choices);
        };
    }

    /** The value a config holds, written the way {@code --set} takes it. */
    String format(TuningConfig config) {
        Object v = value.apply(config);
        if (v instanceof Double d) {
            return Rules.format(d);
        }
        if (v instanceof Enum<?> e) {
            return e.name().toLowerCase(java.util.Locale.ROOT);
        }
        return String.valueOf(v);
    }

    /** Parses {@code raw}; on failure records {@code key: reason ('raw' seen, allowed ...)} and returns null. */
    Object parse(String raw, Rules rules) {
        String s = raw == null ? "" : raw.trim();
        try {
            return switch (type) {
                case REAL -> Double.parseDouble(s);
                case INTEGER -> Long.parseLong(s);
                case CHOICE -> {
                    if (!choices.contains(s)) {
                        rules.add(name + ": unknown value ('" + raw + "' seen, allowed " + allowed() + ")");
                        yield null;
                    }
                    yield s;
                }
            };
        } catch (NumberFormatException e) {
            rules.add(name + ": not " + (type == Type.REAL ? "a number" : "an integer") + " ('" + raw
                    + "' seen, allowed " + allowed() + ")");
            return null;
        }
    }
}
