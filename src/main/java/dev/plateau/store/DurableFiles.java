package dev.plateau.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/** Small files that must survive a power cut whole: either the old content or the new, never half. */
public final class DurableFiles {
    /** Temporary names start with it; whoever owns the directory may remove strays of a crash. */
    static final String TMP_PREFIX = ".tmp-";

    private DurableFiles() {}

    /** Write-temp, fsync, rename over, fsync the directory. */
    public static void replace(Path file, String content) {
        replace(file, content.getBytes(StandardCharsets.UTF_8));
    }

    /** As {@link #replace(Path, String)}; a failed write leaves no temporary file behind. */
    public static void replace(Path file, byte[] content) {
        Path tmp = file.resolveSibling(TMP_PREFIX + file.getFileName());
        try {
            Files.createDirectories(file.getParent());
            Files.write(tmp, content);
            fsync(tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            fsync(file.getParent());
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("cannot replace " + file, e);
        }
    }

    static void fsync(Path path) throws IOException {
        // Directories are opened read-only; fsync on them makes a rename inside them durable.
        try (FileChannel channel = FileChannel.open(path, Files.isDirectory(path)
                ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /** Removes {@code dir} and everything in it, deepest first; a missing {@code dir} is no error. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList()) {
                Files.delete(p);
            }
        }
    }
}
