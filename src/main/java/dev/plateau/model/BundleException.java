package dev.plateau.model;

import java.nio.file.Path;

/** A model bundle that cannot be used as it is: says which bundle and what differs. */
public final class BundleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BundleException(Path bundle, String message) {
        super("model bundle " + bundle + ": " + message);
    }

    public BundleException(Path bundle, String message, Throwable cause) {
        super("model bundle " + bundle + ": " + message, cause);
    }
}
