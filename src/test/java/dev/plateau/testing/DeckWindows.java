package dev.plateau.testing;

import dev.plateau.sensor.VibrationDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Windows of one simulated bridge deck for daemon tests of the deck-level alarm, and a device
 * configuration watching an inbox for them with the shipped bridge model. The deck is site 0
 * of the held-out site seed 13: a main-simulator deck the shipped model works on.
 */
public final class DeckWindows {
    public static final long SITE_SEED = 13;

    private DeckWindows() {}

    /**
     * Writes {@code windows} windows of the deck under {@code staging/prefix}, all healthy or all
     * damaged, named {@code prefix-NNNNN.csv}; returns them in name order.
     */
    public static List<Path> stage(Path staging, String prefix, int windows, long seed, boolean damaged)
            throws IOException {
        Path out = staging.resolve(prefix);
        VibrationDataset.write(out, new VibrationDataset.Spec(windows, seed, SITE_SEED, 1, damaged ? 1.0 : 0.0, -10, 35));
        List<Path> files = new ArrayList<>();
        try (Stream<Path> listed = Files.list(out.resolve(damaged ? VibrationDataset.DAMAGED : VibrationDataset.HEALTHY))) {
            for (Path f : listed.sorted().toList()) {
                files.add(Files.move(f, out.resolve(prefix + "-" + f.getFileName())));
            }
        }
        return files;
    }

    /**
     * Moves {@code files} into {@code inbox} in their order, each whole (a rename), with
     * modification times one second apart from {@code first} on: the order an inbox source takes them in.
     */
    public static Instant feed(Path inbox, List<Path> files, Instant first) throws IOException {
        Files.createDirectories(inbox);
        Instant t = first;
        for (Path f : files) {
            Files.setLastModifiedTime(f, FileTime.from(t));
            Files.move(f, inbox.resolve(f.getFileName()), StandardCopyOption.ATOMIC_MOVE);
            t = t.plusSeconds(1);
        }
        return t;
    }

    /** Files of {@code dir} (not following links, hidden ones aside), or none when it does not exist. */
    public static List<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    /**
     * A device {@code node} with the shipped bridge model and an inbox source {@code deck} under
     * {@code tmp} whose {@code alarm} block is {@code alarm}; {@code extra} is appended (an mqtt section).
     */
    public static Path config(Path tmp, String node, String alarm, String extra) throws IOException {
        Path config = tmp.resolve("device.yaml");
        Files.writeString(config, """
                device: {group: test, node: %s}
                state_dir: %s
                inference: {threads: 1}
                models:
                  - {name: bridge, bundle: %s}
                sources:
                  - {name: deck, type: directory, model: bridge, path: %s, poll_ms: 20, settle_ms: 0,
                     alarm: %s}
                """.formatted(node, tmp.resolve("state"), Path.of("models/bridge-vibration").toAbsolutePath(), tmp.resolve("inbox"),
                alarm) + extra);
        return config;
    }
}
