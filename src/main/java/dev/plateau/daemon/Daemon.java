package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import dev.plateau.config.DeviceConfig;
import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.ModelStats;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.sensor.DirectorySource;
import dev.plateau.sensor.ReplaySource;
import dev.plateau.sensor.Source;
import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.FleetSettings;
import dev.plateau.fleet.Outbox;
import dev.plateau.store.ModelStore;
import dev.plateau.store.ProbationPolicy;
import dev.plateau.store.SampleStore;
import dev.plateau.store.SigningKey;
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
 * {@code plateau run}: loads the configured models, starts the sources, tells systemd it is ready,
 * and on {@link #close()} stops them in reverse: sources first (an input being handled is
 * finished), then models. Under systemd a {@link Watchdog} pings only while every source
 * progresses.
 */
public final class Daemon implements AutoCloseable {
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    /** How long one input may be in handling, or a source may run late, before it counts as hung. */
    public static final Duration STALL_LIMIT = Duration.ofSeconds(60);
    /** How often the daemon looks for a newly activated version; `plateau models activate` takes effect within it. */
    static final Duration STORE_POLL = Duration.ofSeconds(2);
    private static final int KEEP_VERSIONS = 5;
    private static final Duration STATS_PERIOD = Duration.ofSeconds(60);
    private static final Duration STATUS_PERIOD = Duration.ofSeconds(30);

    private final DeviceConfig config;
    private final Clock clock;
    private final Clock monotonic;
    private final SystemdNotifier systemd;
    private final Duration stallLimit;
    private final Map<String, ModelSlot> slots = new LinkedHashMap<>();
    private final List<Source> sources = new ArrayList<>();
    private final List<Progress> progress = new ArrayList<>();
    private volatile List<ModelSlot> running = List.of();
    private Optional<SampleStore> samples = Optional.empty();
    private DeviceConfig current;
    private ScheduledExecutorService scheduler;
    private volatile Fleet fleet;
    private ScheduledExecutorService watchdogTimer;
    private boolean ready;
    private boolean closed;

    /** A daemon that tells systemd nothing. */
    public Daemon(DeviceConfig config, Clock clock) {
        this(config, clock, SystemdNotifier.disabled());
    }

    /**
     * @param clock   wall time, for sample timestamps and file ages
     * @param systemd where {@code READY=1}, {@code STATUS=}, {@code WATCHDOG=1} and {@code STOPPING=1} go
     */
    public Daemon(DeviceConfig config, Clock clock, SystemdNotifier systemd) {
        this(config, clock, new MonotonicClock(), systemd, STALL_LIMIT);
    }

    /** @param monotonic for the watchdog's intervals; see {@link MonotonicClock} */
    Daemon(DeviceConfig config, Clock clock, Clock monotonic, SystemdNotifier systemd, Duration stallLimit) {
        this.config = config;
        this.clock = clock;
        this.monotonic = monotonic;
        this.systemd = systemd;
        this.stallLimit = stallLimit;
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
            // Each model is served from the store: the active version, which is the shipped bundle
            // (version 0) until a fine-tune or an import is activated.
            ModelStore store = new ModelStore(config.stateDir(), clock, KEEP_VERSIONS,
                    SigningKey.loadOrCreate(ModelStore.deviceKeyFile(config.stateDir())));
            for (DeviceConfig.ModelConfig model : config.models()) {
                ModelSlot slot = ModelSlot.open(model.bundle(), store, env, model.threads(), clock,
                        ProbationPolicy.defaults(), this::decision);
                slots.put(model.name(), slot);
                InferenceEngine engine = slot.engine();
                Logger.info("model {} v{} (store version {}) loaded from {} ({} labels, input {} {})", model.name(),
                        engine.manifest().version(), slot.version(), engine.bundle().dir(),
                        engine.manifest().classCount(),
                        engine.manifest().input().decode().name().toLowerCase().replace('_', '-'),
                        engine.manifest().input().shape());
            }
            current = config;
            samples = config.samples().enabled()
                    ? Optional.of(SampleStore.open(config.stateDir(), config.samples().maxPerModel(), clock))
                    : Optional.empty();
            scheduler = Executors.newScheduledThreadPool(2, named("plateau-sources"));
            for (SourceConfig sc : config.sources()) {
                Progress marks = new Progress(sc.name(), period(sc), monotonic);
                ProgressHandler handler = new ProgressHandler(new Pipeline(slots.get(sc.model()), samples), marks);
                SourceScheduler view = new SourceScheduler(scheduler, marks);
                Source source = sc instanceof SourceConfig.Replay r
                        ? new ReplaySource(r, handler, view)
                        : new DirectorySource((SourceConfig.Directory) sc, handler, view, clock);
                sources.add(source);
                progress.add(marks);
                source.start();
            }
            scheduler.scheduleAtFixedRate(this::logStats, STATS_PERIOD.toMillis(), STATS_PERIOD.toMillis(),
                    TimeUnit.MILLISECONDS);
            scheduler.scheduleWithFixedDelay(this::followStore, STORE_POLL.toMillis(), STORE_POLL.toMillis(),
                    TimeUnit.MILLISECONDS);
            running = List.copyOf(slots.values());
            if (config.mqtt().isPresent()) {
                fleet = Fleet.start(FleetSettings.of(config, clock), this::health,
                        new FleetCommands(store, slots, samples, config.stateDir(), clock, this::decision).handlers());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot create state directory " + config.stateDir(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        Logger.info("plateau ready: device {}/{}, {} model(s), {} source(s), state {} (started in {} ms)",
                config.device().group(), config.device().node(), slots.size(), sources.size(), config.stateDir(),
                (System.nanoTime() - begin) / 1_000_000);
        systemd.ready(summary());
        ready = true;
        if (systemd.enabled()) {
            startWatchdog();
        }
    }

    private void startWatchdog() {
        Duration interval = Watchdog.interval(systemd, STATUS_PERIOD);
        watchdogTimer = Executors.newSingleThreadScheduledExecutor(named("plateau-watchdog"));
        new Watchdog(systemd, progress, stallLimit, this::summary).start(watchdogTimer, interval);
        systemd.watchdogTimeout().ifPresentOrElse(
                timeout -> Logger.info("systemd watchdog: timeout {} ms, pinging every {} ms while every source "
                        + "progresses (stall limit {} s)", timeout.toMillis(), interval.toMillis(), stallLimit.toSeconds()),
                () -> Logger.info("systemd: no watchdog requested; status every {} s", interval.toSeconds()));
    }

    /** How often a source is scheduled to run: what its progress is measured against. */
    private static Duration period(SourceConfig source) {
        return source instanceof SourceConfig.Replay r
                ? Duration.ofNanos(Math.max(1_000, Math.round(1_000_000_000 / r.rateHz())))
                : Duration.ofMillis(((SourceConfig.Directory) source).pollMillis());
    }

    /** One line for {@code systemctl status}; takes no lock, so the watchdog never waits on {@link #close()}. */
    private String summary() {
        long inferred = 0;
        long rejected = 0;
        long errors = 0;
        for (ModelSlot slot : running) {
            ModelStats.Snapshot s = slot.stats();
            inferred += s.inferences();
            rejected += s.rejected();
            errors += s.errors();
        }
        return "running: " + running.size() + " model(s), " + progress.size() + " source(s); " + inferred
                + " inferred, " + rejected + " rejected, " + errors + " errors";
    }

    /** A decision for the fleet's durable outbox; without a broker configured, the log is the record. */
    private void decision(String type, Map<String, Object> body) {
        Fleet link = fleet;
        if (link != null) {
            link.event(type, Outbox.Kind.DECISION, body);
        }
    }

    /** Per-model figures for the fleet's health reports; lock-free, it runs on the link's thread. */
    private Map<String, ?> health() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (ModelSlot slot : running) {
            ModelStats.Snapshot s = slot.stats();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", slot.version());
            m.put("inferences", s.inferences());
            m.put("rejected", s.rejected());
            m.put("errors", s.errors());
            m.put("latency_p50_us", s.p50Micros());
            m.put("latency_p99_us", s.p99Micros());
            out.put(slot.name(), m);
        }
        return out;
    }

    /** Swaps to versions activated in the store, and ends probation windows by time. */
    private void followStore() {
        for (ModelSlot slot : running) {
            try {
                slot.poll();
            } catch (RuntimeException e) {
                // The next poll tries again; the slot keeps serving the version it has.
                Logger.error(e, "model {}: following the store failed", slot.name());
            }
        }
    }

    /** What a reload changed at once, and what differs but waits for a restart. */
    public record Reload(List<String> applied, List<String> needRestart) {}

    /**
     * Applies the parts of {@code next} that are safe to change while running (the sample
     * store's size) and names every other section that differs: models, sources, state and the
     * logging set-up are built once at start.
     */
    public synchronized Reload reload(DeviceConfig next) {
        List<String> applied = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        DeviceConfig was = current == null ? config : current;
        if (next.samples().enabled() != was.samples().enabled()) {
            restart.add("samples.enabled");
        } else if (next.samples().maxPerModel() != was.samples().maxPerModel() && samples.isPresent()) {
            samples.get().resize(next.samples().maxPerModel());
            applied.add("samples.max_per_model=" + next.samples().maxPerModel());
        }
        compare(restart, "device", was.device(), next.device());
        compare(restart, "state_dir", was.stateDir(), next.stateDir());
        compare(restart, "inference", was.inference(), next.inference());
        compare(restart, "models", was.models(), next.models());
        compare(restart, "sources", was.sources(), next.sources());
        compare(restart, "mqtt", was.mqtt(), next.mqtt());
        compare(restart, "logging", was.logging(), next.logging());
        if (!applied.isEmpty()) {
            current = new DeviceConfig(was.device(), was.stateDir(), was.inference(), was.models(), was.sources(),
                    new DeviceConfig.Samples(was.samples().enabled(), next.samples().maxPerModel()), was.mqtt(),
                    was.logging());
        }
        Logger.info("reload: applied {}; changed but need a restart {}", applied, restart);
        return new Reload(List.copyOf(applied), List.copyOf(restart));
    }

    private static void compare(List<String> restart, String section, Object was, Object next) {
        if (!was.equals(next)) {
            restart.add(section);
        }
    }

    public synchronized Map<String, ModelStats.Snapshot> stats() {
        Map<String, ModelStats.Snapshot> out = new LinkedHashMap<>();
        slots.forEach((name, slot) -> out.put(name, slot.stats()));
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

    // Before STOPPING=1, so that no ping follows it. A check takes no lock and is quick.
    private void stopWatchdog() {
        if (watchdogTimer == null) {
            return;
        }
        watchdogTimer.shutdownNow();
        try {
            if (!watchdogTimer.awaitTermination(1, TimeUnit.SECONDS)) {
                Logger.warn("watchdog check did not finish within 1 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops sources, waits for in-flight inputs, closes models. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Logger.info("plateau stopping");
        stopWatchdog();
        if (ready) {
            systemd.stopping();
        }
        // The fleet first: offline goes out, and no new command starts while models close.
        Fleet link = fleet;
        if (link != null) {
            link.close();
        }
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
        slots.values().forEach(ModelSlot::close);
        Logger.info("plateau stopped");
    }
}
