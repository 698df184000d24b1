package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.config.DeviceConfig;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.Prediction;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.BundleException;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.SampleStore;
import dev.plateau.tuning.DriftReference;
import dev.plateau.tuning.TuningDataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The drift monitor of one model: every inference's confidence, entropy, class and head-input
 * embedding go into a {@link DriftWindow} against the reference of the version that made it. A
 * detection or a clear is written to {@code <state>/drift/<model>.json} and then sent as a
 * {@code drift-detected} / {@code drift-cleared} decision event with its evidence: the
 * statistics with their values and thresholds, the window, the reference it was compared with,
 * and the sample ids of the most drifted inputs. While drift is detected, the inputs' samples
 * are marked drifted in the {@link SampleStore}, which keeps them over others.
 *
 * <p>The reference of a version is its {@link DriftReference#FILE} (written with a fine-tuned
 * version, on the validation inputs it was judged on, or shipped with a bundle), or else one
 * computed from the version's anchor set when the version is loaded and kept under
 * {@code <state>/drift/<model>/}. A new version (activation or rollback) empties the window; a
 * detected drift stays detected until the new version's inputs clear it.
 *
 * <p>What a {@code kill -9} can lose: the state and the events not yet taken by the fleet link
 * are written at every detection and clear (so an event is never lost, and may come twice
 * under one {@code eventId}); the window is not, and after a restart it fills again before the
 * next check. Called on the sources' threads; {@link #view()} is lock-free for health reports.
 */
final class DriftMonitor {
    /** Directory under the state directory: one state file per model, references of versions without one. */
    static final String DIR = "drift";
    /** Inputs named in an event as the most drifted: enough to look at, small enough for one message. */
    static final int MOST_DRIFTED = 10;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> BODY = new TypeReference<>() { };
    private static final int FORMAT = 1;
    /** Drifted samples a fine-tune's reference is measured on, at most: a few seconds of ONNX Runtime on a device. */
    static final int REFERENCE_SAMPLES = 500;
    static final String DRIFTED_BASIS = "drifted-samples";

    private record Pending(String type, String eventId, ObjectNode body) {}

    private final String model;
    private final DeviceConfig.Drift config;
    private final Path stateDir;
    private final Path file;
    private final Clock clock;
    private final OrtEnvironment env;
    private final AlarmTracker.Events events;
    private final Supplier<Optional<SampleStore>> samples;
    private final Map<Integer, DriftReference> references = new ConcurrentHashMap<>();
    private final List<Pending> pending = new ArrayList<>();
    private DriftWindow window;
    private int version = -1;
    private boolean detected;
    private String driftId;
    private Instant since;
    private long inputs;
    private volatile Map<String, Object> view = Map.of("state", "starting");

    DriftMonitor(String model, DeviceConfig.Drift config, Path stateDir, Clock clock, OrtEnvironment env,
                 AlarmTracker.Events events, Supplier<Optional<SampleStore>> samples) {
        this.model = model;
        this.config = config;
        this.stateDir = stateDir;
        this.file = stateDir.resolve(DIR).resolve(model + ".json");
        this.clock = clock;
        this.env = env;
        this.events = events;
        this.samples = samples;
        restore();
    }

    // ---- references ---------------------------------------------------------------------------

    /**
     * The reference of {@code version}, which {@code engine} serves: read from beside its manifest
     * or from this monitor's cache, else computed on its anchor set and cached. Before the
     * version takes traffic.
     *
     * @throws BundleException when the version has neither a reference nor enough anchor inputs
     */
    void loaded(int loadedVersion, InferenceEngine engine) {
        Path dir = engine.bundle().dir();
        Path beside = dir.resolve(DriftReference.FILE);
        Path cached = stateDir.resolve(DIR).resolve(model).resolve("v" + loadedVersion + ".json");
        DriftReference ref = null;
        for (Path candidate : List.of(beside, cached)) {
            if (ref == null && Files.isRegularFile(candidate)) {
                try {
                    ref = DriftReference.read(candidate);
                    check(ref, engine, candidate);
                    Logger.info("drift {} v{}: reference of {} {} inputs from {}", model, loadedVersion, ref.samples(),
                            ref.basis(), candidate.equals(beside) ? "the version's " + DriftReference.FILE
                                    : "the state directory");
                } catch (IOException | IllegalArgumentException e) {
                    Logger.warn("drift {} v{}: {} not used: {}", model, loadedVersion, candidate.getFileName(),
                            e.getMessage());
                    ref = null;
                }
            }
        }
        if (ref == null) {
            ref = fromDriftedSamples(engine, loadedVersion).orElseGet(() -> fromAnchors(engine, loadedVersion));
            try {
                Files.createDirectories(cached.getParent());
                ref.write(cached);
            } catch (IOException e) {
                Logger.warn("drift {} v{}: reference not cached ({}); it is computed again at the next load", model,
                        loadedVersion, e.getMessage());
            }
        }
        references.put(loadedVersion, ref);
    }

    private static void check(DriftReference ref, InferenceEngine engine, Path file) throws IOException {
        int width = engine.embeddingWidth().orElseThrow();
        if (ref.embeddingWidth() != width || ref.classes() != engine.manifest().classCount()) {
            throw new IOException(file.getFileName() + " is for embeddings of " + ref.embeddingWidth() + " and "
                    + ref.classes() + " classes, the model has " + width + " and " + engine.manifest().classCount());
        }
    }

    /**
     * For a fine-tuned version without a reference of its own (its gate saw fewer than
     * {@link DriftReference#MIN_SAMPLES} validation inputs), loaded while drift is detected: the
     * reference on the newest unlabelled samples kept since drift was detected, at most
     * {@link #REFERENCE_SAMPLES}. They are the changed camera's inputs, which the version was
     * neither trained nor judged on: what its inputs look like, as a validation reference would
     * say. Empty when the version is not a fine-tune, no drift is detected, or fewer are kept.
     */
    private Optional<DriftReference> fromDriftedSamples(InferenceEngine serving, int loadedVersion) {
        Instant detectedAt;
        synchronized (this) {
            detectedAt = detected ? since : null;
        }
        Optional<SampleStore> store = samples.get();
        if (detectedAt == null || store.isEmpty() || !serving.manifest().provenance().containsKey("fine_tuned_from")) {
            return Optional.empty();
        }
        // Only those seen since the detection: the window that detected it may hold inputs from before the change.
        List<Path> files = store.get().list(model, true, true, REFERENCE_SAMPLES).stream()
                .filter(k -> !k.at().isBefore(detectedAt)).map(k -> store.get().input(model, k)).filter(Files::isRegularFile).toList();
        if (files.size() < DriftReference.MIN_SAMPLES) {
            Logger.warn("drift {} v{}: a fine-tune without a reference of its own, and {} unlabelled drifted samples "
                    + "kept, fewer than the {} a reference needs", model, loadedVersion, files.size(),
                    DriftReference.MIN_SAMPLES);
            return Optional.empty();
        }
        try (InferenceEngine engine = InferenceEngine.loadWithEmbedding(serving.bundle(), env, 0)) {
            DriftReference.Measured m = DriftReference.measure(engine, files, DRIFTED_BASIS);
            Logger.info("drift {} v{}: a fine-tune without a reference of its own, loaded while drift is detected: "
                    + "reference measured on the {} newest unlabelled drifted samples (inputs it was neither trained "
                    + "nor judged on)", model, loadedVersion, m.reference().samples());
            return Optional.of(m.reference());
        } catch (TuningDataException e) {
            Logger.warn("drift {} v{}: the drifted samples give no reference ({}); the anchor set's is used", model,
                    loadedVersion, e.getMessage());
            return Optional.empty();
        }
    }

    /** The reference on the version's anchor set, run on an engine of its own (the serving one's counters stay live). */
    private DriftReference fromAnchors(InferenceEngine serving, int loadedVersion) {
        Path dir = serving.bundle().dir();
        Path anchor = serving.bundle().anchorDir().orElseThrow(() -> new BundleException(dir, "drift: no "
                + DriftReference.FILE + " and no anchor set to compute the reference from"));
        long begin = System.nanoTime();
        List<Path> files = SampleDirectory.scan(anchor, serving.manifest().output().labels()).samples().stream()
                .map(SampleDirectory.Sample::file).toList();
        DriftReference.Measured measured;
        try (InferenceEngine engine = InferenceEngine.loadWithEmbedding(serving.bundle(), env, 0)) {
            measured = DriftReference.measure(engine, files, "anchor");
        } catch (TuningDataException e) {
            throw new BundleException(dir, "drift: no " + DriftReference.FILE + ", and its anchor set cannot give a "
                    + "reference: " + e.getMessage(), e);
        }
        measured.rejected().forEach(r -> Logger.warn("drift {} v{}: anchor left out of the reference: {}", model,
                loadedVersion, r));
        DriftReference ref = measured.reference();
        Logger.warn("drift {} v{}: no {}; reference computed on its {} anchor inputs in {} ms. Anchors are training "
                        + "inputs, on which the model is more confident than on new ones: expect more false drift "
                        + "than configured; a reference on held-out inputs (plateau models drift-reference) avoids it",
                model, loadedVersion, DriftReference.FILE, ref.samples(), (System.nanoTime() - begin) / 1_000_000);
        return ref;
    }

    // ---- inputs -------------------------------------------------------------------------------

    /** Adds one inference: the version and its embedding that made it, its input, its sample id when kept. */
    synchronized void observe(int servedVersion, Prediction p, float[] embedding, Path input, Optional<String> sample) {
        if (servedVersion != version) {
            serve(servedVersion);
        }
        send();
        DriftWindow.Input in = new DriftWindow.Input(window.reference().row(embedding, p.scores()), InputNames.of(input),
                sample, clock.instant());
        inputs++;
        DriftWindow.Change change = window.add(in);
        switch (change) {
            case DETECTED -> detected(in);
            case CLEARED -> cleared(in);
            case NONE -> {
                if (detected) {
                    sample.ifPresent(id -> markDrifted(List.of(id)));
                }
            }
        }
        updateView();
    }

    private void serve(int next) {
        DriftReference ref = references.get(next);
        if (ref == null) {
            throw new IllegalStateException("drift " + model + ": no reference for v" + next + " (loaded: "
                    + references.keySet() + ")");
        }
        if (window == null) {
            window = new DriftWindow(config, ref, detected);
        } else {
            Logger.info("drift {}: v{} -> v{}: window emptied, compared with v{}'s reference ({} {} inputs) from now "
                    + "on; drift stays {}", model, version, next, next, ref.samples(), ref.basis(),
                    detected ? "detected until its inputs clear it" : "clear");
            window.reset(ref);
        }
        references.keySet().removeIf(v -> v != next && v != version);
        version = next;
        DriftReference.Figures t = window.thresholds();
        Logger.info("drift {} v{}: every {} inputs the last {} are tested at false-alarm rate {}; thresholds "
                        + "confidence {} entropy {} classes {} embedding {}", model, next, config.checkEvery(),
                config.window(), config.falseAlarmRate(), fmt(t.confidence()), fmt(t.entropy()), fmt(t.classes()),
                fmt(t.embedding()));
    }

    private void detected(DriftWindow.Input last) {
        detected = true;
        driftId = UUID.randomUUID().toString();
        since = last.at();
        ObjectNode body = evidence();
        Logger.warn("drift-detected model={} v{} statistics={} {} window={} drift_id={}", model, version,
                body.get("exceeded"), summary(), window.size(), driftId);
        pending.add(new Pending("drift-detected", driftId, body));
        markDrifted(window.inputs().stream().flatMap(i -> i.sample().stream()).toList());
        save();
        send();
    }

    private void cleared(DriftWindow.Input last) {
        ObjectNode body = evidence();
        body.put("detected_at", since.toString());
        body.put("clear_checks", config.clearChecks());
        Logger.info("drift-cleared model={} v{} {} after {} checks within every threshold; detected since {} "
                + "drift_id={}", model, version, summary(), config.clearChecks(), since, driftId);
        pending.add(new Pending("drift-cleared", UUID.randomUUID().toString(), body));
        detected = false;
        driftId = null;
        since = last.at();
        save();
        send();
    }

    private void markDrifted(List<String> ids) {
        Optional<SampleStore> store = samples.get();
        if (ids.isEmpty() || store.isEmpty()) {
            return;
        }
        try {
            store.get().markDrifted(model, ids);
        } catch (UncheckedIOException | IllegalArgumentException e) {
            // The drift stands; a sample not marked is only kept less long.
            Logger.warn("drift {}: {} sample(s) not marked drifted: {}", model, ids.size(), e.getMessage());
        }
    }

    /** The event body: what was compared, how, and the inputs that drifted most. */
    private ObjectNode evidence() {
        DriftWindow.Check check = window.lastCheck().orElseThrow();
        DriftReference ref = window.reference();
        DriftReference.Figures t = window.thresholds();
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.put("version", version);
        body.put("drift_id", driftId);
        body.put("window", config.window());
        body.put("check_every", config.checkEvery());
        body.put("false_alarm_rate", config.falseAlarmRate());
        body.put("test", "every check_every inputs, each statistic of the last window against its threshold at "
                + "false_alarm_rate/4 (Bonferroni over 4)");
        ObjectNode reference = body.putObject("reference");
        reference.put("basis", ref.basis());
        reference.put("samples", ref.samples());
        reference.put("mean_confidence", ref.meanConfidence());
        reference.put("mean_entropy", ref.meanEntropy());
        List<DriftWindow.Input> in = window.inputs();
        ObjectNode stats = body.putObject("statistics");
        for (int i = 0; i < DriftReference.STATISTICS.size(); i++) {
            String name = DriftReference.STATISTICS.get(i);
            ObjectNode s = stats.putObject(name);
            s.put("value", check.statistics().get(i));
            s.put("threshold", t.get(i));
            s.put("exceeded", check.exceeded().contains(name));
            if (i == 0) {
                s.put("window_mean", in.stream().mapToDouble(x -> x.row().confidence()).average().orElse(0));
            } else if (i == 1) {
                s.put("window_mean", in.stream().mapToDouble(x -> x.row().entropy()).average().orElse(0));
            }
        }
        ArrayNode exceeded = body.putArray("exceeded");
        check.exceeded().forEach(exceeded::add);
        body.put("first_input_at", in.get(0).at().toString());
        body.put("last_input_at", in.get(in.size() - 1).at().toString());
        ArrayNode most = body.putArray("most_drifted");
        for (DriftWindow.Input x : window.mostDrifted(MOST_DRIFTED)) {
            ObjectNode o = most.addObject();
            x.sample().ifPresent(id -> o.put("sample", id));
            o.put("file", x.file());
            o.put("distance", x.row().distance());
            o.put("confidence", x.row().confidence());
            o.put("at", x.at().toString());
        }
        return body;
    }

    private String summary() {
        DriftWindow.Check c = window.lastCheck().orElseThrow();
        DriftReference.Figures t = window.thresholds();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < DriftReference.STATISTICS.size(); i++) {
            out.append(i == 0 ? "" : " ").append(DriftReference.STATISTICS.get(i)).append('=')
                    .append(fmt(c.statistics().get(i))).append('/').append(fmt(t.get(i)));
        }
        return out.toString();
    }

    /** Hands the pending events to the fleet link in order; stops at the first one not taken. */
    private void send() {
        boolean sent = false;
        while (!pending.isEmpty()) {
            Pending next = pending.get(0);
            boolean taken;
            try {
                taken = events.send(next.type(), next.eventId(), JSON.convertValue(next.body(), BODY));
            } catch (RuntimeException e) {
                Logger.warn("drift {}: {} event not stored yet, tried again at the next input: {}", model, next.type(),
                        e.getMessage());
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

    boolean detected() {
        return "detected".equals(view.get("state"));
    }

    /** For health: state, since, drift id, version, window fill, the last check's statistics and thresholds. */
    Map<String, Object> view() {
        return view;
    }

    private void updateView() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("state", detected ? "detected" : "clear");
        if (since != null) {
            v.put("since", since.toString());
        }
        if (driftId != null) {
            v.put("drift_id", driftId);
        }
        v.put("version", version);
        v.put("inputs", inputs);
        if (window != null) {
            v.put("window", window.size() + "/" + config.window());
            v.put("reference", window.reference().basis() + " (" + window.reference().samples() + " inputs)");
            window.lastCheck().ifPresent(c -> {
                Map<String, Object> s = new LinkedHashMap<>();
                for (int i = 0; i < DriftReference.STATISTICS.size(); i++) {
                    s.put(DriftReference.STATISTICS.get(i), Map.of("value", c.statistics().get(i), "threshold",
                            window.thresholds().get(i)));
                }
                v.put("last_check", s);
            });
            if (detected) {
                v.put("within", window.within());
                v.put("clear_checks", config.clearChecks());
            }
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
        state.put("model", model);
        state.put("version", version);
        state.put("state", detected ? "detected" : "clear");
        state.put("drift_id", driftId);
        state.put("since", since == null ? null : since.toString());
        ArrayNode queued = state.putArray("pending");
        pending.forEach(p -> queued.addObject().put("type", p.type()).put("event_id", p.eventId())
                .set("body", p.body()));
        try {
            Files.createDirectories(file.getParent());
            DurableFiles.replace(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
        } catch (IOException | UncheckedIOException e) {
            // The decision stands in memory and in the log; the next change writes again.
            Logger.error("drift {}: cannot write {}: {}", model, file, e.getMessage());
        }
    }

    private void restore() {
        if (!Files.isRegularFile(file)) {
            updateView();
            return;
        }
        try {
            JsonNode state = JSON.readTree(file.toFile());
            if (state == null || state.path("v").asInt() != FORMAT || !model.equals(state.path("model").asText())) {
                throw new IOException("not a drift state of format " + FORMAT + " for model " + model);
            }
            detected = "detected".equals(state.path("state").asText());
            driftId = state.hasNonNull("drift_id") ? state.get("drift_id").asText() : null;
            since = state.hasNonNull("since") ? Instant.parse(state.get("since").asText()) : null;
            for (JsonNode p : state.path("pending")) {
                if (!p.path("body").isObject() || !p.path("event_id").isTextual()) {
                    throw new IOException("a pending event has no body or no event_id");
                }
                pending.add(new Pending(p.path("type").asText(), p.get("event_id").asText(), (ObjectNode) p.get("body")));
            }
            Logger.info("drift {}: restored {}{}", model, detected ? "DETECTED (since " + since + ")" : "clear",
                    pending.isEmpty() ? "" : "; " + pending.size() + " event(s) to send");
        } catch (IOException | RuntimeException e) {
            Logger.error("drift {}: state {} unreadable, starting clear: {}", model, file, e.getMessage());
            detected = false;
            driftId = null;
            since = null;
            pending.clear();
        }
        updateView();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }
}
