package dev.plateau.fleet;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Sends command replies so that none is lost to a burst: replies wait in a queue and at most
 * {@link #WINDOW} are in flight at once (the broker's receive maximum bounds what the client may
 * have unacknowledged, HiveMQ's default is 10, and health and events need room too). A reply the
 * client refuses because its window is full waits for the next acknowledgement; one that fails
 * otherwise is retried with backoff; without a connection replies wait for the next one. A reply
 * given up on (too old, too many attempts, queue full) is logged with its cause.
 *
 * <p>Runs on the link's thread only.
 */
final class ReplySender {
    /** Our share of the client's in-flight window. */
    static final int WINDOW = 8;
    /** Replies waiting beyond this many: the oldest is given up (the fleet can ask again under its cmdId). */
    static final int MAX_QUEUED = 20_000;
    static final int MAX_ATTEMPTS = 6;
    /** A reply nobody could be sent for this long has no one waiting for it any more. */
    static final Duration MAX_AGE = Duration.ofMinutes(10);
    /** Wait before trying again when the window is full with nothing of ours in flight. */
    private static final Duration BUSY_RETRY = Duration.ofMillis(20);

    private record Pending(String topic, byte[] payload, Optional<byte[]> correlationData, String what,
                           Instant queued, int attempts) {
        Pending again() {
            return new Pending(topic, payload, correlationData, what, queued, attempts + 1);
        }
    }

    private final FleetLink link;
    private final ScheduledExecutorService executor;
    private final Backoff backoff;
    private final Clock clock;
    private final Deque<Pending> queue = new ArrayDeque<>();
    private int inFlight;
    private boolean draining;
    private boolean busyRetryScheduled;
    /** The client refused for a full window: wait for an acknowledgement (or the busy retry), do not spin. */
    private boolean windowFull;

    ReplySender(FleetLink link, ScheduledExecutorService executor, Backoff backoff, Clock clock) {
        this.link = link;
        this.executor = executor;
        this.backoff = backoff;
        this.clock = clock;
    }

    /** @param what how logs name the reply, e.g. {@code "rejected ping p-1"} */
    void send(String topic, byte[] payload, Optional<byte[]> correlationData, String what) {
        if (queue.size() >= MAX_QUEUED) {
            Pending dropped = queue.pollFirst();
            Logger.warn("fleet: reply {} to {} given up: {} replies waiting, the most this device keeps",
                    dropped.what(), dropped.topic(), MAX_QUEUED);
        }
        queue.addLast(new Pending(topic, payload, correlationData, what, clock.instant(), 0));
        drain();
    }

    /** Replies not yet acknowledged by the broker. */
    int pending() {
        return queue.size() + inFlight;
    }

    /** Sends what waits, as far as the window allows; also called after every (re)connect. */
    void drain() {
        if (draining) {
            return;
        }
        draining = true;
        try {
            while (inFlight < WINDOW && !windowFull && !queue.isEmpty() && link.isConnected()) {
                Pending p = queue.pollFirst();
                if (Duration.between(p.queued(), clock.instant()).compareTo(MAX_AGE) > 0) {
                    Logger.warn("fleet: reply {} to {} given up: not sent within {} min", p.what(), p.topic(),
                            MAX_AGE.toMinutes());
                    continue;
                }
                inFlight++;
                link.reply(p.topic(), p.payload(), p.correlationData()).whenComplete((ok, failure) -> {
                    inFlight--;
                    if (failure == null) {
                        windowFull = false;
                    } else {
                        failed(p, failure);
                    }
                    drain();
                });
            }
        } finally {
            draining = false;
        }
    }

    private void failed(Pending p, Throwable failure) {
        if (failure instanceof LinkBusyException) {
            windowFull = true;
            queue.addFirst(p);
            if (inFlight == 0 && !busyRetryScheduled) {
                // Nothing of ours will be acknowledged to wake us: others fill the window.
                busyRetryScheduled = true;
                executor.schedule(() -> {
                    busyRetryScheduled = false;
                    windowFull = false;
                    drain();
                }, BUSY_RETRY.toMillis(), TimeUnit.MILLISECONDS);
            }
            return;
        }
        if (!link.isConnected()) {
            // Sent again after the reconnect.
            queue.addFirst(p);
            return;
        }
        Pending next = p.again();
        if (next.attempts() >= MAX_ATTEMPTS) {
            Logger.warn("fleet: reply {} to {} not sent after {} attempts: {}", p.what(), p.topic(), next.attempts(),
                    ConnectLoop.describe(failure));
            return;
        }
        Duration wait = backoff.delay(next.attempts() - 1);
        Logger.info("fleet: reply {} to {} not sent ({}); retry {} in {} ms", p.what(), p.topic(),
                ConnectLoop.describe(failure), next.attempts(), wait.toMillis());
        executor.schedule(() -> {
            queue.addFirst(next);
            drain();
        }, wait.toMillis(), TimeUnit.MILLISECONDS);
    }
}
