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
        Optional<HttpConfig> http,
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
        Checks.present("http", http);
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

        /** When the config does not say: one thread per core, at most 4. */
        public static int defaultThreads() {
            return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        }
    }

    /**
     * A model bundle to load; {@code threads == 0} means the shared pool. With {@code drift}, the
     * model's live inputs are compared with its active version's reference figures.
     */
    public record ModelConfig(String name, Path bundle, int threads, Optional<Drift> drift) {
        public ModelConfig {
            Checks.notBlank("models[].name", name);
            Checks.present("models[].bundle", bundle);
            Checks.inRange("models[].threads", threads, 0, 64);
            Checks.present("models[].drift", drift);
        }

        /** A model without a drift monitor. */
        public ModelConfig(String name, Path bundle, int threads) {
            this(name, bundle, threads, Optional.empty());
        }
    }

    /**
     * A model's drift monitor: every {@code checkEvery} inputs, once {@code window} have been
     * seen, the last {@code window} inputs are tested against the active version's reference;
     * a clean window exceeds a threshold with probability at most {@code falseAlarmRate} (per
     * check). A detected drift clears after {@code clearChecks} checks in a row within every threshold.
     */
    public record Drift(int window, int checkEvery, double falseAlarmRate, int clearChecks) {
        /**
         * 200 inputs: the mean confidence of a window is then known to about 0.01 (the shipped
         * camera model's confidences spread 0.15), while a camera at 2 Hz fills it in under 2 minutes.
         */
        public static final int DEFAULT_WINDOW = 200;
        /** The window is kept in memory and its most drifted inputs are sent with each event. */
        public static final int MAX_WINDOW = 10_000;
        /** Every 50 inputs: four tests per window's worth of inputs. */
        public static final int DEFAULT_CHECK_EVERY = 50;
        /**
         * One false alarm in 10,000 checks: a camera at 2 Hz checked every 50 inputs is checked
         * 3,456 times a day, so a clean camera raises about one false drift a month.
         */
        public static final double DEFAULT_FALSE_ALARM_RATE = 1e-4;
        /** Smallest rate: below it the thresholds sit where the reference cannot say how rare a window is. */
        public static final double MIN_FALSE_ALARM_RATE = 1e-9;
        /** Largest rate: a monitor that cries wolf one check in ten is not one. */
        public static final double MAX_FALSE_ALARM_RATE = 0.1;
        /** Four checks (one window's worth of inputs) within every threshold clear a detected drift. */
        public static final int DEFAULT_CLEAR_CHECKS = 4;
        public static final int MAX_CLEAR_CHECKS = 10_000;

        public Drift {
            Checks.inRange("models[].drift.window", window, 10, MAX_WINDOW);
            Checks.inRange("models[].drift.check_every", checkEvery, 1, window);
            Checks.inRange("models[].drift.false_alarm_rate", falseAlarmRate, MIN_FALSE_ALARM_RATE,
                    MAX_FALSE_ALARM_RATE);
            Checks.inRange("models[].drift.clear_checks", clearChecks, 1, MAX_CLEAR_CHECKS);
        }
    }

    /** The on-disk ring of recent inputs with their predictions, kept for labelling. */
    public record Samples(boolean enabled, int maxPerModel) {
        public Samples {
            Checks.inRange("samples.max_per_model", maxPerModel, 1, 1_000_000);
        }
    }

    /**
     * How long a newly activated version (a fine-tune's or a deploy's) is on probation, how much
     * slower than the previous one it may be, and how far its mean top-1 confidence may fall and its
     * mean prediction entropy (nats) rise; the other thresholds are the store's defaults.
     */
    public record Probation(int windowSeconds, int windowSamples, double maxLatencyRatio, double maxConfidenceDrop,
                            double maxEntropyRise) {
        /** Ten minutes or 500 samples, p99 latency up to 3x the previous version's, confidence -0.15, entropy +0.3. */
        public static final Probation DEFAULTS = new Probation(600, 500, 3.0, 0.15, 0.3);

        public Probation {
            Checks.inRange("probation.window_s", windowSeconds, 1, 7 * 86_400);
            Checks.inRange("probation.window_samples", windowSamples, 0, 10_000_000);
            Checks.inRange("probation.max_latency_ratio", maxLatencyRatio, 1.0, 1000.0);
            Checks.inRange("probation.max_confidence_drop", maxConfidenceDrop, 0.01, 1.0);
            Checks.inRange("probation.max_entropy_rise", maxEntropyRise, 0.01, 10.0);
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
