package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.LatencyHistogram;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Optional;

/**
 * The bounded queue between a push source (messages arrive when the sender likes) and the model
 * (which takes them as fast as it infers). When full, the configured {@link SourceConfig.Drop}
 * decides which message goes, and every message is accounted for: received = handled + dropped +
 * queued, at every instant. How long each handled message waited is recorded, so the latency of
 * what was accepted is measured, not guessed. Drops are summarised once per {@link #REPORT_PERIOD},
 * never one report per drop. Safe for one producer and one consumer thread.
 */
final class InputQueue {
    /** One summary of drops per minute: a sensor at twice the device's rate drops many a second. */
    static final Duration REPORT_PERIOD = Duration.ofSeconds(60);

    /** A message waiting, with when it arrived. */
    record Entry(byte[] payload, Instant arrived) {}

    private final String source;
    private final int capacity;
    private final SourceConfig.Drop policy;
    private final Clock clock;
    private final ArrayDeque<Entry> queue = new ArrayDeque<>();
    private final LatencyHistogram waited = new LatencyHistogram();
    private long received;
    private long handled;
    private long dropped;
    private long oversized;
    private int peak;
    private long waitedMaxMicros;
    private long droppedSinceReport;
    private Instant lastReport = Instant.MIN;

    /** @param clock monotonic time for waits and report periods */
    InputQueue(String source, int capacity, SourceConfig.Drop policy, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("queue: expected >= 1, found " + capacity);
        }
        this.source = source;
        this.capacity = capacity;
        this.policy = policy;
        this.clock = clock;
    }

    /** Queues {@code payload}; when full, drops the oldest or this one, as configured. False when this one was dropped. */
    synchronized boolean offer(byte[] payload) {
        Instant now = clock.instant();
        received++;
        if (queue.size() >= capacity) {
            dropped++;
            droppedSinceReport++;
            if (policy == SourceConfig.Drop.NEWEST) {
                return false;
            }
            queue.pollFirst();
        }
        queue.addLast(new Entry(payload, now));
        peak = Math.max(peak, queue.size());
        return true;
    }

    /** Counts a message refused before queueing (too large): received, never queued. */
    synchronized void refused() {
        received++;
        oversized++;
    }

    /** The next message to handle, or empty; it counts as handled from here on. */
    synchronized Optional<Entry> poll() {
        Entry e = queue.pollFirst();
        if (e == null) {
            return Optional.empty();
        }
        handled++;
        return Optional.of(e);
    }

    /** Records a handled message's wait, from its arrival to the end of its handling. */
    void finished(Entry e) {
        long micros = Math.max(0, Duration.between(e.arrived(), clock.instant()).toNanos() / 1000);
        waited.record(micros);
        synchronized (this) {
            waitedMaxMicros = Math.max(waitedMaxMicros, micros);
        }
    }

    /**
     * How many were dropped since the last report, when it is time to report them: the first
     * drops after a quiet period at once, then at most once per {@link #REPORT_PERIOD}; with
     * {@code now} (at stop) whatever is left. Zero when there is nothing to report yet.
     */
    synchronized long dropsToReport(boolean now) {
        Instant t = clock.instant();
        if (droppedSinceReport == 0 || (!now && t.isBefore(lastReport.plus(REPORT_PERIOD)))) {
            return 0;
        }
        long n = droppedSinceReport;
        droppedSinceReport = 0;
        lastReport = t;
        return n;
    }

    synchronized QueueStats stats() {
        return new QueueStats(source, received, oversized, dropped, handled, queue.size(), capacity, peak, policy,
                waited.percentile(0.99), waitedMaxMicros);
    }
}
