package dev.plateau.fleet;

import java.util.Map;

/**
 * One command name, implemented by the daemon. {@link #prepare} runs on the fleet link's thread
 * and must be quick and change nothing: it checks the arguments and returns the work, which then
 * runs on the command thread (commands run one at a time, in arrival order).
 */
@FunctionalInterface
public interface CommandHandler {

    /** The work of an accepted command; its map becomes the {@code result} of the {@code succeeded} reply. */
    @FunctionalInterface
    interface Work {
        Map<String, ?> run() throws Exception;
    }

    /**
     * @throws CommandRejectedException with a reason naming the argument, the value seen and
     *         what is allowed, e.g. {@code "epochs: expected 1..50, found 500"}
     */
    Work prepare(Command command) throws CommandRejectedException;
}
