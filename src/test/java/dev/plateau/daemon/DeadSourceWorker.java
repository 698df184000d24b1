package dev.plateau.daemon;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A child process with the daemon's source pool view and watchdog, no notify socket, and one
 * source whose task dies on an Error: what does its log say?
 */
public final class DeadSourceWorker {
    private DeadSourceWorker() {}

    public static void main(String[] args) throws InterruptedException {
        LogSetup.forCommand();
        ScheduledExecutorService pool = Executors.newScheduledThreadPool(1);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        Progress progress = new Progress("inbox", Duration.ofMillis(20), new MonotonicClock());
        new SourceScheduler(pool, progress).scheduleWithFixedDelay(() -> {
            throw new StackOverflowError();
        }, 0, 20, TimeUnit.MILLISECONDS);
        new Watchdog(SystemdNotifier.disabled(), List.of(progress), Duration.ofMillis(300), () -> "running")
                .start(timer, Duration.ofMillis(50));
        Thread.sleep(1500);
        System.exit(0);
    }
}
