package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
    final Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), new Random(7));

    @Test
    void delay_eachAttempt_withinHalfToFullOfDoubledBase() {
        for (int attempt = 0; attempt < 12; attempt++) {
            long full = Math.min(60_000, 1_000L << attempt);
            for (int i = 0; i < 200; i++) {
                long ms = backoff.delay(attempt).toMillis();
                assertTrue(ms >= full / 2 && ms <= full, "attempt " + attempt + ": " + ms + " ms outside ["
                        + full / 2 + ", " + full + "]");
            }
        }
    }

    @Test
    void delay_manyAttempts_cappedAtMax() {
        assertTrue(backoff.delay(10_000).toMillis() <= 60_000);
    }

    @Test
    void delay_sameSeed_sameSequence() {
        Backoff other = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), new Random(7));
        for (int attempt = 0; attempt < 8; attempt++) {
            assertEquals(backoff.delay(attempt), other.delay(attempt));
        }
    }

    @Test
    void delay_spreadsAFleet_notAllEqual() {
        long first = backoff.delay(3).toMillis();
        boolean differs = false;
        for (int i = 0; i < 20 && !differs; i++) {
            differs = backoff.delay(3).toMillis() != first;
        }
        assertTrue(differs, "jitter produced " + first + " ms 21 times");
    }

    @Test
    void new_maxBelowMin_rejectedWithValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Backoff(Duration.ofSeconds(5), Duration.ofSeconds(1), new Random()));
        assertEquals("backoff: expected 0 < min <= max, found min=PT5S, max=PT1S", e.getMessage());
    }
}
