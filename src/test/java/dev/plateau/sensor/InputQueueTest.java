package dev.plateau.sensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.SourceConfig;
import dev.plateau.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The push sources' queue: its bound, both drop policies, every message accounted for, drops reported once a minute. */
class InputQueueTest {
    private final ManualClock clock = new ManualClock();

    private static byte[] message(int n) {
        return new byte[] {(byte) n};
    }

    private static List<Integer> drain(InputQueue q) {
        List<Integer> out = new ArrayList<>();
        q.poll().ifPresent(e -> {
            out.add((int) e.payload()[0]);
            out.addAll(drain(q));
        });
        return out;
    }

    @Test
    void offer_dropOldest_keepsTheNewestWithinTheBoundAndCountsEveryDrop() {
        InputQueue q = new InputQueue("gw", 4, SourceConfig.Drop.OLDEST, clock);
        for (int i = 0; i < 10; i++) {
            assertTrue(q.offer(message(i)), "the arriving message always gets in");
        }

        QueueStats s = q.stats();
        assertEquals(List.of(6, 7, 8, 9), drain(q));
        assertEquals(10, s.received());
        assertEquals(6, s.dropped());
        assertEquals(4, s.queued());
        assertEquals(4, s.peak());
    }

    @Test
    void offer_dropNewest_keepsTheOldestAndRefusesWhatArrives() {
        InputQueue q = new InputQueue("gw", 4, SourceConfig.Drop.NEWEST, clock);
        List<Boolean> taken = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            taken.add(q.offer(message(i)));
        }

        assertEquals(List.of(true, true, true, true, false, false, false, false, false, false), taken);
        assertEquals(List.of(0, 1, 2, 3), drain(q));
        assertEquals(6, q.stats().dropped());
    }

    @Test
    void stats_anyMixOfArrivalsHandlingAndRefusals_receivedIsOversizedPlusDroppedPlusHandledPlusQueued() {
        InputQueue q = new InputQueue("gw", 3, SourceConfig.Drop.OLDEST, clock);
        for (int i = 0; i < 1000; i++) {
            if (i % 7 == 0) {
                q.refused();
            } else {
                q.offer(message(i));
            }
            if (i % 3 == 0) {
                q.poll().ifPresent(q::finished);
            }
            QueueStats s = q.stats();
            assertEquals(s.received(), s.oversized() + s.dropped() + s.handled() + s.queued(), s.toString());
            assertTrue(s.queued() <= 3);
        }
    }

    @Test
    void finished_waitsRecordedFromArrivalToTheEndOfHandling() {
        InputQueue q = new InputQueue("gw", 3, SourceConfig.Drop.OLDEST, clock);
        q.offer(message(1));
        clock.advance(Duration.ofMillis(250));
        InputQueue.Entry e = q.poll().orElseThrow();
        clock.advance(Duration.ofMillis(50));

        q.finished(e);

        assertEquals(300_000, q.stats().waitedMaxMicros());
        assertTrue(q.stats().waitedP99Micros() >= 300_000, q.stats().toString());
    }

    @Test
    void dropsToReport_burst_firstAtOnceThenOneSummaryPerPeriodAndTheRestAtStop() {
        InputQueue q = new InputQueue("gw", 1, SourceConfig.Drop.OLDEST, clock);
        q.offer(message(0));
        assertEquals(0, q.dropsToReport(false), "nothing dropped, nothing to report");
        q.offer(message(1));
        assertEquals(1, q.dropsToReport(false), "the first drop at once");

        long reported = 0;
        for (int i = 0; i < 500; i++) { // 50 s of drops at 10 a second
            q.offer(message(i));
            clock.advance(Duration.ofMillis(100));
            reported += q.dropsToReport(false);
        }
        assertEquals(0, reported, "within the period: held back");
        clock.advance(Duration.ofSeconds(10));
        assertEquals(500, q.dropsToReport(false), "one summary once the period is over, with the count");
        q.offer(message(1));
        q.offer(message(2));
        assertEquals(0, q.dropsToReport(false));
        assertEquals(2, q.dropsToReport(true), "at stop: what is left");
        assertEquals(502 + 1, q.stats().dropped());
    }
}
