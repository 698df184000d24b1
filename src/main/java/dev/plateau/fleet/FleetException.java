package dev.plateau.fleet;

/** A broker or outbox operation failed; the message names the topic, file or step. */
public final class FleetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FleetException(String message, Throwable cause) {
        super(message, cause);
    }

    public FleetException(String message) {
        super(message);
    }
}
