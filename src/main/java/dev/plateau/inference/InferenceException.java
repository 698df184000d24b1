package dev.plateau.inference;

/** ONNX Runtime failed on a model; carries the model and the step that failed. */
public final class InferenceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InferenceException(String message, Throwable cause) {
        super(message, cause);
    }
}
