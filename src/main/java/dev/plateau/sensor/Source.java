package dev.plateau.sensor;

import java.util.Optional;

/** A running input source. {@link #close()} stops it; an input being handled is finished first. */
public interface Source extends AutoCloseable {

    String name();

    /** Starts delivering inputs on the scheduler the source was built with. */
    void start();

    /** A push source's queue figures; empty for sources that take inputs at their own pace (files, replay). */
    default Optional<QueueStats> queueStats() {
        return Optional.empty();
    }

    @Override
    void close();
}
