package dev.plateau.store;

/** A bundle from outside was refused (unsigned, untrusted, tampered, downgrade, unsafe path); nothing changed. */
public final class ImportRefusedException extends StoreException {
    private static final long serialVersionUID = 1L;

    private final String reason;

    public ImportRefusedException(String source, String reason) {
        super("import of " + source + " refused: " + reason);
        this.reason = reason;
    }

    /** The reason alone, as journaled. */
    public String reason() {
        return reason;
    }
}
