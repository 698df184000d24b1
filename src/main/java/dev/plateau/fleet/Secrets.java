package dev.plateau.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Passwords live in files of their own (mode 0600, outside the configuration); a trailing newline is not part of one. */
public final class Secrets {
    private Secrets() {}

    /** @throws FleetException naming {@code key} and the file when it cannot be read */
    public static String read(String key, Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new FleetException(key + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
