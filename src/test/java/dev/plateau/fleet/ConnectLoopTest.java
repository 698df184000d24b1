package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The connect and reconnect loop, with a scheduler that records delays and runs tasks when told. */
class ConnectLoopTest {
    final List<Duration> delays = new ArrayList<>();
    final Deque<Runnable> due = new ArrayDeque<>();
    int attempts;
    int failFirst;

    final ConnectLoop loop = new ConnectLoop(
            outcome -> outcome.accept(++attempts <= failFirst ? new IOException("refused") : null),
            (task, delay) -> {
                delays.add(delay);
                due.add(task);
            },
            new Backoff(Duration.ofMillis(100), Duration.ofMillis(1_000), new Random(1)), "tcp://test");

    void runDue() {
        while (!due.isEmpty()) {
            due.poll().run();
        }
    }

    @Test
    void start_brokerUp_connectsAtFirstAttempt() {
        loop.start();
        runDue();

        assertTrue(loop.connected());
        assertEquals(1, attempts);
        assertEquals(List.of(Duration.ZERO), delays);
    }

    @Test
    void start_failsFiveTimes_retriesWithGrowingCappedDelaysThenConnects() {
        failFirst = 5;

        loop.start();
        runDue();

        assertTrue(loop.connected());
        assertEquals(6, attempts);
        assertEquals(6, delays.size());
        long[] full = {100, 200, 400, 800, 1_000};
        for (int i = 0; i < full.length; i++) {
            long ms = delays.get(i + 1).toMillis();
            assertTrue(ms >= full[i] / 2 && ms <= full[i], "retry " + i + ": " + ms + " ms");
        }
    }

    @Test
    void stop_whileRetrying_noFurtherAttempt() {
        failFirst = Integer.MAX_VALUE;
        loop.start();
        due.poll().run();
        assertEquals(1, attempts);

        loop.stop();
        runDue();

        assertEquals(1, attempts);
        assertFalse(loop.connected());
    }

    @Test
    void lost_afterConnecting_reconnectsAfterTheFirstBackoffDelayThenBacksOffAgain() {
        loop.start();
        runDue();
        delays.clear();
        failFirst = attempts + 2;

        loop.lost();
        assertFalse(loop.connected());
        runDue();

        assertTrue(loop.connected());
        assertEquals(3, delays.size(), "the reconnect and two retries: " + delays);
        assertTrue(delays.get(0).toMillis() >= 50 && delays.get(0).toMillis() <= 100, delays.toString());
        assertTrue(delays.get(2).toMillis() >= 100 && delays.get(2).toMillis() <= 200, delays.toString());
        assertEquals(0, loop.failures(), "a connection resets the count");
    }

    @Test
    void lost_afterStop_noAttempt() {
        loop.start();
        runDue();
        loop.stop();

        loop.lost();

        assertTrue(due.isEmpty());
    }
}
