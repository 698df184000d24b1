package dev.plateau.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * One mapping of the configuration being read. Every getter records a problem instead of
 * throwing, so a single pass reports all of them; {@link #finish()} reports unknown keys.
 */
final class Section {
    private final String path;
    private final Node node;
    private final List<String> errors;
    private final Set<String> known = new HashSet<>();

    Section(String path, Node node, List<String> errors) {
        this.path = path;
        this.node = node;
        this.errors = errors;
    }

    String path() {
        return path;
    }

    Node node() {
        return node;
    }

    void error(String key, String reason, Node at) {
        errors.add(child(key) + ": " + reason + " (" + at.where() + ")");
    }

    void error(String reason) {
        errors.add((path.isEmpty() ? "(document)" : path) + ": " + reason + " (" + node.where() + ")");
    }

    private String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private Node value(String key, boolean required) {
        known.add(key);
        Node value = node.fields().get(key);
        if (value == null || value.kind() == Node.Kind.NULL) {
            if (required) {
                error(key, "required, missing", value == null ? node : value);
            }
            return null;
        }
        return value;
    }

    private Node scalar(String key, boolean required, String expected) {
        Node value = value(key, required);
        if (value != null && value.kind() != Node.Kind.SCALAR) {
            error(key, "expected " + expected + ", found " + value.describe(), value);
            return null;
        }
        return value;
    }

    String string(String key, boolean required) {
        Node value = scalar(key, required, "a string");
        if (value == null) {
            return null;
        }
        if (value.text().isBlank()) {
            error(key, "must not be blank", value);
            return null;
        }
        return value.text();
    }

    /** A name usable in topics and directory names: letters, digits, '-', '_', '.'. */
    String name(String key, boolean required) {
        String text = string(key, required);
        if (text != null && !text.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            error(key, "expected 1-64 of [A-Za-z0-9._-] starting with a letter or digit, found '"
                    + text + "'", node.fields().get(key));
            return null;
        }
        return text;
    }

    Integer integer(String key, long min, long max, Integer fallback) {
        Node value = scalar(key, false, "an integer");
        if (value == null) {
            return fallback;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value.text().trim());
        } catch (NumberFormatException e) {
            error(key, "expected an integer, found " + value.describe(), value);
            return fallback;
        }
        if (parsed < min || parsed > max) {
            error(key, "out of range (" + parsed + ", allowed " + min + ".." + max + ")", value);
            return fallback;
        }
        return (int) parsed;
    }

    Double number(String key, double min, double max, boolean required, Double fallback) {
        Node value = scalar(key, required, "a number");
        if (value == null) {
            return fallback;
        }
        double parsed;
        try {
            parsed = Double.parseDouble(value.text().trim());
        } catch (NumberFormatException e) {
            error(key, "expected a number, found " + value.describe(), value);
            return fallback;
        }
        if (!(parsed >= min && parsed <= max)) {
            error(key, "out of range (" + value.text() + ", allowed " + min + ".." + max + ")", value);
            return fallback;
        }
        return parsed;
    }

    Boolean bool(String key, Boolean fallback) {
        Node value = scalar(key, false, "true or false");
        if (value == null) {
            return fallback;
        }
        String text = value.text().trim();
        if (!value.quoted() && (text.equals("true") || text.equals("false"))) {
            return Boolean.valueOf(text);
        }
        error(key, "expected true or false, found " + value.describe(), value);
        return fallback;
    }

    <E extends Enum<E>> E choice(String key, Class<E> type, boolean required, E fallback) {
        Node value = scalar(key, required, "one of " + choices(type));
        if (value == null) {
            return fallback;
        }
        String wanted = value.text().trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equals(wanted)) {
                return constant;
            }
        }
        error(key, "unknown value " + value.describe() + ", expected one of " + choices(type), value);
        return fallback;
    }

    static <E extends Enum<E>> List<String> choices(Class<E> type) {
        return Arrays.stream(type.getEnumConstants())
                .map(c -> c.name().toLowerCase(Locale.ROOT).replace('_', '-'))
                .toList();
    }

    /** A path as written; existence checks are the caller's, who knows what is expected there. */
    Path file(String key, boolean required) {
        String text = string(key, required);
        if (text == null) {
            return null;
        }
        try {
            return Path.of(text);
        } catch (RuntimeException e) {
            error(key, "not a valid path: '" + text + "'", node.fields().get(key));
            return null;
        }
    }

    /** A list of paths as written, each one absolute; an empty list when the key is absent. */
    List<Path> absolutePaths(String key) {
        Node value = value(key, false);
        if (value == null) {
            return List.of();
        }
        if (value.kind() != Node.Kind.LIST) {
            error(key, "expected a list of absolute paths, found " + value.describe(), value);
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < value.items().size(); i++) {
            Node item = value.items().get(i);
            String itemKey = key + "[" + i + "]";
            Path p = null;
            try {
                p = item.kind() == Node.Kind.SCALAR ? Path.of(item.text()) : null;
            } catch (RuntimeException e) {
                // Reported below as not a path.
            }
            if (p == null || !p.isAbsolute()) {
                error(itemKey, "expected an absolute path, found " + item.describe(), item);
            } else {
                out.add(p);
            }
        }
        return List.copyOf(out);
    }

    Section section(String key, boolean required) {
        Node value = value(key, required);
        if (value == null) {
            return null;
        }
        if (value.kind() != Node.Kind.MAP) {
            error(key, "expected a mapping, found " + value.describe(), value);
            return null;
        }
        return new Section(child(key), value, errors);
    }

    <T> List<T> list(String key, Function<Section, T> reader) {
        Node value = value(key, false);
        if (value == null) {
            return List.of();
        }
        if (value.kind() != Node.Kind.LIST) {
            error(key, "expected a list, found " + value.describe(), value);
            return List.of();
        }
        List<T> out = new ArrayList<>();
        for (int i = 0; i < value.items().size(); i++) {
            Node item = value.items().get(i);
            String itemPath = child(key) + "[" + i + "]";
            if (item.kind() != Node.Kind.MAP) {
                errors.add(itemPath + ": expected a mapping, found " + item.describe() + " (" + item.where() + ")");
                continue;
            }
            T read = reader.apply(new Section(itemPath, item, errors));
            if (read != null) {
                out.add(read);
            }
        }
        return out;
    }

    /** Reports the keys nobody asked for: a typo must not silently fall back to a default. */
    void finish() {
        node.fields().forEach((key, value) -> {
            if (!known.contains(key)) {
                error(key, "unknown key, expected one of " + known.stream().sorted().toList(), value);
            }
        });
    }

    int errorCount() {
        return errors.size();
    }
}
