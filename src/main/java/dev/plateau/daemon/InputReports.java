package dev.plateau.daemon;

import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.Outbox;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.Prediction;
import dev.plateau.sensor.QueueStats;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What the fleet hears of single inputs: results on {@code result/{model}} when enabled,
 * {@code input-rejected} events, and {@code input-dropped} events for messages a push source's
 * full queue dropped (as often as the source reports them: once a minute at most). A camera pointed at a wall would reject every frame, so
 * rejections are summarised: the first after a quiet {@link #PERIOD} goes out at once, later ones
 * are counted per source and sent by {@link #flush()}, at most one event per source and period.
 * Both are health-class: dropped first when the outbox is full, and results are never queued.
 */
final class InputReports implements Pipeline.Listener {
    static final Duration PERIOD = Duration.ofSeconds(60);

    /** Where reports go: the fleet link, when there is one. */
    interface Sink {
        void result(String model, Map<String, Object> body);

        void rejected(Map<String, Object> event);

        void dropped(Map<String, Object> event);

        /** Reports into the fleet link {@code fleet} supplies, or nowhere while it supplies null. */
        static Sink fleet(Supplier<Fleet> fleet) {
            return new Sink() {
                @Override
                public void result(String model, Map<String, Object> body) {
                    Fleet link = fleet.get();
                    if (link != null) {
                        link.result(model, body);
                    }
                }

                @Override
                public void rejected(Map<String, Object> event) {
                    send("input-rejected", event);
                }

                @Override
                public void dropped(Map<String, Object> event) {
                    send("input-dropped", event);
                }

                private void send(String type, Map<String, Object> event) {
                    Fleet link = fleet.get();
                    if (link != null) {
                        link.event(type, Outbox.Kind.HEALTH, event);
                    }
                }
            };
        }
    }

    private final Sink sink;
    private final Clock clock;
    private volatile boolean publishResults;
    private final Map<String, Pending> pending = new HashMap<>();

    /** Rejections of one source not yet reported. */
    private static final class Pending {
        final String model;
        final Map<InputRejectedException.Reason, Integer> reasons = new EnumMap<>(InputRejectedException.Reason.class);
        Instant lastSent = Instant.MIN;
        Instant firstUnsent;
        String lastDetail;

        Pending(String model) {
            this.model = model;
        }
    }

    InputReports(Sink sink, Clock clock, boolean publishResults) {
        this.sink = sink;
        this.clock = clock;
        this.publishResults = publishResults;
    }

    void publishResults(boolean on) {
        publishResults = on;
    }

    boolean publishResults() {
        return publishResults;
    }

    @Override
    public void inferred(String source, String model, int version, Path input, Prediction p) {
        if (publishResults) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("source", source);
            body.put("version", version);
            body.put("input", InputNames.of(input));
            body.put("label", p.label());
            body.put("score", p.score());
            body.put("latency_us", p.latencyMicros());
            sink.result(model, body);
        }
    }

    @Override
    public void rejected(String source, String model, InputRejectedException.Reason reason, String detail) {
        Map<String, Object> event = null;
        synchronized (this) {
            Pending p = pending.computeIfAbsent(source, s -> new Pending(model));
            p.reasons.merge(reason, 1, Integer::sum);
            p.lastDetail = detail;
            Instant now = clock.instant();
            if (p.firstUnsent == null) {
                p.firstUnsent = now;
            }
            if (!now.isBefore(p.lastSent.plus(PERIOD))) {
                event = take(source, p, now);
            }
        }
        send(event);
    }

    /**
     * {@code count} messages of {@code source} dropped for a full queue since its last report;
     * the source calls this at most once a minute.
     */
    void dropped(String model, QueueStats queue, long count) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        body.put("source", queue.source());
        body.put("count", count);
        body.put("drop", queue.policy().label());
        body.put("queue", queue.capacity());
        body.put("dropped_total", queue.dropped());
        body.put("received_total", queue.received());
        sink.dropped(body);
    }

    /** Sends what was counted since each source's last event; the daemon calls it every {@link #PERIOD}. */
    void flush() {
        Instant now = clock.instant();
        List<Map<String, Object>> events = new ArrayList<>();
        synchronized (this) {
            pending.forEach((source, p) -> {
                if (!p.reasons.isEmpty()) {
                    events.add(take(source, p, now));
                }
            });
        }
        events.forEach(this::send);
    }

    private static Map<String, Object> take(String source, Pending p, Instant now) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", p.model);
        body.put("source", source);
        body.put("count", p.reasons.values().stream().mapToInt(Integer::intValue).sum());
        Map<String, Integer> reasons = new LinkedHashMap<>();
        p.reasons.forEach((r, n) -> reasons.put(r.label(), n));
        body.put("reasons", reasons);
        body.put("since", p.firstUnsent.toString());
        body.put("example", p.lastDetail);
        p.reasons.clear();
        p.firstUnsent = null;
        p.lastSent = now;
        return body;
    }

    private void send(Map<String, Object> event) {
        if (event != null) {
            sink.rejected(event);
        }
    }
}
