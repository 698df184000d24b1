package dev.plateau.fleet;

import java.time.Duration;
import java.util.Random;

/**
 * Exponential backoff with jitter: attempt {@code n} waits a uniform time in {@code [d/2, d]}
 * with {@code d = min(max, min * 2^n)}. The jitter keeps a fleet that lost its broker from
 * reconnecting in lock-step.
 */
final class Backoff {
    private final Duration min;
    private final Duration max;
    private final Random random;

    Backoff(Duration min, Duration max, Random random) {
        if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("backoff: expected 0 < min <= max, found min=" + min + ", max=" + max);
        }
        this.min = min;
        this.max = max;
        this.random = random;
    }

    Duration delay(int attempt) {
        if (attempt < 0) {
            throw new IllegalArgumentException("attempt: expected >= 0, found " + attempt);
        }
        long cap = max.toMillis();
        long d = min.toMillis();
        for (int i = 0; i < attempt && d < cap; i++) {
            d *= 2;
        }
        d = Math.min(d, cap);
        long half = d / 2;
        return Duration.ofMillis(half + (long) (random.nextDouble() * (d - half + 1)));
    }
}
