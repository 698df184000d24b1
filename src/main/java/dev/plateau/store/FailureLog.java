package dev.plateau.store;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Warnings for failures that repeat with one cause, a full disk failing every write above all:
 * one line per cause per interval, saying how many like it were held back since, instead of one
 * per failure. The one place this rule lives: the sample store, the outbox and fine-tunes use it.
 */
public final class FailureLog {
    /** One warning per cause per minute: a device inferring at 20 Hz on a full disk logs 1 line, not 1,200. */
    public static final Duration INTERVAL = Duration.ofSeconds(60);

    /** A cause's state: when it was last logged and how many were held back since. */
    private static final class Cause {
        Instant logged;
        long held;
    }

    private final Clock clock;
    private final Duration interval;
    private final Consumer<String> sink;
    private final Map<String, Cause> causes = new ConcurrentHashMap<>();

    /** @param clock monotonic time for the intervals */
    public FailureLog(Clock clock, Duration interval) {
        this(clock, interval, line -> Logger.warn(line));
    }

    /** @param sink where the lines go (tests record them) */
    public FailureLog(Clock clock, Duration interval, Consumer<String> sink) {
        this.clock = clock;
        this.interval = interval;
        this.sink = sink;
    }

    /**
     * Logs {@code message} unless {@code cause} was logged within the interval, in which case it
     * is only counted; the next line for the cause says how many were held back.
     *
     * @return whether a line was written
     */
    public boolean warn(String cause, String message) {
        Instant now = clock.instant();
        Cause c = causes.computeIfAbsent(cause, k -> new Cause());
        long held;
        synchronized (c) {
            if (c.logged != null && now.isBefore(c.logged.plus(interval))) {
                c.held++;
                return false;
            }
            held = c.held;
            c.logged = now;
            c.held = 0;
        }
        sink.accept(message + (held == 0 ? "" : " (" + held + " more like it not logged in the last "
                + interval.toSeconds() + " s)"));
        return true;
    }

    /** The cause is over (the write worked again): its next failure is logged at once. */
    public void clear(String cause) {
        causes.remove(cause);
    }
}
