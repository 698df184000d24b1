package dev.plateau.fleet;

/** A command is refused before anything ran; the message is the reason the fleet reads. */
public final class CommandRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    public CommandRejectedException(String reason) {
        super(reason);
    }
}
