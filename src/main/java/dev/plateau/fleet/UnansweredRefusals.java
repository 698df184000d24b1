package dev.plateau.fleet;

import dev.plateau.inference.InputNames;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Refusals of commands that named no MQTT 5 response topic: the sender may not listen on
 * {@code reply/{name}}, and a command name the topic scheme refuses (non-ASCII, too long) has no
 * reply topic at all. Each such refusal also goes out as a {@code command-rejected} event (the
 * topic, the cmdId when one was read, the reason; never the payload) and into the log. A flood
 * costs one event and one log line per {@link #PERIOD}: the first refusal after a quiet period
 * goes out at once, later ones are counted and summarised by {@link #flush()}.
 */
final class UnansweredRefusals {
    static final Duration PERIOD = Duration.ofSeconds(60);
    static final String EVENT = "command-rejected";
    /** Characters of a topic or reason kept: an MQTT topic may be 64 KiB long, an event needs the start. */
    static final int MAX_TEXT = 256;

    /** Where the events go: the fleet's outbox, as health-class events. */
    @FunctionalInterface
    interface Sink {
        void event(Map<String, Object> body);
    }

    private final Sink sink;
    private final Consumer<String> log;
    private final Clock clock;
    private Instant lastSent = Instant.MIN;
    private long unsent;
    private Instant firstUnsent;
    private Map<String, Object> lastUnsent;

    UnansweredRefusals(Sink sink, Clock clock) {
        this(sink, line -> Logger.warn(line), clock);
    }

    /** @param log where the log lines go (tests record them) */
    UnansweredRefusals(Sink sink, Consumer<String> log, Clock clock) {
        this.sink = sink;
        this.log = log;
        this.clock = clock;
    }

    /**
     * @param topic  the topic the command came on
     * @param cmdId  the cmdId read from the payload, or null when there was none
     * @param reason why it was refused; it names no part of the payload
     */
    void refused(String topic, String cmdId, String reason) {
        Map<String, Object> refusal = new LinkedHashMap<>();
        refusal.put("topic", text(topic));
        if (cmdId != null) {
            refusal.put("cmdId", cmdId);
        }
        refusal.put("reason", text(reason));
        Instant now = clock.instant();
        Map<String, Object> event;
        synchronized (this) {
            if (now.isBefore(lastSent.plus(PERIOD))) {
                if (unsent++ == 0) {
                    firstUnsent = now;
                }
                lastUnsent = refusal;
                return;
            }
            lastSent = now;
            event = withCount(refusal, 1, now);
        }
        log.accept("fleet: command on " + refusal.get("topic") + describeId(refusal) + " rejected: "
                + refusal.get("reason") + "; the request named no response topic, so the refusal is sent as event "
                + EVENT + " (one a minute at most, the rest counted)");
        send(event);
    }

    /** Sends and logs one summary of the refusals counted since the last event; the fleet calls it every {@link #PERIOD}. */
    void flush() {
        Map<String, Object> event;
        long count;
        synchronized (this) {
            if (unsent == 0) {
                return;
            }
            count = unsent;
            event = withCount(lastUnsent, count, firstUnsent);
            lastSent = clock.instant();
            unsent = 0;
            firstUnsent = null;
            lastUnsent = null;
        }
        log.accept("fleet: " + count + " more command(s) without a response topic rejected since " + event.get("since")
                + "; the last on " + event.get("topic") + describeId(event) + ": " + event.get("reason"));
        send(event);
    }

    private void send(Map<String, Object> event) {
        try {
            sink.event(event);
        } catch (RuntimeException e) {
            // The log line above is the record then; the command's thread must go on.
            Logger.warn("fleet: event {} not stored: {}", EVENT, e.getMessage());
        }
    }

    private static Map<String, Object> withCount(Map<String, Object> refusal, long count, Instant since) {
        Map<String, Object> event = new LinkedHashMap<>(refusal);
        event.put("count", count);
        event.put("since", since.toString());
        return event;
    }

    private static String describeId(Map<String, Object> refusal) {
        Object id = refusal.get("cmdId");
        return id == null ? " (no cmdId)" : " (cmdId " + id + ")";
    }

    /** Escaped (no line ends or terminal controls) and cut to {@link #MAX_TEXT} characters. */
    static String text(String s) {
        String escaped = InputNames.escape(s);
        return escaped.length() <= MAX_TEXT ? escaped : escaped.substring(0, MAX_TEXT) + "...";
    }
}
