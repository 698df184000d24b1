package dev.plateau.inference;

import java.nio.file.Path;

/**
 * Input names as they may appear in a log line, a reason file, {@code STATUS=} or an event: every
 * character that could end a line, move the cursor, colour a terminal or reorder text is written
 * as a visible escape, so a file named {@code "a\nERROR forged"} cannot forge a log line.
 */
public final class InputNames {
    private InputNames() {}

    /** The escaped file name of {@code file} (its last element only). */
    public static String of(Path file) {
        Path name = file.getFileName();
        return escape(name == null ? file.toString() : name.toString());
    }

    /** The escaped full path of {@code file}. */
    public static String path(Path file) {
        return escape(file.toString());
    }

    /**
     * {@code \\} for a backslash (so the escaping reads back unambiguously), {@code \n}, {@code \r},
     * {@code \t}, {@code \xNN} for the other C0 and C1 controls and DEL, {@code \\uNNNN} for line
     * and paragraph separators, bidirectional controls and other format characters.
     */
    public static String escape(String text) {
        int i = 0;
        while (i < text.length() && plain(text.charAt(i))) {
            i++;
        }
        if (i == text.length()) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 16).append(text, 0, i);
        for (; i < text.length(); i++) {
            char c = text.charAt(i);
            if (plain(c)) {
                out.append(c);
            } else if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c < 0x100) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        return out.toString();
    }

    private static boolean plain(char c) {
        if (c == '\\') {
            return false;
        }
        if (c >= 0x20 && c < 0x7f) {
            return true;
        }
        if (c < 0xa0) {
            return false; // C0, DEL, C1 (which includes the 8-bit CSI)
        }
        int type = Character.getType(c);
        return type != Character.FORMAT && type != Character.LINE_SEPARATOR && type != Character.PARAGRAPH_SEPARATOR
                && type != Character.CONTROL && type != Character.SURROGATE && type != Character.PRIVATE_USE
                && type != Character.UNASSIGNED;
    }
}
