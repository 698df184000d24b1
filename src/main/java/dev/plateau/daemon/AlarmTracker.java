package dev.plateau.daemon;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.config.SourceConfig;
import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.Outbox;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.Prediction;
import dev.plateau.model.Manifest;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The deck-level alarm of one sensor source: every inference's score goes into an
 * {@link AlarmWindow}; a raise or a clear is written to {@code <state>/alarms/<source>.json} and
 * then sent as an {@code alarm-raised} / {@code alarm-cleared} decision event with its evidence.
 *
 * <p>What a {@code kill -9} can lose: the state is written durably (write-temp, fsync, rename) at
 * every raise and clear, at every model version change, and otherwise every
 * {@link #CHECKPOINT_WINDOWS} windows. A raised alarm is never lost; the newest scores since the
 * last write (at most 11, about a minute of 5.12 s windows) and as much of a clear count are. An
 * event is kept in the state file, with its {@code eventId}, until the fleet link has stored it in
 * its outbox; a kill between the two hands it over again after the restart under the same
 * {@code eventId}, which the outbox keeps once and the fleet de-duplicates on.
 *
 * <p>Scores of different model versions are not comparable: a new version (activation or
 * rollback) empties the window, and a raised alarm stays raised until the new version's evidence
 * clears it. The operating point is the manifest's {@code alarm} section ({@code windows},
 * {@code threshold}), or without one the source's {@code windows} and threshold 0, the model's
 * own decision boundary.
 *
 * <p>Called on the source's thread; {@link #view()} is lock-free for health reports.
 */
final class AlarmTracker {
    /** Directory under the state directory with one file per source. */
    static final String DIR = "alarms";
    /**
     * Windows between two writes of an unchanged state: one minute of 5.12 s windows, so a flash
     * card sees ~1,400 writes a day per source instead of ~17,000, and a kill loses at most 11 scores.
     */
    static final int CHECKPOINT_WINDOWS = 12;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> BODY = new TypeReference<>() { };
    private static final int FORMAT = 1;

    /** Where alarm events go. */
    interface Events {
        /**
         * True when the event is stored for the fleet, or there is no fleet (the log is the record).
         * The same {@code eventId} may come again after a crash.
         */
        boolean send(String type, String eventId, Map<String, Object> body);

        /**
         * Into the fleet link's durable outbox as decisions; with {@code configured} false there is
         * no fleet, and while {@code fleet} supplies null (still starting) an event waits.
         */
        static Events fleet(boolean configured, Supplier<Fleet> fleet) {
            return (type, eventId, body) -> {
                if (!configured) {
                    return true;
                }
                Fleet link = fleet.get();
                if (link == null) {
                    return false;
                }
                link.event(type, Outbox.Kind.DECISION, body, eventId);
                return true;
            };
        }
    }

    /** An event not yet taken by {@link Events}. */
    private record Pending(String type, String eventId, ObjectNode body) {
        Pending(String type, ObjectNode body) {
            this(type, UUID.randomUUID().toString(), body);
        }
    }

    private final String source;
    private final String model;
    private final SourceConfig.Alarm config;
    private final Path file;
    private final Clock clock;
    private final Events events;
    private final List<Pending> pending = new ArrayList<>();
    private int version;
    private int positive;
    /** False while the served version is no detector (it has no positive class): nothing is scored. */
    private boolean scoring;
    private boolean fromManifest;
    private AlarmWindow window;
    private String alarmId;
    private Instant since;
    private int unsaved;
    private volatile Map<String, Object> view = Map.of();

    private AlarmTracker(String source, String model, SourceConfig.Alarm config, Path file, Clock clock,
                         Events events) {
        this.source = source;
        this.model = model;
        this.config = config;
        this.file = file;
        this.clock = clock;
        this.events = events;
    }

    /**
     * The alarm of {@code source} on the model's served {@code version}, restored from the state
     * directory when it was written before.
     *
     * @throws IllegalArgumentException when the model is not a two-class detector with {@code output.positive}
     */
    static AlarmTracker open(String source, SourceConfig.Alarm config, String model, int version, Manifest manifest,
                             Path stateDir, Clock clock, Events events) {
        if (!detector(manifest)) {
            throw new IllegalArgumentException("source " + source + ": alarm needs a two-class model with "
                    + "output.positive, found model " + model + " with labels " + manifest.output().labels()
                    + (manifest.output().positive() == null ? " and no output.positive" : ""));
        }
        AlarmTracker t = new AlarmTracker(source, model, config, stateDir.resolve(DIR).resolve(source + ".json"),
                clock, events);
        t.serve(version, manifest);
        t.restore();
        Logger.info("alarm {}: raised when the mean log-odds of '{}' over {} windows is above {} ({}), cleared after "
                        + "{} windows at or below it; now {}", source, manifest.output().positive(), t.window.windows(),
                t.window.threshold(), t.fromManifest ? "the manifest's alarm" : "no manifest alarm: the model's own "
                        + "operating point", t.window.clearWindows(), t.window.raised() ? "RAISED since " + t.since
                        : "clear");
        t.updateView();
        return t;
    }

    private static boolean detector(Manifest m) {
        return m.classCount() == 2 && m.output().positive() != null;
    }

    /** Takes {@code version}'s operating point; the window starts empty, a raised alarm stays raised. */
    private void serve(int next, Manifest manifest) {
        boolean raised = window != null && window.raised();
        version = next;
        scoring = detector(manifest);
        if (!scoring) {
            window.reset();
            Logger.error("alarm {}: model {} v{} has no positive class (labels {}); its windows are not scored, the "
                    + "alarm stays {}", source, model, next, manifest.output().labels(), raised ? "raised" : "clear");
            return;
        }
        positive = manifest.output().positiveIndex();
        Optional<Manifest.Alarm> set = manifest.alarmSpec();
        fromManifest = set.isPresent();
        int n = set.map(Manifest.Alarm::windows).orElse(config.windows());
        if (set.isPresent() && n != config.windows()) {
            Logger.warn("alarm {}: {} windows from the manifest of {} v{} (its threshold was set for them), not the "
                    + "configured {}", source, n, model, next, config.windows());
        }
        window = AlarmWindow.restored(n, set.map(Manifest.Alarm::threshold).orElse(0.0), config.clearWindows(), raised,
                List.of(), 0);
    }

    /**
     * Adds one inferred window of the source: {@code version} and {@code manifest} are the ones
     * that inferred it, {@code sample} its id in the sample store when it was kept.
     */
    synchronized void observe(int servedVersion, Manifest manifest, Prediction p, Path input, Optional<String> sample) {
        if (servedVersion != version) {
            Logger.info("alarm {}: model {} v{} -> v{}: score window emptied (scores of different versions are not "
                    + "comparable); the alarm stays {} until evidence of v{} changes it", source, model, version,
                    servedVersion, window.raised() ? "raised" : "clear", servedVersion);
            serve(servedVersion, manifest);
            save();
        }
        send();
        if (scoring) {
            AlarmWindow.Score score = new AlarmWindow.Score(p.logOdds(positive), InputNames.of(input), sample,
                    clock.instant());
            AlarmWindow.Change change = window.add(score);
            unsaved++;
            switch (change) {
                case RAISED -> raised(score);
                case CLEARED -> cleared(score);
                case NONE -> {
                    if (unsaved >= CHECKPOINT_WINDOWS) {
                        save();
                    }
                }
            }
        }
        updateView();
    }

    private void raised(AlarmWindow.Score last) {
        alarmId = UUID.randomUUID().toString();
        since = last.at();
        ObjectNode body = evidence();
        Logger.warn("alarm-raised source={} model={} v{} mean={} threshold={} windows={} from {} to {} alarm_id={}",
                source, model, version, fmt(body.get("mean").asDouble()), window.threshold(), window.windows(),
                body.get("first_window_at").asText(), last.at(), alarmId);
        pending.add(new Pending("alarm-raised", body));
        save();
        send();
    }

    private void cleared(AlarmWindow.Score last) {
        ObjectNode body = evidence();
        body.put("raised_at", since.toString());
        body.put("clear_windows", window.clearWindows());
        Logger.info("alarm-cleared source={} model={} v{} mean={} threshold={} after {} windows at or below it; raised "
                + "since {} alarm_id={}", source, model, version, fmt(body.get("mean").asDouble()), window.threshold(),
                window.clearWindows(), since, alarmId);
        alarmId = null;
        since = last.at();
        pending.add(new Pending("alarm-cleared", body));
        save();
        send();
    }

    /** The event body: the operating point and the window's scores with their files and samples. */
    private ObjectNode evidence() {
        List<AlarmWindow.Score> scores = window.scores();
        ObjectNode body = JSON.createObjectNode();
        body.put("source", source);
        body.put("model", model);
        body.put("version", version);
        body.put("alarm_id", alarmId);
        body.put("threshold", window.threshold());
        body.put("threshold_source", fromManifest ? "manifest" : "default");
        body.put("windows", window.windows());
        body.put("mean", window.fullMean().orElseThrow());
        body.put("first_window_at", scores.get(0).at().toString());
        body.put("last_window_at", scores.get(scores.size() - 1).at().toString());
        body.set("scores", scoresJson(scores));
        return body;
    }

    /** Hands the pending events to {@link Events} in order; stops at the first one not taken. */
    private void send() {
        boolean sent = false;
        while (!pending.isEmpty()) {
            Pending next = pending.get(0);
            boolean taken;
            try {
                taken = events.send(next.type(), next.eventId(), JSON.convertValue(next.body(), BODY));
            } catch (RuntimeException e) {
                // The outbox could not store it (a full disk): it stays pending and is tried at the next window.
                Logger.warn("alarm {}: {} event not stored yet, tried again at the next window: {}", source,
                        next.type(), e.getMessage());
                taken = false;
            }
            if (!taken) {
                break;
            }
            pending.remove(0);
            sent = true;
        }
        if (sent) {
            save();
        }
    }

    /** Sends what a restart left pending, once the fleet link is up. */
    synchronized void announcePending() {
        send();
        updateView();
    }

    /** Writes the state if anything changed since the last write; at shutdown. */
    synchronized void checkpoint() {
        if (unsaved > 0) {
            save();
        }
    }

    boolean raised() {
        return "raised".equals(view.get("state"));
    }

    /** For health: state, since, the operating point, the window's fill and mean, the clear count. */
    Map<String, Object> view() {
        return view;
    }

    private void updateView() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("state", window.raised() ? "raised" : "clear");
        if (since != null) {
            v.put("since", since.toString());
        }
        if (alarmId != null) {
            v.put("alarm_id", alarmId);
        }
        v.put("version", version);
        v.put("threshold", window.threshold());
        v.put("threshold_source", fromManifest ? "manifest" : "default");
        v.put("windows", window.windows());
        v.put("scores", window.scores().size());
        window.fullMean().ifPresent(m -> v.put("mean", m));
        if (window.raised()) {
            v.put("below", window.below());
            v.put("clear_windows", window.clearWindows());
        }
        if (!scoring) {
            v.put("scoring", "off: the served version has no positive class");
        }
        if (!pending.isEmpty()) {
            v.put("events_pending", pending.size());
        }
        view = Map.copyOf(v);
    }

    // ---- the state file ----------------------------------------------------------------------

    private void save() {
        ObjectNode state = JSON.createObjectNode();
        state.put("v", FORMAT);
        state.put("source", source);
        state.put("model", model);
        state.put("version", version);
        state.put("state", window.raised() ? "raised" : "clear");
        state.put("alarm_id", alarmId);
        state.put("since", since == null ? null : since.toString());
        state.put("below", window.below());
        state.set("scores", scoresJson(window.scores()));
        ArrayNode queued = state.putArray("pending");
        pending.forEach(p -> queued.addObject().put("type", p.type()).put("event_id", p.eventId())
                .set("body", p.body()));
        try {
            DurableFiles.replace(file, JSON.writeValueAsBytes(state));
            unsaved = 0;
        } catch (IOException | UncheckedIOException e) {
            // Kept in memory and written again at the next window; inference goes on.
            Logger.warn("alarm {}: cannot write {}: {}", source, file, e.getMessage());
        }
    }

    /** A state file as read back. */
    private record Saved(boolean raised, String alarmId, Instant since, int version, List<AlarmWindow.Score> scores,
                         int below, List<Pending> pending) {}

    private void restore() {
        if (!Files.exists(file)) {
            return;
        }
        Saved saved;
        try {
            saved = read();
        } catch (IOException | RuntimeException e) {
            // Ours and written whole, so only a hand edit or bit rot gets here; the node keeps watching.
            Path aside = file.resolveSibling(file.getFileName() + ".unreadable");
            Logger.error("alarm {}: {} cannot be restored ({}); moved to {}, starting clear", source, file,
                    e.getMessage(), aside.getFileName());
            try {
                Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException moveFailed) {
                Logger.error("alarm {}: cannot move {} aside: {}", source, file, moveFailed.getMessage());
            }
            return;
        }
        alarmId = saved.alarmId();
        since = saved.since();
        pending.addAll(saved.pending());
        List<AlarmWindow.Score> scores = saved.version() == version ? saved.scores() : List.of();
        if (saved.version() != version) {
            Logger.info("alarm {}: state was written for v{}, serving v{}: score window starts empty", source,
                    saved.version(), version);
        }
        window = AlarmWindow.restored(window.windows(), window.threshold(), window.clearWindows(), saved.raised(),
                scores, saved.below());
        Logger.info("alarm {}: restored {} with {} score(s) of v{}{}", source, saved.raised() ? "RAISED (since "
                + since + ")" : "clear", scores.size(), version, pending.isEmpty() ? "" : "; " + pending.size()
                + " event(s) to send");
    }

    private Saved read() throws IOException {
        JsonNode state = JSON.readTree(file.toFile());
        if (state == null || state.path("v").asInt() != FORMAT || !state.path("scores").isArray()) {
            throw new IOException("not an alarm state of format " + FORMAT);
        }
        if (!model.equals(state.path("model").asText())) {
            throw new IOException("written for model '" + InputNames.escape(state.path("model").asText())
                    + "', the source now feeds '" + model + "'");
        }
        List<AlarmWindow.Score> scores = new ArrayList<>();
        for (JsonNode s : state.get("scores")) {
            double value = s.get("score").asDouble();
            if (!Double.isFinite(value)) {
                throw new IOException("a score is not finite");
            }
            scores.add(new AlarmWindow.Score(value, s.get("file").asText(),
                    s.hasNonNull("sample") ? Optional.of(s.get("sample").asText()) : Optional.empty(),
                    Instant.parse(s.get("at").asText())));
        }
        List<Pending> queued = new ArrayList<>();
        for (JsonNode p : state.path("pending")) {
            if (!p.path("body").isObject() || !p.path("event_id").isTextual()) {
                throw new IOException("a pending event has no body or no event_id");
            }
            queued.add(new Pending(p.path("type").asText(), p.get("event_id").asText(), (ObjectNode) p.get("body")));
        }
        return new Saved("raised".equals(state.path("state").asText()),
                state.hasNonNull("alarm_id") ? state.get("alarm_id").asText() : null,
                state.hasNonNull("since") ? Instant.parse(state.get("since").asText()) : null,
                state.path("version").asInt(-1), scores, state.path("below").asInt(), queued);
    }

    private static ArrayNode scoresJson(List<AlarmWindow.Score> scores) {
        ArrayNode out = JSON.createArrayNode();
        for (AlarmWindow.Score s : scores) {
            ObjectNode o = out.addObject();
            o.put("score", s.value());
            o.put("file", s.file());
            s.sample().ifPresent(id -> o.put("sample", id));
            o.put("at", s.at().toString());
        }
        return out;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
