package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import dev.plateau.config.DeviceConfig;
import dev.plateau.config.MqttConfig;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.FleetSettings;
import dev.plateau.fleet.Outbox;
import dev.plateau.http.HttpService;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.ModelStats;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.store.Disk;
import dev.plateau.store.DiskStatus;
import dev.plateau.store.FailureLog;
import dev.plateau.store.ModelStore;
import dev.plateau.store.ProbationPolicy;
import dev.plateau.store.SampleStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
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
    /** What the daemon writes under the state directory besides it: models, samples, events, keys, alarms. */
    private static final List<String> STATE_PARTS = List.of("models", "samples", "outbox", "keys", AlarmTracker.DIR,
            DriftMonitor.DIR, Sources.SCRATCH);
    private static final Duration STATS_PERIOD = Duration.ofSeconds(60);
    private static final Duration STATUS_PERIOD = Duration.ofSeconds(30);

    private final DeviceConfig config;
    private final Clock clock;
    private final Clock monotonic;
    private final SystemdNotifier systemd;
    private final Duration stallLimit;
    private final Map<String, ModelSlot> slots = new LinkedHashMap<>();
    private final Alarms alarms;
    private final Drifts drifts;
    private volatile List<ModelSlot> running = List.of();
    private LiveConfig live;
    private Sources sources;
    private volatile HealthView status;
    private Optional<Deployments> deployments = Optional.empty();
    private Optional<SampleTransfers> sampleTransfers = Optional.empty();
    private ScheduledExecutorService scheduler;
    private volatile Fleet fleet;
    private Optional<HttpService> http = Optional.empty();
    private ScheduledExecutorService watchdogTimer;
    /** Models loaded and sources started, and not stopping: what {@code /v2/health/ready} says. */
    private volatile boolean serving;
    /** systemd was told READY=1, so it is told STOPPING=1 too. */
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
        this.alarms = new Alarms(config.stateDir(), clock, AlarmTracker.Events.fleet(config.mqtt().isPresent(),
                () -> fleet));
        this.drifts = new Drifts(config.stateDir(), clock, AlarmTracker.Events.fleet(config.mqtt().isPresent(),
                () -> fleet));
    }

    /**
     * Loads every model and starts every source, then the fleet link and the HTTP server; on any
     * failure, whatever was started is stopped again before the exception leaves.
     */
    public synchronized void start() {
        long begin = System.nanoTime();
        try {
            requireWritableState();
            OrtEnvironment env = OrtRuntime.environment(config.inference().threads());
            // Each model is served from the store: the active version, which is the shipped bundle
            // (version 0) until a fine-tune or an import is activated.
            ModelStore store = ModelStore.signedByDevice(config.stateDir(), clock, KEEP_VERSIONS);
            for (DeviceConfig.ModelConfig model : config.models()) {
                ModelSlot slot = ModelSlot.open(model.bundle(), store, env, model.threads(), clock,
                        probation(config.probation()),
                        this::decision, drifts.monitor(model, env));
                slots.put(model.name(), slot);
                InferenceEngine engine = slot.engine();
                Logger.info("model {} v{} (store version {}) loaded from {} ({} labels, input {} {})", model.name(),
                        engine.manifest().version(), slot.version(), engine.bundle().dir(),
                        engine.manifest().classCount(),
                        engine.manifest().input().decode().name().toLowerCase().replace('_', '-'),
                        engine.manifest().input().shape());
            }
            live = new LiveConfig(config);
            LiveSettings settings = live.settings();
            Optional<SampleStore> samples = config.samples().enabled()
                    ? Optional.of(SampleStore.open(config.stateDir(), settings.samplesMaxPerModel(), clock))
                    : Optional.empty();
            drifts.useSamples(samples);
            FailureLog warnings = new FailureLog(monotonic, FailureLog.INTERVAL);
            DiskStatus disk = new DiskStatus(clock, warnings);
            SampleHealth sampleHealth = new SampleHealth(monotonic, disk, warnings);
            InputReports reports = new InputReports(InputReports.Sink.fleet(() -> fleet), clock,
                    settings.publishResults());
            Optional<FleetCommands> fleetCommands = config.mqtt().isPresent()
                    ? Optional.of(new FleetCommands(store, slots, samples, config.stateDir(),
                            config.tuning().dataRoots(), clock, this::decision, disk))
                    : Optional.empty();
            deployments = config.mqtt().isPresent()
                    ? Optional.of(new Deployments(store, config.stateDir(), slots, clock, this::decision))
                    : Optional.empty();
            sampleTransfers = config.mqtt().isPresent()
                    ? Optional.of(new SampleTransfers(samples, slots, config.stateDir(), clock, this::decision))
                    : Optional.empty();
            RecentPredictions recent = new RecentPredictions(clock);
            scheduler = Executors.newScheduledThreadPool(2, named("plateau-sources"));
            sources = new Sources(config, slots, samples, reports, sampleHealth, alarms, drifts, recent, scheduler,
                    clock, monotonic);
            sources.startAll();
            status = new HealthView(slots, config.sources(), sources.started(), samples.map(s -> sampleHealth),
                    fleetCommands, alarms, drifts, recent, store, () -> fleet, () -> serving);
            scheduler.scheduleAtFixedRate(status::log, STATS_PERIOD.toMillis(), STATS_PERIOD.toMillis(),
                    TimeUnit.MILLISECONDS);
            scheduler.scheduleWithFixedDelay(this::followStore, STORE_POLL.toMillis(), STORE_POLL.toMillis(),
                    TimeUnit.MILLISECONDS);
            scheduler.scheduleAtFixedRate(reports::flush, InputReports.PERIOD.toMillis(),
                    InputReports.PERIOD.toMillis(), TimeUnit.MILLISECONDS);
            running = List.copyOf(slots.values());
            live.bind(new LiveConfig.Targets(samples, reports, () -> fleet));
            if (config.mqtt().isPresent()) {
                MqttConfig m = config.mqtt().get();
                FleetSettings fleetSettings = FleetSettings.of(
                        m.withLive(settings.healthPeriodSeconds(), settings.publishResults()),
                        config.device().group(), config.device().node(), config.stateDir(), clock);
                Map<String, CommandHandler> handlers = new LinkedHashMap<>(fleetCommands.get().handlers());
                handlers.put("set-config", live::setConfig);
                handlers.putAll(deployments.get().handlers());
                handlers.putAll(sampleTransfers.get().handlers());
                fleet = Fleet.start(fleetSettings, status::health, handlers, disk);
                deployments.get().start(fleet);
                sampleTransfers.get().start(fleet);
            }
            if (config.http().isPresent()) {
                Map<String, Pipeline> pipelines = new LinkedHashMap<>();
                slots.values().forEach(slot -> pipelines.put(slot.name(), sources.pipeline(slot)));
                HttpInputs inputs = new HttpInputs(pipelines, config.stateDir());
                http = Optional.of(HttpService.start(config.http().get(),
                        new LocalDevice(status, inputs, config.mqtt().isPresent())));
            }
            alarms.announcePending();
            drifts.announcePending();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        Logger.info("plateau ready: device {}/{}, {} model(s), {} source(s), state {} (started in {} ms)",
                config.device().group(), config.device().node(), slots.size(), sources.started().size(),
                config.stateDir(), (System.nanoTime() - begin) / 1_000_000);
        systemd.ready(status.summary());
        ready = true;
        serving = true;
        startWatchdog();
    }

    /**
     * The state directory and the parts of it the daemon writes must be writable before anything
     * starts: a read-only or foreign one is a configuration error, not something to retry.
     */
    private void requireWritableState() {
        Disk.requireWritable(config.stateDir());
        for (String part : STATE_PARTS) {
            Path dir = config.stateDir().resolve(part);
            if (Files.exists(dir)) {
                Disk.requireWritable(dir);
            }
        }
    }

    private void startWatchdog() {
        Duration interval = Watchdog.interval(systemd, STATUS_PERIOD);
        watchdogTimer = Executors.newSingleThreadScheduledExecutor(named("plateau-watchdog"));
        new Watchdog(systemd, sources.progress(), stallLimit, status::summary).start(watchdogTimer, interval);
        systemd.watchdogTimeout().ifPresentOrElse(
                timeout -> Logger.info("systemd watchdog: timeout {} ms, pinging every {} ms while every source "
                        + "progresses (stall limit {} s)", timeout.toMillis(), interval.toMillis(), stallLimit.toSeconds()),
                () -> Logger.info("no systemd watchdog{}: sources checked every {} s, a stalled one is logged",
                        systemd.enabled() ? " requested" : " (no notify socket)", interval.toSeconds()));
    }

    /** A decision for the fleet's durable outbox; without a broker configured, the log is the record. */
    private void decision(String type, Map<String, Object> body) {
        Fleet link = fleet;
        if (link != null) {
            link.event(type, Outbox.Kind.DECISION, body);
        }
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

    /** Applies what is safe to change of {@code next} while running; see {@link LiveConfig#reload}. */
    public Reload reload(DeviceConfig next) {
        LiveConfig controller;
        synchronized (this) {
            controller = live;
        }
        if (controller == null) {
            Logger.warn("reload: still starting, nothing applied; send SIGHUP again once ready");
            return new Reload(List.of(), List.of());
        }
        return controller.reload(next);
    }

    public synchronized Map<String, ModelStats.Snapshot> stats() {
        Map<String, ModelStats.Snapshot> out = new LinkedHashMap<>();
        slots.forEach((name, slot) -> out.put(name, slot.stats()));
        return out;
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
        serving = false;
        stopWatchdog();
        if (ready) {
            systemd.stopping();
        }
        // The fleet first: offline goes out, and no new command starts while models close.
        Fleet link = fleet;
        if (link != null) {
            link.close();
        }
        deployments.ifPresent(Deployments::close);
        sampleTransfers.ifPresent(SampleTransfers::close);
        // Then the HTTP server: requests in flight finish on models still open.
        http.ifPresent(HttpService::close);
        if (sources != null) {
            sources.close();
        }
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
        if (status != null) {
            status.log();
        }
        alarms.checkpoint();
        slots.values().forEach(ModelSlot::close);
        Logger.info("plateau stopped");
    }

    private static ProbationPolicy probation(DeviceConfig.Probation p) {
        return ProbationPolicy.defaults().with(Duration.ofSeconds(p.windowSeconds()), p.windowSamples(),
                p.maxLatencyRatio(), p.maxConfidenceDrop(), p.maxEntropyRise());
    }
}
