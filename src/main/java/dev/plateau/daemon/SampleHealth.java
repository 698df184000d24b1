package dev.plateau.daemon;

import dev.plateau.store.DiskFullException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.tinylog.Logger;

/**
 * Whether each model's inputs are being kept in the sample store, for health reports, and the
 * log of the failures: one WARN per cause per {@link #INTERVAL}, saying how many like it were
 * not logged since, instead of one per inference (a full disk fails every sample).
 */
final class SampleHealth {
    /** One warning per cause per minute: a device inferring at 20 Hz on a full disk logs 1 line, not 1,200. */
    static final Duration INTERVAL = Duration.ofSeconds(60);

    /** A failure cause's state: when it was last logged and how many were held back since. */
    private static final class Cause {
        Instant logged;
        long suppressed;
    }

    /** A model whose samples are failing: since when, how many, and the last failure's message. */
    private record Failing(String state, Instant since, long failures, String detail) {}

    private final Clock clock;
    private final Duration interval;
    private final Map<String, Cause> causes = new ConcurrentHashMap<>();
    private final Map<String, Failing> failing = new ConcurrentHashMap<>();

    /** @param clock monotonic time for the intervals (see {@link MonotonicClock}) */
    SampleHealth(Clock clock, Duration interval) {
        this.clock = clock;
        this.interval = interval;
    }

    /** A sample of {@code model} was kept: its state is {@code ok} again. Cheap; called for every inference. */
    void stored(String model) {
        if (!failing.isEmpty()) {
            Failing was = failing.remove(model);
            if (was != null) {
                Logger.info("sample store: keeping samples of {} again after {} failure(s) ({})", model,
                        was.failures(), was.state());
            }
        }
    }

    /** A sample of {@code model} could not be kept; logs at most once per cause per interval. */
    void failed(String model, RuntimeException e) {
        String state = e instanceof DiskFullException ? "disk-full" : "failing";
        Instant now = clock.instant();
        failing.compute(model, (m, was) -> new Failing(state, was != null && was.state().equals(state) ? was.since() : now,
                was == null ? 1 : was.failures() + 1, e.getMessage()));
        Cause cause = causes.computeIfAbsent(model + "/" + causeOf(e), k -> new Cause());
        long held;
        synchronized (cause) {
            if (cause.logged != null && now.isBefore(cause.logged.plus(interval))) {
                cause.suppressed++;
                return;
            }
            held = cause.suppressed;
            cause.logged = now;
            cause.suppressed = 0;
        }
        Logger.warn("sample store: {}{}", e.getMessage(), held == 0 ? "" : " (" + held + " more like it not logged in the last "
                + interval.toSeconds() + " s)");
    }

    /** {@code {"state": "ok"}}, or {@code disk-full}/{@code failing} with since, failures and the last detail. */
    Map<String, Object> view(String model) {
        Failing f = failing.get(model);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", f == null ? "ok" : f.state());
        if (f != null) {
            out.put("failures", f.failures());
            out.put("detail", f.detail());
        }
        return out;
    }

    /** The same cause: the same kind of failure, whatever sample or file it hit. */
    private static String causeOf(Throwable e) {
        if (e instanceof DiskFullException full) {
            return "disk-full " + full.dir(); // refused up front or failed mid-write: one cause
        }
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return e.getClass().getName() + "/" + root.getClass().getName();
    }
}
