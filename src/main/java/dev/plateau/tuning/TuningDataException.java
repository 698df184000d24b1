package dev.plateau.tuning;

/** Fine-tuning data that cannot be trained on (bad labels, unreadable files, too few samples): no training starts. */
public final class TuningDataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TuningDataException(String message) {
        super(message);
    }

    public TuningDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
