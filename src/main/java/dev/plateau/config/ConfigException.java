package dev.plateau.config;

import java.util.List;

/** A configuration that cannot be used; carries every problem found, one per line. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final List<String> errors;

    public ConfigException(String source, List<String> errors) {
        super(source + ": " + errors.size() + " error" + (errors.size() == 1 ? "" : "s")
                + System.lineSeparator() + "  " + String.join(System.lineSeparator() + "  ", errors));
        this.source = source;
        this.errors = List.copyOf(errors);
    }

    /** The file (or other origin) the configuration came from. */
    public String source() {
        return source;
    }

    /** Each problem as {@code path: reason (line:col)}. */
    public List<String> errors() {
        return errors;
    }
}
