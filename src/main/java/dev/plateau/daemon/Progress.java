package dev.plateau.daemon;

import dev.plateau.inference.InputNames;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * Whether one source is still moving. Each scheduled run of the source (a replay tick, an inbox
 * poll, idle or not) and each input it hands to its model marks progress; the watchdog asks for a
 * reason to stop pinging. The clock must be monotonic: a wall clock jumping at NTP sync on a device
 * without an RTC would look like a hang, or hide one.
 */
final class Progress {
    private final String source;
    private final long periodMillis;
    private final Clock clock;
    private volatile long lastMillis;
    private volatile Busy busy;

    private record Busy(String input, long sinceMillis) {}

    /** @param period how often the source is scheduled to run */
    Progress(String source, Duration period, Clock clock) {
        this.source = source;
        this.periodMillis = period.toMillis();
        this.clock = clock;
        this.lastMillis = clock.millis();
    }

    String source() {
        return source;
    }

    /** A scheduled run of the source starts or ends. */
    void ran() {
        lastMillis = clock.millis();
    }

    /** The source hands {@code input} to its model. */
    void handling(Path input) {
        long now = clock.millis();
        busy = new Busy(InputNames.of(input), now);
        lastMillis = now;
    }

    /** The input is handled, whatever the outcome. */
    void handled() {
        busy = null;
        lastMillis = clock.millis();
    }

    /**
     * Why the source looks hung, or empty: one input in handling for longer than {@code limit}, or
     * nothing at all for its period plus {@code limit} (a run that never ends, a run that was never
     * scheduled again).
     */
    Optional<String> stall(Duration limit) {
        long now = clock.millis();
        long limitMillis = limit.toMillis();
        Busy current = busy;
        if (current != null && now - current.sinceMillis() > limitMillis) {
            return Optional.of("source " + source + ": input " + current.input() + " in handling for "
                    + (now - current.sinceMillis()) + " ms (limit " + limitMillis + " ms)");
        }
        long quiet = now - lastMillis;
        if (quiet > periodMillis + limitMillis) {
            return Optional.of("source " + source + ": no progress for " + quiet + " ms (runs every "
                    + periodMillis + " ms, limit " + (periodMillis + limitMillis) + " ms)");
        }
        return Optional.empty();
    }
}
