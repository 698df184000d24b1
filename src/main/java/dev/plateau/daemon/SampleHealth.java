package dev.plateau.daemon;

import dev.plateau.store.DiskFullException;
import dev.plateau.store.DiskStatus;
import dev.plateau.store.FailureLog;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.tinylog.Logger;

/**
 * Whether each model's inputs are being kept in the sample store, for health reports, and the
 * log of the failures through a {@link FailureLog}: one WARN per cause per interval, saying how
 * many like it were not logged since, instead of one per inference (a full disk fails every
 * sample). A full disk is also told to the {@link DiskStatus}.
 */
final class SampleHealth {
    /** One warning per cause per minute: a device inferring at 20 Hz on a full disk logs 1 line, not 1,200. */
    static final Duration INTERVAL = FailureLog.INTERVAL;

    /** A model whose samples are failing: since when, how many, and the last failure's message. */
    private record Failing(String state, Instant since, long failures, String detail) {}

    private final Clock clock;
    private final DiskStatus disk;
    private final FailureLog log;
    private final Map<String, Failing> failing = new ConcurrentHashMap<>();

    /** @param clock monotonic time for the intervals (see {@link MonotonicClock}) */
    SampleHealth(Clock clock, Duration interval) {
        this(clock, new DiskStatus(clock, new FailureLog(clock, interval)), new FailureLog(clock, interval));
    }

    SampleHealth(Clock clock, DiskStatus disk, FailureLog log) {
        this.clock = clock;
        this.disk = disk;
        this.log = log;
    }

    private static String writer(String model) {
        return "samples " + model;
    }

    /** A sample of {@code model} was kept: its state is {@code ok} again. Cheap; called for every inference. */
    void stored(String model) {
        if (!failing.isEmpty()) {
            Failing was = failing.remove(model);
            if (was != null) {
                disk.ok(writer(model));
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
        if (e instanceof DiskFullException full) {
            // Refused up front or failed mid-write: one cause, the directory.
            disk.full(writer(model), "sample store: " + e.getMessage(), full);
        } else {
            log.warn(model + "/" + causeOf(e), "sample store: " + e.getMessage());
        }
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
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return e.getClass().getName() + "/" + root.getClass().getName();
    }
}
