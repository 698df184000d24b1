package dev.plateau.fleet;

import java.time.Clock;

/**
 * A token bucket: holds at most {@code burst} tokens, gains {@code ratePerSecond} a second, and
 * each command takes one. Time comes from the injected clock. Not thread-safe: the link's thread
 * owns it.
 */
final class TokenBucket {
    private final double ratePerMilli;
    private final int burst;
    private final Clock clock;
    private double tokens;
    private long last;

    TokenBucket(double ratePerSecond, int burst, Clock clock) {
        if (!(ratePerSecond > 0) || burst < 1) {
            throw new IllegalArgumentException("token bucket: expected rate > 0 and burst >= 1, found rate="
                    + ratePerSecond + ", burst=" + burst);
        }
        this.ratePerMilli = ratePerSecond / 1000.0;
        this.burst = burst;
        this.clock = clock;
        this.tokens = burst;
        this.last = clock.millis();
    }

    /** Takes a token if there is one. */
    boolean tryTake() {
        long now = clock.millis();
        if (now > last) {
            tokens = Math.min(burst, tokens + (now - last) * ratePerMilli);
            last = now;
        }
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
