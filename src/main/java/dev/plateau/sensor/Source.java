package dev.plateau.sensor;

/** A running input source. {@link #close()} stops it; an input being handled is finished first. */
public interface Source extends AutoCloseable {

    String name();

    /** Starts delivering inputs on the scheduler the source was built with. */
    void start();

    @Override
    void close();
}
