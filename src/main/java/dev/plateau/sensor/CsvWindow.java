package dev.plateau.sensor;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a window as CSV: a header naming the channels, then one row per time step.
 *
 * <p>Values have {@value #DECIMALS} decimals, 0.1 mm/s². That is finer than one step of a 16-bit
 * ±2 g MEMS accelerometer (0.6 mm/s²) and far below the sensor noise, so the rounding loses nothing
 * the sensor could have told, and it keeps a window near 6 KB.
 */
final class CsvWindow {
    static final int DECIMALS = 4;
    private static final long SCALE = 10_000L;

    private CsvWindow() {}

    static void write(Path file, List<String> channels, double[][] window) throws IOException {
        StringBuilder text = new StringBuilder(32 + window[0].length * 24);
        text.append(String.join(",", channels)).append('\n');
        for (int i = 0; i < window[0].length; i++) {
            for (int c = 0; c < window.length; c++) {
                if (c > 0) {
                    text.append(',');
                }
                appendFixed(text, window[c][i]);
            }
            text.append('\n');
        }
        try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            writer.write(text.toString());
        }
    }

    /** Fixed-point text without the locale and speed costs of String.format. */
    static void appendFixed(StringBuilder text, double value) {
        if (!Double.isFinite(value) || Math.abs(value) > 1e12) {
            throw new IllegalStateException("sample: not writable (value " + value + ", allowed finite and below 1e12)");
        }
        long scaled = Math.round(value * SCALE);
        if (scaled < 0) {
            text.append('-');
            scaled = -scaled;
        }
        text.append(scaled / SCALE).append('.');
        String fraction = Long.toString(scaled % SCALE);
        for (int pad = fraction.length(); pad < DECIMALS; pad++) {
            text.append('0');
        }
        text.append(fraction);
    }
}
