package dev.plateau.tuning;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock tests move by hand, and that optionally advances by {@code tick} on every read. */
final class FakeClock extends Clock {
    private Instant now = Instant.parse("2025-01-01T00:00:00Z");
    private final Duration tick;

    FakeClock() {
        this(Duration.ZERO);
    }

    FakeClock(Duration tick) {
        this.tick = tick;
    }

    void advance(Duration d) {
        now = now.plus(d);
    }

    @Override
    public Instant instant() {
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
        throw new UnsupportedOperationException("a fake clock has one zone");
    }
}
