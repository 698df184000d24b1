package dev.plateau.daemon;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * Tells systemd the daemon is alive ({@code WATCHDOG=1}, at half the watchdog timeout) only while
 * every source shows {@link Progress}, and keeps {@code STATUS=} current. When a source stalls it
 * stops pinging and says why, in the log and in {@code STATUS=}, so systemd restarts a hung daemon;
 * if progress resumes before systemd acts, so do the pings. Without systemd's watchdog (or without
 * a notify socket at all) the checks run the same and the log says that a source is stalled and
 * that nothing will restart the daemon. The checks run on a thread of their own: a stuck source
 * pool must not delay the verdict on it.
 */
final class Watchdog {
    private final SystemdNotifier notifier;
    private final List<Progress> sources;
    private final Duration stallLimit;
    private final Supplier<String> status;
    private boolean stalled;

    /**
     * @param stallLimit how long an input may be in handling, and how much later than its period a
     *                   source may run, before it counts as hung
     * @param status     the one-line summary sent with each ping
     */
    Watchdog(SystemdNotifier notifier, List<Progress> sources, Duration stallLimit, Supplier<String> status) {
        this.notifier = notifier;
        this.sources = List.copyOf(sources);
        this.stallLimit = stallLimit;
        this.status = status;
    }

    /**
     * How often to check: half the watchdog timeout, as sd_watchdog_enabled(3) advises, or
     * {@code statusPeriod} when systemd wants no pings.
     */
    static Duration interval(SystemdNotifier notifier, Duration statusPeriod) {
        return notifier.watchdogTimeout().map(t -> t.dividedBy(2)).orElse(statusPeriod);
    }

    /** Checks now and then every {@code interval} on {@code timer}, until the future is cancelled. */
    ScheduledFuture<?> start(ScheduledExecutorService timer, Duration interval) {
        long micros = Math.max(1, interval.toNanos() / 1000);
        return timer.scheduleAtFixedRate(this::check, 0, micros, TimeUnit.MICROSECONDS);
    }

    /** One round: ping (or just report status) when every source progresses; otherwise say why not. */
    void check() {
        List<String> stalls;
        String summary;
        try {
            stalls = sources.stream().map(p -> p.stall(stallLimit)).flatMap(Optional::stream).toList();
            summary = stalls.isEmpty() ? status.get() : "";
        } catch (RuntimeException | Error e) {
            // A bug here must not keep a hung daemon alive, nor silently cancel the timer.
            Logger.error(e, "watchdog: check failed; not pinging");
            return;
        }
        if (!stalls.isEmpty()) {
            String why = String.join("; ", stalls);
            if (!stalled) {
                if (notifier.watchdogTimeout().isPresent()) {
                    Logger.error("watchdog: no progress, not pinging systemd: {}", why);
                } else {
                    // Nobody is pinged, so nobody restarts the daemon: the log (and STATUS=, when
                    // there is a notify socket) is all that says a source is dead.
                    Logger.error("watchdog: no progress, no systemd watchdog to stop pinging (no {}), so nothing will "
                            + "restart the daemon: {}", notifier.enabled() ? "WATCHDOG_USEC" : "NOTIFY_SOCKET", why);
                }
            }
            stalled = true;
            notifier.status("stalled: " + why);
            return;
        }
        if (stalled) {
            Logger.warn("watchdog: every source progresses again; pinging resumed");
            stalled = false;
        }
        if (notifier.watchdogTimeout().isPresent()) {
            notifier.watchdog(summary);
        } else {
            notifier.status(summary);
        }
    }
}
