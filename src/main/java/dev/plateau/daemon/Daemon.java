package dev.plateau.daemon;

import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.config.DeviceConfig;
import dev.plateau.config.MqttConfig;
import dev.plateau.config.SourceConfig;
import dev.plateau.fleet.Command;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.CommandRejectedException;
import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.FleetSettings;
import dev.plateau.fleet.Outbox;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.ModelStats;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.sensor.Source;
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
    /** What the daemon writes under the state directory besides it: models, samples, events, keys, alarms. */
    private static final List<String> STATE_PARTS = List.of("models", "samples", "outbox", "keys", AlarmTracker.DIR);
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
    private final Alarms alarms;
    private volatile List<ModelSlot> running = List.of();
    private Optional<SampleStore> samples = Optional.empty();
    /** The configuration file as last (re)loaded; models, sources and the like stay as started. */
    private DeviceConfig current;
    /** The fleet's {@code set-config} changes, laid over the file's live settings. */
    private ObjectNode overrides;
    private LiveSettings live;
    private InputReports reports;
    private volatile SampleHealth sampleHealth;
    private FleetCommands fleetCommands;
    private Deployments deployments;
    private volatile StatusReport status;
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
        this.alarms = new Alarms(config.stateDir(), clock, AlarmTracker.Events.fleet(config.mqtt().isPresent(),
                () -> fleet));
    }

    /**
     * Loads every model and starts every source; on any failure, whatever was started is
     * stopped again before the exception leaves.
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
                        ProbationPolicy.defaults().with(Duration.ofSeconds(config.probation().windowSeconds()),
                                config.probation().windowSamples(), config.probation().maxLatencyRatio()),
                        this::decision);
                slots.put(model.name(), slot);
                InferenceEngine engine = slot.engine();
                Logger.info("model {} v{} (store version {}) loaded from {} ({} labels, input {} {})", model.name(),
                        engine.manifest().version(), slot.version(), engine.bundle().dir(),
                        engine.manifest().classCount(),
                        engine.manifest().input().decode().name().toLowerCase().replace('_', '-'),
                        engine.manifest().input().shape());
            }
            current = config;
            overrides = LiveSettings.load(config.stateDir());
            live = LiveSettings.of(config).with(overrides);
            if (!overrides.isEmpty()) {
                Logger.info("fleet settings over the configuration file: {}", overrides);
            }
            samples = config.samples().enabled()
                    ? Optional.of(SampleStore.open(config.stateDir(), live.samplesMaxPerModel(), clock))
                    : Optional.empty();
            FailureLog warnings = new FailureLog(monotonic, FailureLog.INTERVAL);
            DiskStatus disk = new DiskStatus(clock, warnings);
            sampleHealth = new SampleHealth(monotonic, disk, warnings);
            reports = new InputReports(InputReports.Sink.fleet(() -> fleet), clock, live.publishResults());
            if (config.mqtt().isPresent()) {
                fleetCommands = new FleetCommands(store, slots, samples, config.stateDir(),
                        config.tuning().dataRoots(), clock, this::decision, disk);
                deployments = new Deployments(store, config.stateDir(), slots, clock, this::decision);
            }
            scheduler = Executors.newScheduledThreadPool(2, named("plateau-sources"));
            for (SourceConfig sc : config.sources()) {
                Progress marks = new Progress(sc.name(), Sources.period(sc), monotonic);
                ModelSlot slot = slots.get(sc.model());
                ProgressHandler handler = new ProgressHandler(new Pipeline(slot, samples, reports, sampleHealth,
                        alarms.track(sc, slot)), marks);
                Source source = Sources.create(sc, config, handler, new SourceScheduler(scheduler, marks), clock, monotonic,
                        (queue, n) -> reports.dropped(slot.name(), queue, n));
                sources.add(source);
                progress.add(marks);
                source.start();
            }
            status = new StatusReport(slots, config.sources(), sources, samples.map(s -> sampleHealth),
                    Optional.ofNullable(fleetCommands), alarms);
            scheduler.scheduleAtFixedRate(status::log, STATS_PERIOD.toMillis(), STATS_PERIOD.toMillis(),
                    TimeUnit.MILLISECONDS);
            scheduler.scheduleWithFixedDelay(this::followStore, STORE_POLL.toMillis(), STORE_POLL.toMillis(),
                    TimeUnit.MILLISECONDS);
            scheduler.scheduleAtFixedRate(reports::flush, InputReports.PERIOD.toMillis(),
                    InputReports.PERIOD.toMillis(), TimeUnit.MILLISECONDS);
            running = List.copyOf(slots.values());
            if (config.mqtt().isPresent()) {
                MqttConfig m = config.mqtt().get();
                FleetSettings settings = FleetSettings.of(m.withLive(live.healthPeriodSeconds(), live.publishResults()),
                        config.device().group(), config.device().node(), config.stateDir(), clock);
                Map<String, CommandHandler> handlers = new LinkedHashMap<>(fleetCommands.handlers());
                handlers.put("set-config", this::setConfig);
                handlers.putAll(deployments.handlers());
                fleet = Fleet.start(settings, status::health, handlers, disk);
                deployments.start(fleet);
            }
            alarms.announcePending();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        Logger.info("plateau ready: device {}/{}, {} model(s), {} source(s), state {} (started in {} ms)",
                config.device().group(), config.device().node(), slots.size(), sources.size(), config.stateDir(),
                (System.nanoTime() - begin) / 1_000_000);
        systemd.ready(status.summary());
        ready = true;
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
        new Watchdog(systemd, progress, stallLimit, status::summary).start(watchdogTimer, interval);
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

    /**
     * Applies the parts of {@code next} that are safe to change while running ({@link LiveSettings},
     * under any fleet overrides) and names every other section that differs: models, sources,
     * state and the logging set-up are built once at start.
     */
    public synchronized Reload reload(DeviceConfig next) {
        if (live == null) {
            Logger.warn("reload: still starting, nothing applied; send SIGHUP again once ready");
            return new Reload(List.of(), List.of());
        }
        List<String> restart = new ArrayList<>();
        compare(restart, "samples.enabled", config.samples().enabled(), next.samples().enabled());
        compare(restart, "device", config.device(), next.device());
        compare(restart, "state_dir", config.stateDir(), next.stateDir());
        compare(restart, "inference", config.inference(), next.inference());
        compare(restart, "models", config.models(), next.models());
        compare(restart, "sources", config.sources(), next.sources());
        compare(restart, "mqtt", config.mqtt().map(Daemon::restartPart), next.mqtt().map(Daemon::restartPart));
        compare(restart, "logging", config.logging(), next.logging());
        current = next;
        List<String> applied = applyLive(LiveSettings.of(next).with(overrides));
        Logger.info("reload: applied {}; changed but need a restart {}", applied, restart);
        return new Reload(List.copyOf(applied), List.copyOf(restart));
    }

    /** The mqtt settings that need a new connection; health period and result publishing do not. */
    private static MqttConfig restartPart(MqttConfig m) {
        return m.withLive(1, false);
    }

    /** Makes {@code next} the live settings; returns what changed as {@code key=value}. */
    private List<String> applyLive(LiveSettings next) {
        List<String> applied = new ArrayList<>();
        if (next.samplesMaxPerModel() != live.samplesMaxPerModel()) {
            samples.ifPresent(store -> store.resize(next.samplesMaxPerModel()));
            applied.add("samples.max_per_model=" + next.samplesMaxPerModel());
        }
        if (next.healthPeriodSeconds() != live.healthPeriodSeconds()) {
            Fleet link = fleet;
            if (link != null) {
                link.healthPeriod(Duration.ofSeconds(next.healthPeriodSeconds()));
            }
            applied.add("mqtt.health_period_s=" + next.healthPeriodSeconds());
        }
        if (next.publishResults() != live.publishResults()) {
            reports.publishResults(next.publishResults());
            applied.add("mqtt.publish_results=" + next.publishResults());
        }
        live = next;
        return applied;
    }

    /**
     * {@code set-config {key: value, ...}} changes live settings and keeps them across restarts;
     * {@code set-config {reset: true}} drops every such change, back to the configuration file.
     */
    private CommandHandler.Work setConfig(Command c) throws CommandRejectedException {
        boolean reset = c.args().has("reset");
        ObjectNode changes;
        if (reset) {
            if (c.args().size() != 1 || !c.args().get("reset").asBoolean(false)) {
                throw new CommandRejectedException("reset: expected {\"reset\": true} alone, found " + c.args());
            }
            changes = null;
        } else {
            try {
                changes = LiveSettings.check(c.args());
            } catch (IllegalArgumentException e) {
                throw new CommandRejectedException(e.getMessage());
            }
        }
        return () -> {
            synchronized (this) {
                ObjectNode next = changes == null ? overrides.objectNode() : overrides.deepCopy().setAll(changes);
                LiveSettings.save(config.stateDir(), next);
                overrides = next;
                List<String> applied = applyLive(LiveSettings.of(current).with(next));
                Logger.info("set-config {}: applied {}; fleet settings now {}", c.cmdId(), applied, next);
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("applied", applied);
                result.put("settings", live.asMap());
                result.put("overrides", next);
                return result;
            }
        };
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
        if (deployments != null) {
            deployments.close();
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
        if (status != null) {
            status.log();
        }
        alarms.checkpoint();
        slots.values().forEach(ModelSlot::close);
        Logger.info("plateau stopped");
    }
}
