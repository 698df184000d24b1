package dev.plateau.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Versioned models in the state directory: {@code <state>/models/<name>/versions/<NNNN>/}. A
 * version is written into a temporary directory, every file and the directory fsynced, then
 * renamed into place and the parent fsynced, so a crash leaves either a complete version or a
 * temporary directory that is not a version. Version 0 is the shipped bundle and is not stored.
 */
public final class ModelStore {
    private static final String TMP_PREFIX = ".tmp-";

    private final Path root;

    public ModelStore(Path stateDir) {
        this.root = stateDir.resolve("models");
    }

    /** Fills a new directory and publishes it. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    public Path versionsDir(String model) {
        return root.resolve(model).resolve("versions");
    }

    /** Complete versions of {@code model}, ascending. */
    public List<Integer> versions(String model) {
        Path dir = versionsDir(model);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("\\d{4,}"))
                    .map(Integer::valueOf)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list versions of " + model + " in " + dir, e);
        }
    }

    public Optional<Integer> latest(String model) {
        List<Integer> versions = versions(model);
        return versions.isEmpty() ? Optional.empty() : Optional.of(versions.get(versions.size() - 1));
    }

    public Path versionDir(String model, int version) {
        return versionsDir(model).resolve(String.format("%04d", version));
    }

    /**
     * Writes {@code version} of {@code model} atomically.
     *
     * @throws IllegalStateException when the version exists already: versions are never overwritten
     */
    public synchronized Path write(String model, int version, Writer writer) {
        Path target = versionDir(model, version);
        if (Files.exists(target)) {
            throw new IllegalStateException("model " + model + " version " + version + " exists already at " + target);
        }
        Path parent = versionsDir(model);
        Path tmp = parent.resolve(TMP_PREFIX + String.format("%04d", version));
        try {
            Files.createDirectories(parent);
            deleteTree(tmp);
            Files.createDirectory(tmp);
            writer.write(tmp);
            try (Stream<Path> files = Files.list(tmp)) {
                for (Path file : files.toList()) {
                    if (Files.isRegularFile(file)) {
                        fsync(file);
                    }
                }
            }
            fsync(tmp);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            fsync(parent);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write model " + model + " version " + version + " to " + target, e);
        }
    }

    static void fsync(Path path) throws IOException {
        // Directories are opened read-only; fsync on them makes a rename inside them durable.
        try (FileChannel channel = FileChannel.open(path, Files.isDirectory(path)
                ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }
}
