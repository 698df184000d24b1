package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.SourceConfig;
import dev.plateau.sensor.DirectorySource;
import dev.plateau.sensor.InputHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watchdog wired as the daemon wires it, on real threads: a real inbox source on a shared
 * pool, its handler frozen the way a hung inference would freeze it.
 */
class FrozenSourceTest {
    private static final Duration STALL_LIMIT = Duration.ofMillis(600);
    private static final Duration CHECK_EVERY = Duration.ofMillis(50);

    @TempDir
    Path tmp;

    private final ScheduledExecutorService pool = Executors.newScheduledThreadPool(2);
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final RecordingTransport sent = new RecordingTransport();
    private final SystemdNotifier notifier = new SystemdNotifier(sent, Optional.of(CHECK_EVERY.multipliedBy(2)));
    private final MonotonicClock clock = new MonotonicClock();
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stop() throws InterruptedException {
        release.countDown();
        timer.shutdownNow();
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
    }

    private DirectorySource inbox(InputHandler handler, Progress progress) {
        SourceConfig.Directory config = new SourceConfig.Directory("inbox", "m", tmp.resolve("inbox"), 20, 0,
                Optional.empty());
        return new DirectorySource(config, new ProgressHandler(handler, progress), new SourceScheduler(pool, progress),
                clock);
    }

    private void watch(Progress progress) {
        new Watchdog(notifier, List.of(progress), STALL_LIMIT, () -> "running").start(timer, CHECK_EVERY);
    }

    @Test
    void frozenHandler_pingsStopWhileIdleInboxKeptThemGoing() throws Exception {
        Progress progress = new Progress("inbox", Duration.ofMillis(20), clock);
        DirectorySource source = inbox((name, file) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return InputHandler.Result.INFERRED;
        }, progress);
        source.start();
        watch(progress);

        // Idle for well past the stall limit: polling an empty inbox is progress.
        Thread.sleep(STALL_LIMIT.toMillis() * 2);
        assertEquals(0, sent.count("STATUS=stalled"), sent.messages.toString());
        assertTrue(sent.count("WATCHDOG=1") >= 5, sent.messages.toString());

        Files.write(tmp.resolve("inbox/frame.png"), new byte[] {1});
        await(() -> sent.count("STATUS=stalled: source inbox: input frame.png in handling") > 0, 5000);
        long pings = sent.count("WATCHDOG=1");
        Thread.sleep(STALL_LIMIT.toMillis());
        assertEquals(pings, sent.count("WATCHDOG=1"), "pinged while frozen: " + sent.messages);
        source.close();
    }

    @Test
    void handlerThrowsAnError_fileRejectedSourceGoesOnAndPingsContinue() throws Exception {
        Progress progress = new Progress("inbox", Duration.ofMillis(20), clock);
        // An Error from one input (a decoder out of memory, a stack overflow) rejects that input only.
        DirectorySource source = inbox((name, file) -> {
            if (file.getFileName().toString().equals("bomb.png")) {
                throw new StackOverflowError();
            }
            return InputHandler.Result.INFERRED;
        }, progress);
        source.start();
        watch(progress);
        Files.write(tmp.resolve("inbox/bomb.png"), new byte[] {1});
        await(() -> Files.exists(tmp.resolve("inbox/rejected/bomb.png.reason.txt")), 5000);
        Files.write(tmp.resolve("inbox/next.png"), new byte[] {1});
        await(() -> Files.exists(tmp.resolve("inbox/processed/next.png")), 5000);
        long pings = sent.count("WATCHDOG=1");
        Thread.sleep(STALL_LIMIT.toMillis() * 2);
        assertEquals(0, sent.count("STATUS=stalled"), sent.messages.toString());
        assertTrue(sent.count("WATCHDOG=1") > pings, sent.messages.toString());
        source.close();
    }

    @Test
    void sourceTaskDiesOnError_pingsStop() throws Exception {
        Progress progress = new Progress("inbox", Duration.ofMillis(20), clock);
        // A task that throws is never run again: the marks stop and so do the pings.
        new SourceScheduler(pool, progress).scheduleWithFixedDelay(() -> {
            throw new AssertionError("native crash stand-in");
        }, 0, 20, TimeUnit.MILLISECONDS);
        watch(progress);
        await(() -> sent.count("STATUS=stalled: source inbox: no progress") > 0, 5000);
        long pings = sent.count("WATCHDOG=1");
        Thread.sleep(STALL_LIMIT.toMillis());
        assertEquals(pings, sent.count("WATCHDOG=1"), sent.messages.toString());
    }

    private void await(BooleanSupplier condition, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), "not within " + millis + " ms: " + sent.messages);
    }
}
