package dev.plateau.store;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which writers of the state directory are failing for lack of space, for health reports: each
 * with the directory, the bytes its last write needed and the bytes there were. Writers report
 * every failure ({@link #full}) and every success ({@link #ok}); the failures are logged through
 * a {@link FailureLog}, once per writer and directory per interval. Thread-safe and lock-free for
 * readers, so the fleet link's health report never waits on a writer.
 */
public final class DiskStatus {
    /** One writer's state while its writes fail. */
    private record Full(String dir, long needed, long usable, Instant since, long failures, String detail) {}

    private final Clock clock;
    private final FailureLog log;
    private final Map<String, Full> full = new ConcurrentHashMap<>();

    /** @param clock wall time, for when a writer started failing */
    public DiskStatus(Clock clock, FailureLog log) {
        this.clock = clock;
        this.log = log;
    }

    /**
     * A write of {@code writer} (e.g. {@code outbox}, {@code samples m}, {@code finetune m})
     * failed for lack of space; {@code message} is the warning to log, rate-limited.
     */
    public void full(String writer, String message, DiskFullException e) {
        String dir = String.valueOf(e.dir());
        full.compute(writer, (w, was) -> new Full(dir, e.needed(), e.usable(), was == null ? clock.instant() : was.since(),
                was == null ? 1 : was.failures() + 1, e.getMessage()));
        log.warn(writer + " " + dir, message);
    }

    /** A write of {@code writer} worked: it is no longer full. Cheap when it was not. */
    public void ok(String writer) {
        if (!full.isEmpty()) {
            Full was = full.remove(writer);
            if (was != null) {
                log.clear(writer + " " + was.dir());
            }
        }
    }

    public boolean isFull() {
        settle();
        return !full.isEmpty();
    }

    /**
     * A writer that wrote once (a fine-tune) may not write again for days: once its directory has
     * the room its last write needed, it no longer counts as full. One that keeps failing reports
     * again with its next write.
     */
    private void settle() {
        full.entrySet().removeIf(e -> e.getValue().needed() > 0
                && Disk.usable(Path.of(e.getValue().dir())) >= e.getValue().needed());
    }

    /**
     * {@code {"state": "ok"}}, or {@code {"state": "full", "full": [{writer, dir, need_bytes,
     * have_bytes, since, failures, detail}, ...]}}.
     */
    public Map<String, Object> view() {
        settle();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", full.isEmpty() ? "ok" : "full");
        if (!full.isEmpty()) {
            List<Map<String, Object>> writers = new ArrayList<>();
            new java.util.TreeMap<>(full).forEach((writer, f) -> {
                Map<String, Object> w = new LinkedHashMap<>();
                w.put("writer", writer);
                w.put("dir", f.dir());
                w.put("need_bytes", f.needed());
                w.put("have_bytes", f.usable());
                w.put("since", f.since().toString());
                w.put("failures", f.failures());
                w.put("detail", f.detail());
                writers.add(w);
            });
            out.put("full", writers);
        }
        return out;
    }
}
