package dev.plateau.fleet;

/** The client's in-flight window is full: nothing was sent, and trying again soon will do. */
final class LinkBusyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    LinkBusyException(String message, Throwable cause) {
        super(message, cause);
    }
}
