package dev.plateau.daemon;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock that only moves forward at the rate of {@link System#nanoTime()}, for measuring
 * intervals: its instants start at the wall time of creation and ignore later wall clock changes
 * (NTP sync on a device without an RTC can jump years). Not for timestamps.
 */
final class MonotonicClock extends Clock {
    private final long originMillis = System.currentTimeMillis();
    private final long originNanos = System.nanoTime();

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a monotonic clock measures intervals, it has no zone: " + zone);
    }

    @Override
    public long millis() {
        return originMillis + (System.nanoTime() - originNanos) / 1_000_000;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }
}
