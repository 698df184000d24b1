package dev.plateau.model;

/**
 * An ONNX graph that cannot be read or rewritten as asked: says which node, tensor or
 * initializer, what was found and what is supported.
 */
public final class GraphException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GraphException(String message) {
        super(message);
    }

    public GraphException(String message, Throwable cause) {
        super(message, cause);
    }
}
