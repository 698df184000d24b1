package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InferenceException;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.LatencyHistogram;
import dev.plateau.inference.ModelStats;
import dev.plateau.inference.Prediction;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.BundleException;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.FigureCounter;
import dev.plateau.store.Figures;
import dev.plateau.store.ModelStore;
import dev.plateau.store.Probation;
import dev.plateau.store.ProbationPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * The store's active version of one model, swappable while inputs flow. A new version is
 * loaded and checked on an anchor sample before it takes traffic; the swap waits for in-flight
 * inferences (they hold the read lock) and the old session is closed after them, so no input is
 * dropped. After an activation the new version is on probation against the previous version's
 * recorded figures; a rollback by probation swaps straight back.
 */
final class ModelSlot implements AutoCloseable {
    private final String name;
    private final ModelStore store;
    private final OrtEnvironment env;
    private final int threads;
    private final Clock clock;
    private final ProbationPolicy policy;
    private final BiConsumer<String, Map<String, Object>> events;
    private final Optional<Loaded> loaded;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final LatencyHistogram handling = new LatencyHistogram();
    private volatile InferenceEngine engine;
    private volatile int version;
    private FigureCounter figures = new FigureCounter();
    private Probation probation;
    /** What health reports show of probation; written under the slot's lock, read without it. */
    private volatile Map<String, Object> probationView = Map.of("state", "none");

    /** Told of each version the slot loads, after its anchor check and before it takes traffic. */
    interface Loaded {
        void loaded(int version, InferenceEngine engine);

        /** Whether the inputs no longer look like the serving version's reference (the drift monitor's verdict). */
        default boolean driftDetected() {
            return false;
        }
    }

    private ModelSlot(String name, ModelStore store, OrtEnvironment env, int threads, Clock clock,
                      ProbationPolicy policy, BiConsumer<String, Map<String, Object>> events, Optional<Loaded> loaded) {
        this.loaded = loaded;
        this.name = name;
        this.store = store;
        this.env = env;
        this.threads = threads;
        this.clock = clock;
        this.policy = policy;
        this.events = events;
    }

    /** Opens the store for the shipped bundle's model (recovering it) and loads the active version. */
    /** @param events told of decisions (event type, body) for the fleet: model-activated, rollback */
    static ModelSlot open(Path shippedBundle, ModelStore store, OrtEnvironment env, int threads, Clock clock,
                          ProbationPolicy policy, BiConsumer<String, Map<String, Object>> events) {
        return open(shippedBundle, store, env, threads, clock, policy, events, Optional.empty());
    }

    /**
     * As above; with {@code loaded}, every version is loaded with its head's input embedding
     * exposed ({@link Served#embedding()}) and {@code loaded} is told of it before it serves.
     */
    static ModelSlot open(Path shippedBundle, ModelStore store, OrtEnvironment env, int threads, Clock clock,
                          ProbationPolicy policy, BiConsumer<String, Map<String, Object>> events,
                          Optional<Loaded> loaded) {
        String name = ModelBundle.open(shippedBundle).manifest().name();
        List<String> findings = store.open(name, shippedBundle);
        findings.forEach(f -> Logger.warn("store {}: {}", name, f));
        ModelSlot slot = new ModelSlot(name, store, env, threads, clock, policy, events, loaded);
        int active = store.active(name);
        slot.engine = slot.loadChecked(active, store.activeDir(name));
        slot.version = active;
        return slot;
    }

    String name() {
        return name;
    }

    int version() {
        return version;
    }

    InferenceEngine engine() {
        return engine;
    }

    ModelStats.Snapshot stats() {
        return engine.stats().snapshot();
    }

    /** {@code state} (none, running, kept, rolled_back, superseded), the version and the reason; lock-free. */
    Map<String, Object> probation() {
        return probationView;
    }

    private InferenceEngine loadChecked(int version, Path dir) {
        InferenceEngine next = loaded.isPresent() ? InferenceEngine.loadWithEmbedding(ModelBundle.open(dir), env, threads)
                : InferenceEngine.load(ModelBundle.open(dir), env, threads);
        Optional<Path> anchor = next.bundle().anchorDir();
        if (anchor.isPresent()) {
            List<SampleDirectory.Sample> samples =
                    SampleDirectory.scan(anchor.get(), next.manifest().output().labels()).samples();
            if (!samples.isEmpty()) {
                try {
                    next.infer(samples.get(0).file());
                } catch (InputRejectedException | InferenceException e) {
                    next.close();
                    throw new BundleException(dir, "fails its own anchor sample: " + e.getMessage(), e);
                }
            }
        }
        try {
            loaded.ifPresent(l -> l.loaded(version, next));
        } catch (RuntimeException e) {
            next.close();
            throw e;
        }
        return next;
    }

    /**
     * One classification and the version, with its manifest, that made it; the head's input
     * embedding when the slot exposes it.
     */
    record Served(Prediction prediction, int version, Manifest manifest, Optional<float[]> embedding) {}

    /** Classifies one file on the active version; a swap waits for this call to finish. */
    Served infer(Path file) throws InputRejectedException {
        return serve((engine, embedding) -> embedding == null ? engine.infer(file) : engine.infer(file, embedding));
    }

    /** Classifies one preprocessed input tensor (see {@link InferenceEngine#infer(String, float[], float[])}). */
    Served infer(String name, float[] tensor) throws InputRejectedException {
        return serve((engine, embedding) -> engine.infer(name, tensor, embedding));
    }

    /** One call on an engine, as {@link #serve} makes it; {@code embedding} null when none is asked for. */
    private interface Call {
        Prediction on(InferenceEngine engine, float[] embedding) throws InputRejectedException;
    }

    /** Runs {@code call} on the active version, filling the head's input embedding when the slot exposes it. */
    private Served serve(Call call) throws InputRejectedException {
        Prediction p = null;
        InferenceException failure = null;
        lock.readLock().lock();
        // Read under the lock, which a swap holds to change both: the version is the one that infers.
        InferenceEngine used = engine;
        int served = version;
        float[] embedding = used.embeddingWidth().map(float[]::new).orElse(null);
        try {
            p = call.on(used, embedding);
        } catch (InferenceException e) {
            failure = e;
        } finally {
            lock.readLock().unlock();
        }
        // Outside the read lock: a swap holds this object's monitor while it waits for the write lock.
        observed(p);
        if (failure != null) {
            throw failure;
        }
        return new Served(p, served, used.manifest(), Optional.ofNullable(embedding));
    }

    /** Records how long one input took from its source to its reports (the full path, not just the model run). */
    void handled(long micros) {
        handling.record(micros);
    }

    /** The full-path times of every version served since start. */
    LatencyHistogram.Cumulative handling() {
        return handling.cumulative();
    }

    private synchronized void observed(Prediction p) {
        if (p == null) {
            figures.recordError();
        } else {
            figures.record(p);
        }
        if (probation != null) {
            Probation.State state = p == null ? probation.recordError() : probation.record(p);
            settle(state);
        }
    }

    /** Follows the store: swaps to a newly activated version, ends a probation window by time. */
    synchronized void poll() {
        if (probation != null) {
            settle(probation.tick());
        }
        int active = store.active(name);
        if (active != version) {
            swapTo(active, true);
        }
    }

    private void settle(Probation.State state) {
        if (state == Probation.State.RUNNING) {
            return;
        }
        Probation ended = probation;
        probation = null;
        ended.decision().ifPresent(d -> {
            Logger.info("probation {} v{}: {} ({})", name, d.version(), d.state().name().toLowerCase(), d.reason());
            probationView = Map.of("state", d.state().name().toLowerCase(), "version", d.version(),
                    "reason", d.reason());
            events.accept("probation-ended", event("version", d.version(), "state",
                    d.state().name().toLowerCase(), "reason", d.reason()));
        });
        if (state == Probation.State.ROLLED_BACK) {
            // The swap sends the rollback event: the store journaled probation's reason with it.
            swapTo(store.active(name), false);
        }
    }

    private void swapTo(int next, boolean probationAfter) {
        int previous = version;
        InferenceEngine fresh;
        try {
            fresh = loadChecked(next, store.activeDir(name));
        } catch (RuntimeException e) {
            Logger.error("model {}: version {} does not load, rolling back to {}: {}", name, next, previous,
                    e.getMessage());
            String reason = "version " + next + " failed to load: " + e.getMessage();
            store.rollback(name, previous, next, reason);
            events.accept("rollback", event("version", previous, "from", next, "reason", reason));
            return;
        }
        Figures before = figures.figures();
        if (figures.samples() > 0) {
            store.recordFigures(name, previous, before);
        }
        InferenceEngine old;
        lock.writeLock().lock();
        try {
            old = engine;
            engine = fresh;
            version = next;
        } finally {
            lock.writeLock().unlock();
        }
        old.close();
        figures = new FigureCounter();
        Logger.info("model {}: now serving version {} (was {})", name, next, previous);
        announce(next, previous);
        if (probationAfter) {
            Optional<Figures> baseline = store.figures(name, previous);
            if (baseline.isPresent() && baseline.get().samples() > 0) {
                probation = new Probation(store, new ModelStore.Activation(name, next, previous),
                        probationBaseline(baseline.get(), fresh.manifest(), next, previous), policy, clock, d -> { });
                probationView = Map.of("state", "running", "version", next, "since", clock.instant().toString());
            } else {
                store.record(name, "probation-skipped", "version", next, "reason",
                        "no recorded figures of version " + previous + " to compare with");
                Logger.warn("model {}: version {} not on probation: no figures of version {} yet", name, next, previous);
                probationView = Map.of("state", "none", "version", next, "reason", "no figures of version "
                        + previous + " to compare with");
            }
        }
    }

    /**
     * What probation compares version {@code next} with: the previous version's recorded figures;
     * but for a fine-tune activated while drift is detected, the class shares of the labelled data
     * it was trained and judged on (its manifest's provenance) stand in for the previous version's
     * predicted ones. Those are the old model's errors on the changed inputs (a darker camera
     * makes it call most things one class), which a fine-tune that fixes them must move away
     * from; the operator's labels of a sample of those very inputs say what they hold.
     * Confidence, entropy, errors and latency are compared with the previous version as always.
     */
    private Figures probationBaseline(Figures previousFigures, Manifest manifest, int next, int previous) {
        if (loaded.isEmpty() || !loaded.get().driftDetected()) {
            return previousFigures;
        }
        Optional<double[]> shares = labelledShares(manifest);
        if (shares.isEmpty()) {
            return previousFigures;
        }
        Logger.info("probation {} v{}: drift is detected, so its class distribution is compared with the shares of "
                + "its labelled data {}, not with version {}'s predictions on the changed inputs {}", name, next,
                java.util.Arrays.toString(shares.get()), previous,
                java.util.Arrays.toString(previousFigures.classShares()));
        return previousFigures.withClassShares(shares.get());
    }

    /** The class shares of a fine-tune's labelled data (training, selection and validation), in label order. */
    private static Optional<double[]> labelledShares(Manifest manifest) {
        if (!(manifest.provenance().get("data") instanceof Map<?, ?> data)) {
            return Optional.empty();
        }
        List<String> labels = manifest.output().labels();
        double[] counts = new double[labels.size()];
        double total = 0;
        for (String part : List.of("train_per_class", "selection_per_class", "validation_per_class")) {
            if (data.get(part) instanceof Map<?, ?> perClass) {
                for (int i = 0; i < labels.size(); i++) {
                    if (perClass.get(labels.get(i)) instanceof Number n) {
                        counts[i] += n.doubleValue();
                        total += n.doubleValue();
                    }
                }
            }
        }
        if (total == 0) {
            return Optional.empty();
        }
        for (int i = 0; i < counts.length; i++) {
            counts[i] /= total;
        }
        return Optional.of(counts);
    }

    /**
     * Tells the fleet what the swap was: a {@code rollback} when the store's last change to
     * {@code active} was one (by probation, {@code plateau models rollback} or a fleet command),
     * with its reason; otherwise {@code model-activated}.
     */
    private void announce(int next, int previous) {
        Optional<Map<String, Object>> change = store.lastChange(name);
        boolean rollback = change.isPresent() && "rollback".equals(change.get().get("event"))
                && Integer.valueOf(next).equals(change.get().get("version"));
        if (rollback) {
            events.accept("rollback", event("version", next, "from", previous,
                    "reason", String.valueOf(change.get().get("reason"))));
        } else {
            events.accept("model-activated", event("version", next, "previous", previous));
        }
    }

    private Map<String, Object> event(Object... pairs) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", name);
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            body.put((String) pairs[i], pairs[i + 1]);
        }
        return body;
    }

    /** Records the active version's figures, so a later activation has a baseline. */
    synchronized void saveFigures() {
        if (figures.samples() > 0) {
            store.recordFigures(name, version, figures.figures());
        }
    }

    @Override
    public synchronized void close() {
        saveFigures();
        lock.writeLock().lock();
        try {
            engine.close();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
