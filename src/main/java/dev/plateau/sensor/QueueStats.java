package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a push source's queue did since start: every message received was refused as too large,
 * dropped for a full queue, handled, or is still queued ({@code received == oversized + dropped
 * + handled + queued}). Waits are from arrival to the end of handling, over handled messages.
 */
public record QueueStats(String source, long received, long oversized, long dropped, long handled, int queued,
                         int capacity, int peak, SourceConfig.Drop policy, long waitedP99Micros,
                         long waitedMaxMicros) {

    /** The figures as health reports carry them. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("received", received);
        m.put("oversized", oversized);
        m.put("dropped", dropped);
        m.put("handled", handled);
        m.put("queued", queued);
        m.put("queue", capacity);
        m.put("queue_peak", peak);
        m.put("drop", policy.label());
        m.put("waited_p99_ms", waitedP99Micros / 1000);
        m.put("waited_max_ms", waitedMaxMicros / 1000);
        return m;
    }
}
