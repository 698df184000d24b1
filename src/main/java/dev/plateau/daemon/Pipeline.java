package dev.plateau.daemon;

import dev.plateau.inference.InferenceException;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.Prediction;
import dev.plateau.sensor.InputHandler;
import dev.plateau.store.SampleStore;
import dev.plateau.store.StoreException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * Infers one source's inputs on its model and sends results to the log, the sample store, the
 * source's deck-level alarm and the model's drift monitor (when they exist), the recent
 * predictions and a {@link Listener} (the fleet's result topic and input-rejected events). The
 * local HTTP API's inputs take the same path, as the source {@code http}.
 */
final class Pipeline implements InputHandler {
    /** Told of every outcome, on the source's thread; must return quickly. */
    interface Listener {
        void inferred(String source, String model, int version, Path input, Prediction p);

        void rejected(String source, String model, InputRejectedException.Reason reason, String detail);
    }

    private final ModelSlot slot;
    private final Optional<SampleStore> samples;
    private final Listener listener;
    private final SampleHealth sampleHealth;
    private final Optional<AlarmTracker> alarm;
    private final Optional<DriftMonitor> drift;
    private final RecentPredictions recent;

    /** @param drift the model's drift monitor, when it has one; the slot then exposes embeddings */
    Pipeline(ModelSlot slot, Optional<SampleStore> samples, Listener listener, SampleHealth sampleHealth,
             Optional<AlarmTracker> alarm, Optional<DriftMonitor> drift, RecentPredictions recent) {
        this.drift = drift;
        this.slot = slot;
        this.samples = samples;
        this.listener = listener;
        this.sampleHealth = sampleHealth;
        this.alarm = alarm;
        this.recent = recent;
    }

    /** What became of one input: how a source files it, and the classification or the refusal. */
    record Handled(Result result, Optional<ModelSlot.Served> served, Optional<InputRejectedException> rejection) {
        static Handled failed(String reason) {
            return new Handled(new Result(Outcome.FAILED, reason), Optional.empty(), Optional.empty());
        }
    }

    @Override
    public Result handle(String source, Path file) {
        return run(source, file).result();
    }

    /** Infers {@code file} and reports it; the full path's time goes to the model's statistics. */
    Handled run(String source, Path file) {
        long start = System.nanoTime();
        String model = slot.name();
        ModelSlot.Served served;
        try {
            served = slot.infer(file);
        } catch (InputRejectedException e) {
            return rejected(source, e);
        } catch (InferenceException e) {
            Logger.error(e, "inference-failed source={} model={} v{} file={}", source, model, slot.version(),
                    InputNames.path(file));
            return Handled.failed(e.getMessage());
        }
        Prediction p = served.prediction();
        int version = served.version();
        Logger.info("result source={} model={} v{} file={} label={} score={} latency_us={}", source, model, version,
                InputNames.of(file), p.label(), String.format("%.3f", p.score()), p.latencyMicros());
        Optional<String> sample = samples.flatMap(store -> keep(store, source, model, version, file, p));
        alarm.ifPresent(a -> observe(a, source, version, served, file, sample));
        drift.ifPresent(d -> observe(d, served, file, sample));
        recent.add(model, source, file, version, p);
        listener.inferred(source, model, version, file, p);
        slot.handled((System.nanoTime() - start) / 1000);
        return new Handled(Result.INFERRED, Optional.of(served), Optional.empty());
    }

    /**
     * Infers one preprocessed tensor (the Open Inference Protocol's JSON form) named {@code name}:
     * statistics, probation, the drift monitor, recent predictions and reports as for a file; not
     * kept in the sample store (it keeps inputs as the files a fine-tune reads) nor scored by an
     * alarm (an alarm belongs to a source, a sensor's stream of windows).
     */
    Handled tensor(String source, String name, float[] values) {
        long start = System.nanoTime();
        String model = slot.name();
        ModelSlot.Served served;
        try {
            served = slot.infer(name, values);
        } catch (InputRejectedException e) {
            return rejected(source, e);
        } catch (InferenceException e) {
            Logger.error(e, "inference-failed source={} model={} v{} input={}", source, model, slot.version(), name);
            return Handled.failed(e.getMessage());
        }
        Prediction p = served.prediction();
        Logger.info("result source={} model={} v{} input={} label={} score={} latency_us={}", source, model,
                served.version(), name, p.label(), String.format("%.3f", p.score()), p.latencyMicros());
        drift.ifPresent(d -> observe(d, served, Path.of(name), Optional.empty()));
        recent.add(model, source, name, served.version(), p);
        listener.inferred(source, model, served.version(), Path.of(name), p);
        slot.handled((System.nanoTime() - start) / 1000);
        return new Handled(Result.INFERRED, Optional.of(served), Optional.empty());
    }

    private Handled rejected(String source, InputRejectedException e) {
        String model = slot.name();
        Logger.warn("input-rejected source={} model={} reason={}: {}", source, model, e.reason().label(),
                e.getMessage());
        listener.rejected(source, model, e.reason(), e.getMessage());
        return new Handled(new Result(Outcome.REJECTED, e.reason().label() + ": " + e.getMessage()), Optional.empty(),
                Optional.of(e));
    }

    private static void observe(AlarmTracker alarm, String source, int version, ModelSlot.Served served, Path file,
                                Optional<String> sample) {
        try {
            alarm.observe(version, served.manifest(), served.prediction(), file, sample);
        } catch (RuntimeException e) {
            // The result stands and the input is filed as inferred; the next window is scored again.
            Logger.error(e, "alarm {}: window {} not scored", source, InputNames.of(file));
        }
    }

    private static void observe(DriftMonitor drift, ModelSlot.Served served, Path file, Optional<String> sample) {
        if (served.embedding().isEmpty()) {
            return;
        }
        try {
            drift.observe(served.version(), served.prediction(), served.embedding().get(), file, sample);
        } catch (RuntimeException e) {
            // The result stands; the drift window misses one input.
            Logger.error(e, "drift {}: input {} not observed", served.manifest().name(), InputNames.of(file));
        }
    }

    /** The sample's id in the store, or empty when it could not be kept. */
    private Optional<String> keep(SampleStore store, String source, String model, int version, Path file,
                                  Prediction p) {
        try {
            String id = store.add(model, version, source, file, p);
            sampleHealth.stored(model);
            return Optional.of(id);
        } catch (UncheckedIOException | StoreException e) {
            // A full disk must not stop inference; the result was already logged.
            sampleHealth.failed(model, e);
            return Optional.empty();
        }
    }
}
