package dev.plateau.store;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The state directory's file system: whether we may write to it at all, and whether a write
 * fits. One place turns the operating system's "read-only file system", "permission denied" and
 * "no space left on device" into {@link StateDirectoryException} and {@link DiskFullException}.
 */
public final class Disk {
    // errno texts as the JDK reports them (strerror): EROFS, ENOSPC, EDQUOT.
    private static final String READ_ONLY = "Read-only file system";
    private static final String NO_SPACE = "No space left on device";
    private static final String QUOTA = "Disk quota exceeded";

    private Disk() {}

    /**
     * The empty file {@link #requireWritable} creates and removes at once; a kill in between can
     * leave it, which is no interrupted write of the store (and {@code open} removes it with those).
     */
    static final String PROBE_PREFIX = DurableFiles.TMP_PREFIX + "probe-";

    /**
     * Makes sure {@code dir} is a directory this process can create files in, creating it (and
     * its parents) when missing. A full disk is not refused here: the daemon keeps inferring on a
     * full disk, and each write says so when it happens.
     *
     * @throws StateDirectoryException naming the directory and what is wrong with it
     */
    public static void requireWritable(Path dir) {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir)) {
            throw new StateDirectoryException(dir, "not a directory", null);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw unusable(dir, "cannot be created", e);
        }
        Path probe = dir.resolve(PROBE_PREFIX + ProcessHandle.current().pid());
        try {
            Files.deleteIfExists(probe);
            Files.createFile(probe);
        } catch (IOException e) {
            if (isNoSpace(e)) {
                return; // not even an inode left: full, which later writes report as such
            }
            throw unusable(dir, "cannot be written", e);
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // Could create it but not remove it: the probe itself is all that is left.
            }
        }
    }

    /**
     * Refuses a write of about {@code bytes} into {@code dir} before it starts when the file
     * system has less room than that.
     *
     * @param what what is being written, for the message (e.g. "model m version 3")
     */
    static void requireSpace(String what, Path dir, long bytes) {
        long usable = usable(dir);
        if (usable >= 0 && usable < bytes) {
            throw new DiskFullException(what, dir, bytes, usable, null);
        }
    }

    /** The store's translation of a failed write: disk full, unwritable directory, or empty when it is neither. */
    static Optional<StoreException> translate(String what, Path dir, long needed, IOException e) {
        if (isNoSpace(e)) {
            return Optional.of(new DiskFullException(what, dir, needed, Math.max(0, usable(dir)), e));
        }
        String reason = reason(e);
        if (e instanceof AccessDeniedException || READ_ONLY.equals(reason)) {
            return Optional.of(unusable(dir, (what.isEmpty() ? "" : what + ": ") + "cannot be written", e));
        }
        return Optional.empty();
    }

    /**
     * {@code e} as a {@link DiskFullException} when the file system said it has no room (or the
     * quota is used up), naming {@code dir}, the bytes needed and the bytes usable now; empty for
     * any other failure.
     *
     * @param what what was being written, for the message (e.g. "outbox: event e-1")
     */
    public static Optional<DiskFullException> noSpace(String what, Path dir, long needed, Throwable e) {
        return isNoSpace(e) ? Optional.of(new DiskFullException(what, dir, needed, Math.max(0, usable(dir)), e))
                : Optional.empty();
    }

    /** Bytes usable by this process on {@code dir}'s file system (of its nearest existing ancestor), -1 when unknown. */
    static long usable(Path dir) {
        Path p = dir.toAbsolutePath();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        try {
            return p == null ? -1 : Files.getFileStore(p).getUsableSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The bytes of every regular file under {@code dir} (0 when it does not exist). */
    static long size(Path dir) {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (var walk = Files.walk(dir)) {
            return walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0;
        }
    }

    static boolean isNoSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t instanceof FileSystemException f ? f.getReason() : t.getMessage();
            if (m != null && (m.contains(NO_SPACE) || m.contains(QUOTA))) {
                return true;
            }
        }
        return false;
    }

    private static StateDirectoryException unusable(Path dir, String what, IOException e) {
        String reason = reason(e);
        String problem;
        if (READ_ONLY.equals(reason)) {
            problem = what + ": read-only file system";
        } else if (e instanceof AccessDeniedException) {
            problem = what + ": permission denied for user " + System.getProperty("user.name")
                    + (((FileSystemException) e).getFile() != null ? " (on " + ((FileSystemException) e).getFile() + ")" : "");
        } else {
            problem = what + ": " + (reason != null ? reason : e.toString());
        }
        return new StateDirectoryException(dir, problem, e);
    }

    private static String reason(IOException e) {
        return e instanceof FileSystemException f ? f.getReason() : e.getMessage();
    }
}
