package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import dev.plateau.config.DeviceConfig;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.SampleStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The drift monitors of the daemon's models, one {@link DriftMonitor} per model with a
 * {@code drift} block: built as the models load (each version's reference is prepared before it
 * serves), shown per model in health and in the one-line status (both lock-free).
 */
final class Drifts {
    private final Path stateDir;
    private final Clock clock;
    private final AlarmTracker.Events events;
    private final Map<String, DriftMonitor> monitors = new ConcurrentHashMap<>();
    private volatile Optional<SampleStore> samples = Optional.empty();

    Drifts(Path stateDir, Clock clock, AlarmTracker.Events events) {
        this.stateDir = stateDir;
        this.clock = clock;
        this.events = events;
    }

    /**
     * The hook for {@link ModelSlot#open} of {@code model}: empty without a {@code drift} block;
     * otherwise a new monitor, told of every version the slot loads.
     */
    Optional<ModelSlot.Loaded> monitor(DeviceConfig.ModelConfig model, OrtEnvironment env) {
        if (model.drift().isEmpty()) {
            return Optional.empty();
        }
        // By the manifest's name, as the slot, the sample store and health name the model.
        String name = ModelBundle.open(model.bundle()).manifest().name();
        DriftMonitor m = new DriftMonitor(name, model.drift().get(), stateDir, clock, env, events,
                () -> samples);
        monitors.put(name, m);
        return Optional.of(new ModelSlot.Loaded() {
            @Override
            public void loaded(int version, InferenceEngine engine) {
                m.loaded(version, engine);
            }

            @Override
            public boolean driftDetected() {
                return m.detected();
            }
        });
    }

    /** Where drifted samples are marked; once the sample store is open. */
    void useSamples(Optional<SampleStore> store) {
        samples = store;
    }

    Optional<DriftMonitor> of(String model) {
        return Optional.ofNullable(monitors.get(model));
    }

    /** The model's drift state for health, or empty when it has no monitor. */
    Optional<Map<String, Object>> view(String model) {
        return of(model).map(DriftMonitor::view);
    }

    /** {@code "; drift: a, b"} for the status line, or nothing. */
    String summary() {
        List<String> drifted = monitors.entrySet().stream().filter(e -> e.getValue().detected()).map(Map.Entry::getKey)
                .sorted().toList();
        return drifted.isEmpty() ? "" : "; drift: " + String.join(", ", drifted);
    }

    /** Sends the events a restart left pending; once the fleet link exists. */
    void announcePending() {
        monitors.values().forEach(DriftMonitor::announcePending);
    }
}
