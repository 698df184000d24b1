package dev.plateau.fleet;

import java.time.Duration;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Connects, and connects again after every loss, retrying failed attempts with {@link Backoff}.
 * Paho's automatic reconnect is not used: it resends what was in flight on the lost connection,
 * and Paho 1.2.5 resends a message it had sent under a topic alias without its topic, which no
 * alias of the new connection names (the broker drops the connection as a protocol error, again
 * at every reconnect). Runs on our executor; the scheduler is injected so tests record the
 * delays instead of waiting.
 */
final class ConnectLoop {
    /** One connect attempt; it reports its outcome exactly once through the callback. */
    interface Attempt {
        void run(Consumer<Throwable> failedOrNull);
    }

    interface Scheduler {
        void schedule(Runnable task, Duration delay);
    }

    private final Attempt attempt;
    private final Scheduler scheduler;
    private final Backoff backoff;
    private final String broker;
    private int failures;
    private volatile boolean stopped;
    private volatile boolean connected;

    ConnectLoop(Attempt attempt, Scheduler scheduler, Backoff backoff, String broker) {
        this.attempt = attempt;
        this.scheduler = scheduler;
        this.backoff = backoff;
        this.broker = broker;
    }

    void start() {
        scheduler.schedule(this::tryOnce, Duration.ZERO);
    }

    void stop() {
        stopped = true;
    }

    /** The connection was lost: the next attempt after the first backoff delay, then backoff as at start. */
    void lost() {
        if (stopped) {
            return;
        }
        connected = false;
        failures = 0;
        scheduler.schedule(this::tryOnce, backoff.delay(0));
    }

    boolean connected() {
        return connected;
    }

    int failures() {
        return failures;
    }

    private void tryOnce() {
        if (stopped) {
            return;
        }
        attempt.run(failure -> {
            if (failure == null) {
                connected = true;
                if (failures > 0) {
                    Logger.info("fleet: connected to {} after {} failed attempt(s)", broker, failures);
                }
                failures = 0;
            } else if (!stopped) {
                Duration wait = backoff.delay(failures++);
                Logger.warn("fleet: cannot connect to {} (attempt {}: {}); next try in {} ms", broker, failures,
                        describe(failure), wait.toMillis());
                scheduler.schedule(this::tryOnce, wait);
            }
        });
    }

    /**
     * Paho wraps TLS and socket failures as "Untranslated MqttException"; the cause says what
     * went wrong (a certificate not trusted, a name not matching, a refused connection).
     */
    static String describe(Throwable failure) {
        StringBuilder b = new StringBuilder(String.valueOf(failure.getMessage()));
        for (Throwable c = failure.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            b.append(": ").append(c.getClass().getSimpleName()).append(' ').append(c.getMessage());
        }
        return b.toString();
    }
}
