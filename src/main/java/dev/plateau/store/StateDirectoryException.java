package dev.plateau.store;

import java.nio.file.Path;

/**
 * A state directory (or one of its parts) that cannot be used: missing and not creatable,
 * read-only, not writable by this user, or not a directory. A configuration problem, not a
 * bug: restarting will not help until someone fixes the directory or the configuration.
 */
public final class StateDirectoryException extends StoreException {
    private static final long serialVersionUID = 1L;

    private final transient Path dir;

    StateDirectoryException(Path dir, String problem, Throwable cause) {
        super("state directory " + dir + ": " + problem, cause);
        this.dir = dir;
    }

    /** The directory that cannot be used. */
    public Path dir() {
        return dir;
    }
}
