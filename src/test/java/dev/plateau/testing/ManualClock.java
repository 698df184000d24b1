package dev.plateau.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock tests move by hand instead of sleeping; optionally it also advances by {@code tick}
 * on every read (a run that takes time per step). Safe to read from other threads.
 */
public final class ManualClock extends Clock {
    private final Duration tick;
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    public ManualClock() {
        this(Duration.ZERO);
    }

    public ManualClock(Duration tick) {
        this.tick = tick;
    }

    public synchronized void advance(Duration d) {
        now = now.plus(d);
    }

    @Override
    public synchronized Instant instant() {
        Instant t = now;
        now = now.plus(tick);
        return t;
    }

    @Override
    public long millis() {
        return instant().toEpochMilli();
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a manual clock has one zone, not " + zone);
    }
}
