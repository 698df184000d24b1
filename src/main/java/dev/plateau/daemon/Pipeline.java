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
 * Infers one source's inputs on its model and sends results to the log, the sample store and a
 * {@link Listener} (the fleet's result topic and input-rejected events).
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

    Pipeline(ModelSlot slot, Optional<SampleStore> samples, Listener listener, SampleHealth sampleHealth) {
        this.slot = slot;
        this.samples = samples;
        this.listener = listener;
        this.sampleHealth = sampleHealth;
    }

    @Override
    public Result handle(String source, Path file) {
        String model = slot.name();
        int version = slot.version();
        Prediction p;
        try {
            p = slot.infer(file);
        } catch (InputRejectedException e) {
            Logger.warn("input-rejected source={} model={} reason={}: {}", source, model, e.reason().label(),
                    e.getMessage());
            listener.rejected(source, model, e.reason(), e.getMessage());
            return new Result(Outcome.REJECTED, e.reason().label() + ": " + e.getMessage());
        } catch (InferenceException e) {
            Logger.error(e, "inference-failed source={} model={} v{} file={}", source, model, version,
                    InputNames.path(file));
            return new Result(Outcome.FAILED, e.getMessage());
        }
        Logger.info("result source={} model={} v{} file={} label={} score={} latency_us={}", source, model, version,
                InputNames.of(file), p.label(), String.format("%.3f", p.score()), p.latencyMicros());
        samples.ifPresent(store -> keep(store, source, model, version, file, p));
        listener.inferred(source, model, version, file, p);
        return Result.INFERRED;
    }

    private void keep(SampleStore store, String source, String model, int version, Path file, Prediction p) {
        try {
            store.add(model, version, source, file, p);
            sampleHealth.stored(model);
        } catch (UncheckedIOException | StoreException e) {
            // A full disk must not stop inference; the result was already logged.
            sampleHealth.failed(model, e);
        }
    }
}
