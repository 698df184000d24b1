package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import dev.plateau.config.DeviceConfig;
import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.ModelStats;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.model.ModelBundle;
import dev.plateau.sensor.DirectorySource;
import dev.plateau.sensor.ReplaySource;
import dev.plateau.sensor.Source;
import dev.plateau.store.SampleStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.tinylog.Logger;

/**
 * {@code plateau run}: loads the configured models, starts the sources, and on {@link #close()}
 * stops them in reverse: sources first (an input being handled is finished), then models.
 */
public final class Daemon implements AutoCloseable {
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STATS_PERIOD = Duration.ofSeconds(60);

    private final DeviceConfig config;
    private final Clock clock;
    private final Map<String, InferenceEngine> engines = new LinkedHashMap<>();
    private final List<Source> sources = new ArrayList<>();
    private ScheduledExecutorService scheduler;
    private boolean closed;

    public Daemon(DeviceConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    /**
     * Loads every model and starts every source; on any failure, whatever was started is
     * stopped again before the exception leaves.
     */
    public synchronized void start() {
        long begin = System.nanoTime();
        try {
            Files.createDirectories(config.stateDir());
            OrtEnvironment env = OrtRuntime.environment(config.inference().threads());
            for (DeviceConfig.ModelConfig model : config.models()) {
                InferenceEngine engine = InferenceEngine.load(ModelBundle.open(model.bundle()), env, model.threads());
                engines.put(model.name(), engine);
                Logger.info("model {} v{} loaded from {} ({} labels, input {} {})", model.name(),
                        engine.manifest().version(), model.bundle(), engine.manifest().classCount(),
                        engine.manifest().input().decode().name().toLowerCase().replace('_', '-'),
                        engine.manifest().input().shape());
            }
            Optional<SampleStore> samples = config.samples().enabled()
                    ? Optional.of(SampleStore.open(config.stateDir(), config.samples().maxPerModel(), clock))
                    : Optional.empty();
            scheduler = Executors.newScheduledThreadPool(2, named("plateau-sources"));
            for (SourceConfig sc : config.sources()) {
                Pipeline pipeline = new Pipeline(engines.get(sc.model()), samples);
                Source source = sc instanceof SourceConfig.Replay r
                        ? new ReplaySource(r, pipeline, scheduler)
                        : new DirectorySource((SourceConfig.Directory) sc, pipeline, scheduler, clock);
                sources.add(source);
                source.start();
            }
            scheduler.scheduleAtFixedRate(this::logStats, STATS_PERIOD.toMillis(), STATS_PERIOD.toMillis(),
                    TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot create state directory " + config.stateDir(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        Logger.info("plateau ready: device {}/{}, {} model(s), {} source(s), state {} (started in {} ms)",
                config.device().group(), config.device().node(), engines.size(), sources.size(), config.stateDir(),
                (System.nanoTime() - begin) / 1_000_000);
    }

    /** Counters per model, for health reports and tests. */
    public synchronized Map<String, ModelStats.Snapshot> stats() {
        Map<String, ModelStats.Snapshot> out = new LinkedHashMap<>();
        engines.forEach((name, engine) -> out.put(name, engine.stats().snapshot()));
        return out;
    }

    private void logStats() {
        stats().forEach((name, s) -> Logger.info("stats model={} inferences={} rejected={} errors={} "
                + "latency_us p50={} p90={} p99={}", name, s.inferences(), s.rejected(), s.errors(),
                s.p50Micros(), s.p90Micros(), s.p99Micros()));
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Stops sources, waits for in-flight inputs, closes models. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Logger.info("plateau stopping");
        sources.forEach(Source::close);
        if (scheduler != null) {
            scheduler.shutdown();
            try {
                if (!scheduler.awaitTermination(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    Logger.warn("sources did not finish within {} s; interrupting", STOP_TIMEOUT.toSeconds());
                    scheduler.shutdownNow();
                }
            } catch (InterruptedException e) {
                scheduler.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        logStats();
        engines.values().forEach(InferenceEngine::close);
        Logger.info("plateau stopped");
    }
}
