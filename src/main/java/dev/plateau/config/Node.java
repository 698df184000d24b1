package dev.plateau.config;

import java.util.List;
import java.util.Map;

/**
 * A YAML value with the place it was read from. The loader walks these instead of binding
 * directly, so that every error can name its line and all of them are reported at once.
 */
record Node(Kind kind, Map<String, Node> fields, List<Node> items, String text, boolean quoted,
            int line, int column) {

    enum Kind { MAP, LIST, SCALAR, NULL }

    String where() {
        return line + ":" + column;
    }

    String describe() {
        return switch (kind) {
            case MAP -> "a mapping";
            case LIST -> "a list";
            case NULL -> "null";
            case SCALAR -> "'" + text + "'";
        };
    }
}
