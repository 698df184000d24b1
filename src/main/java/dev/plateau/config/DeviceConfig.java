package dev.plateau.config;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Everything a device runs with, read once at start from YAML by {@link ConfigLoader}.
 * Relative paths are relative to the working directory of the process.
 */
public record DeviceConfig(
        Device device,
        Path stateDir,
        Inference inference,
        List<ModelConfig> models,
        List<SourceConfig> sources,
        Samples samples,
        Optional<MqttConfig> mqtt,
        Logging logging,
        Tuning tuning,
        Probation probation) {

    public DeviceConfig {
        Checks.present("device", device);
        Checks.present("state_dir", stateDir);
        Checks.present("inference", inference);
        models = List.copyOf(models);
        sources = List.copyOf(sources);
        Checks.present("samples", samples);
        Checks.present("mqtt", mqtt);
        Checks.present("logging", logging);
        Checks.present("tuning", tuning);
        Checks.present("probation", probation);
        if (models.isEmpty()) {
            throw new IllegalArgumentException("models: at least one model is required");
        }
        Set<String> names = new HashSet<>();
        for (ModelConfig model : models) {
            if (!names.add(model.name())) {
                throw new IllegalArgumentException("models: duplicate name '" + model.name() + "'");
            }
        }
        for (SourceConfig source : sources) {
            if (!names.contains(source.model())) {
                throw new IllegalArgumentException("sources: " + source.name() + " names unknown model '"
                        + source.model() + "', expected one of " + names);
            }
        }
    }

    /** Who this device is in the fleet: topics are {@code plateau/v1/{group}/{node}/...}. */
    public record Device(String group, String node) {
        public Device {
            Checks.notBlank("device.group", group);
            Checks.notBlank("device.node", node);
        }
    }

    /**
     * ONNX Runtime's process-wide thread pool, shared by every model that does not ask for
     * threads of its own.
     */
    public record Inference(int threads) {
        public Inference {
            Checks.inRange("inference.threads", threads, 1, 64);
        }
    }

    /** A model bundle to load; {@code threads == 0} means the shared pool. */
    public record ModelConfig(String name, Path bundle, int threads) {
        public ModelConfig {
            Checks.notBlank("models[].name", name);
            Checks.present("models[].bundle", bundle);
            Checks.inRange("models[].threads", threads, 0, 64);
        }
    }

    /** The on-disk ring of recent inputs with their predictions, kept for labelling. */
    public record Samples(boolean enabled, int maxPerModel) {
        public Samples {
            Checks.inRange("samples.max_per_model", maxPerModel, 1, 1_000_000);
        }
    }

    /**
     * How long a newly activated version (a fine-tune's or a deploy's) is on probation, and how much
     * slower than the previous one it may be; the other thresholds are the store's defaults.
     */
    public record Probation(int windowSeconds, int windowSamples, double maxLatencyRatio) {
        /** Ten minutes or 500 samples, p99 latency up to 3x the previous version's. */
        public static final Probation DEFAULTS = new Probation(600, 500, 3.0);

        public Probation {
            Checks.inRange("probation.window_s", windowSeconds, 1, 7 * 86_400);
            Checks.inRange("probation.window_samples", windowSamples, 0, 10_000_000);
            Checks.inRange("probation.max_latency_ratio", maxLatencyRatio, 1.0, 1000.0);
        }
    }

    /**
     * Fine-tuning on the device. {@code dataRoots}: the only directories (and what lies under
     * them, after symlinks are resolved) a fleet {@code finetune} may read data from; empty means
     * only the sample store.
     */
    public record Tuning(List<Path> dataRoots) {
        public Tuning {
            dataRoots = List.copyOf(dataRoots);
            for (Path root : dataRoots) {
                if (!root.isAbsolute()) {
                    throw new IllegalArgumentException("tuning.data_roots: expected absolute paths, found '" + root + "'");
                }
            }
        }

        public static Tuning defaults() {
            return new Tuning(List.of());
        }
    }

    public enum Level { TRACE, DEBUG, INFO, WARN, ERROR }

    /** Log lines go to stdout; a rolling file is optional. */
    public record Logging(Level level, Optional<Path> file, int fileMaxMb, int fileKeep) {
        public Logging {
            Checks.present("logging.level", level);
            Checks.present("logging.file", file);
            Checks.inRange("logging.file_max_mb", fileMaxMb, 1, 10_000);
            Checks.inRange("logging.file_keep", fileKeep, 1, 1_000);
        }
    }
}
