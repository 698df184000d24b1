package dev.plateau.inference;

/** An input that cannot be inferred on; the daemon counts it and goes on. */
public final class InputRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why an input was turned away; counted per reason. */
    public enum Reason {
        UNREADABLE, UNSUPPORTED_FORMAT, WRONG_SIZE, WRONG_CHANNELS, NOT_FINITE, OUT_OF_RANGE,
        /** A symbolic link, FIFO, device, socket or directory where a regular file was expected. */
        NOT_A_FILE,
        /** Over the size limit, refused before it was read. */
        TOO_LARGE;

        /** The name logs, reports and events use, as the README lists them: {@code wrong-size}. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    private final Reason reason;

    public InputRejectedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public InputRejectedException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
