package dev.plateau.store;

import java.nio.file.Path;

/**
 * A write refused or failed because the file system has no room: the message names the
 * directory, the bytes needed and the bytes usable, e.g. {@code no space left on /var/lib/x:
 * need 1048576 bytes, have 4096}. Nothing half-written is left behind.
 */
public final class DiskFullException extends StoreException {
    private static final long serialVersionUID = 1L;

    private final transient Path dir;
    private final long needed;
    private final long usable;

    DiskFullException(String what, Path dir, long needed, long usable, Throwable cause) {
        super((what.isEmpty() ? "" : what + ": ") + "no space left on " + dir + ": need "
                + (needed > 0 ? needed + " bytes" : "more") + ", have " + usable, cause);
        this.dir = dir;
        this.needed = needed;
        this.usable = usable;
    }

    /** The directory whose file system is full. */
    public Path dir() {
        return dir;
    }

    /** Bytes the write needed (an estimate when the write was refused up front; 0 when unknown). */
    public long needed() {
        return needed;
    }

    /** Bytes usable on the file system when the write was refused or failed. */
    public long usable() {
        return usable;
    }
}
