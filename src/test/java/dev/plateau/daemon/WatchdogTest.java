package dev.plateau.daemon;

import dev.plateau.testing.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The watchdog's verdicts, on a clock the test moves: no sleeping. */
class WatchdogTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private final ManualClock clock = new ManualClock();
    private final RecordingTransport sent = new RecordingTransport();
    private final SystemdNotifier notifier = new SystemdNotifier(sent, Optional.of(Duration.ofSeconds(30)));
    private final Progress camera = new Progress("camera", Duration.ofMillis(500), clock);
    private final Progress inbox = new Progress("inbox", Duration.ofSeconds(1), clock);
    private final Watchdog watchdog = new Watchdog(notifier, List.of(camera, inbox), LIMIT, () -> "running: ok");

    /** Both sources run every second for {@code seconds}, the watchdog checking every 15 s. */
    private void runFor(int seconds) {
        for (int s = 1; s <= seconds; s++) {
            clock.advance(Duration.ofSeconds(1));
            camera.ran();
            inbox.ran();
            if (s % 15 == 0) {
                watchdog.check();
            }
        }
    }

    @Test
    void check_idleSourcesThatKeepRunning_ping() {
        runFor(120);
        assertEquals(8, sent.count("WATCHDOG=1\n"));
        assertEquals("WATCHDOG=1\nSTATUS=running: ok", sent.last());
    }

    @Test
    void check_sourceSilentPastPeriodPlusLimit_stopsPingingAndSaysWhy() {
        runFor(15);
        clock.advance(Duration.ofMillis(61_400));
        camera.ran();
        watchdog.check();
        assertEquals(1, sent.count("WATCHDOG=1"));
        assertTrue(sent.last().startsWith("STATUS=stalled: source inbox: no progress for 61400 ms"), sent.last());
    }

    @Test
    void check_sourceSilentWithinPeriodPlusLimit_pings() {
        runFor(15);
        clock.advance(Duration.ofMillis(61_000));
        camera.ran();
        watchdog.check();
        assertEquals(2, sent.count("WATCHDOG=1"));
    }

    @Test
    void check_inputInHandlingPastLimit_stopsPinging() {
        runFor(15);
        inbox.handling(Path.of("inbox/frame-17.png"));
        for (int s = 0; s < 61; s++) {
            clock.advance(Duration.ofSeconds(1));
            camera.ran();
        }
        watchdog.check();
        assertEquals(1, sent.count("WATCHDOG=1"));
        assertTrue(sent.last().startsWith("STATUS=stalled: source inbox: input frame-17.png in handling for 61000 ms"),
                sent.last());
    }

    @Test
    void check_longInputWithinLimit_pings() {
        runFor(15);
        inbox.handling(Path.of("inbox/big.png"));
        clock.advance(Duration.ofSeconds(59));
        camera.ran();
        watchdog.check();
        inbox.handled();
        assertEquals(2, sent.count("WATCHDOG=1"));
    }

    @Test
    void check_progressResumes_pingsAgain() {
        runFor(15);
        clock.advance(Duration.ofSeconds(90));
        watchdog.check();
        watchdog.check();
        assertEquals(1, sent.count("WATCHDOG=1"));
        runFor(15);
        assertEquals(2, sent.count("WATCHDOG=1"));
    }

    @Test
    void check_statusFails_noPing() {
        Watchdog broken = new Watchdog(notifier, List.of(camera), LIMIT, () -> {
            throw new IllegalStateException("bug");
        });
        broken.check();
        assertEquals(List.of(), sent.messages);
    }

    @Test
    void check_noWatchdogRequested_sendsStatusOnly() {
        Watchdog statusOnly = new Watchdog(new SystemdNotifier(sent, Optional.empty()), List.of(camera), LIMIT,
                () -> "running: ok");
        statusOnly.check();
        assertEquals(List.of("STATUS=running: ok"), sent.messages);
    }

    @Test
    void interval_halfTheWatchdogTimeout_orTheStatusPeriod() {
        assertEquals(Duration.ofSeconds(15), Watchdog.interval(notifier, Duration.ofSeconds(30)));
        assertEquals(Duration.ofSeconds(30),
                Watchdog.interval(new SystemdNotifier(sent, Optional.empty()), Duration.ofSeconds(30)));
    }
}
