package dev.plateau.daemon;

import dev.plateau.config.SourceConfig;
import dev.plateau.fleet.Fleet;
import dev.plateau.http.DeviceView;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.LatencyHistogram;
import dev.plateau.inference.ModelStats;
import dev.plateau.store.ModelStore;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import dev.plateau.sensor.QueueStats;
import dev.plateau.sensor.Source;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The running daemon's figures where an operator sees them: the one-line {@code STATUS=} summary,
 * the per-model part of the fleet's health report, the periodic stats lines of the log, and what
 * the local HTTP server shows ({@link #models()}, the same figures typed, for metrics and the
 * status page). Inputs a push source dropped for a full queue are counted beside the model's
 * rejections in all of them. Takes no lock, so the watchdog, the fleet link and a scrape never
 * wait on the daemon.
 */
final class HealthView {
    /** A fine-tune report larger than this is not shown on the status page. */
    private static final long MAX_REPORT_BYTES = 4L * 1024 * 1024;
    private static final String REPORT = "report.json";

    private final List<ModelSlot> models;
    /** Each model's push sources (those with a queue), by the model's store name. */
    private final Map<String, List<Source>> fed = new LinkedHashMap<>();
    private final int sourceCount;
    private final Optional<SampleHealth> samples;
    private final Optional<FleetCommands> commands;
    private final Alarms alarms;
    private final Drifts drifts;
    private final RecentPredictions recent;
    private final ModelStore store;
    private final Supplier<Fleet> fleet;
    private final BooleanSupplier ready;

    /**
     * @param slots   by the configuration's model name, as sources name them
     * @param sources started in the order of {@code configs}
     * @param samples the sample store's health, when the store is enabled
     * @param fleet   the fleet link, or null while there is none
     * @param ready   whether the daemon has started and is not stopping
     */
    HealthView(Map<String, ModelSlot> slots, List<SourceConfig> configs, List<Source> sources,
               Optional<SampleHealth> samples, Optional<FleetCommands> commands, Alarms alarms, Drifts drifts,
               RecentPredictions recent, ModelStore store, Supplier<Fleet> fleet, BooleanSupplier ready) {
        this.drifts = drifts;
        this.models = List.copyOf(slots.values());
        for (ModelSlot slot : models) {
            fed.put(slot.name(), new ArrayList<>());
        }
        for (int i = 0; i < sources.size(); i++) {
            Source source = sources.get(i);
            if (source.queueStats().isPresent()) {
                fed.get(slots.get(configs.get(i).model()).name()).add(source);
            }
        }
        this.sourceCount = sources.size();
        this.samples = samples;
        this.commands = commands;
        this.alarms = alarms;
        this.recent = recent;
        this.store = store;
        this.fleet = fleet;
        this.ready = ready;
    }

    boolean ready() {
        return ready.getAsBoolean();
    }

    /** Each model's figures, typed, in the configuration's order. */
    List<DeviceView.ModelView> models() {
        List<DeviceView.ModelView> out = new ArrayList<>();
        for (ModelSlot slot : models) {
            InferenceEngine engine = slot.engine();
            Map<String, Boolean> raised = new LinkedHashMap<>();
            alarms.raised(slot.name()).forEach(raised::put);
            out.add(new DeviceView.ModelView(slot.name(), slot.version(), engine.manifest(), engine.stats().snapshot(),
                    engine.stats().latency(), slot.handling(),
                    queues(slot).stream().mapToLong(QueueStats::dropped).sum(),
                    String.valueOf(slot.probation().get("state")), raised,
                    drifts.of(slot.name()).map(DriftMonitor::detected),
                    commands.map(c -> c.fineTuneOutcomes(slot.name())).orElse(Map.of()),
                    commands.map(c -> c.fineTuneDurations(slot.name()))
                            .orElseGet(() -> new LatencyHistogram().cumulative())));
        }
        return out;
    }

    /** The fleet link's state, when one is configured (it may not have started yet). */
    Optional<DeviceView.FleetView> fleet(boolean configured) {
        if (!configured) {
            return Optional.empty();
        }
        Fleet link = fleet.get();
        return Optional.of(link == null ? new DeviceView.FleetView(false, 0)
                : new DeviceView.FleetView(link.connected(), link.outboxDepth()));
    }

    List<DeviceView.Recent> recent(String model) {
        return recent.of(model);
    }

    /**
     * The newest {@code report.json} of {@code model}'s fine-tunes: beside an accepted version,
     * or under {@code reports/} for a rejected run.
     */
    Optional<String> lastFineTuneReport(String model) {
        Path versions = store.versionsDir(model);
        Optional<Path> newest = Optional.empty();
        FileTime newestTime = null;
        for (Path dir : List.of(versions, versions.resolveSibling("reports"))) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
                for (Path child : children) {
                    Path report = child.resolve(REPORT);
                    if (Files.isRegularFile(report, LinkOption.NOFOLLOW_LINKS)) {
                        FileTime t = Files.getLastModifiedTime(report);
                        if (newestTime == null || t.compareTo(newestTime) > 0) {
                            newestTime = t;
                            newest = Optional.of(report);
                        }
                    }
                }
            } catch (IOException e) {
                Logger.debug("status: cannot list {}: {}", dir, e.getMessage());
            }
        }
        try {
            if (newest.isPresent() && Files.size(newest.get()) <= MAX_REPORT_BYTES) {
                return Optional.of(Files.readString(newest.get()));
            }
        } catch (IOException e) {
            Logger.debug("status: cannot read {}: {}", newest.get(), e.getMessage());
        }
        return Optional.empty();
    }

    /** One line for {@code systemctl status}. */
    String summary() {
        long inferred = 0;
        long rejected = 0;
        long dropped = 0;
        long errors = 0;
        for (ModelSlot slot : models) {
            ModelStats.Snapshot s = slot.stats();
            inferred += s.inferences();
            rejected += s.rejected();
            errors += s.errors();
            dropped += queues(slot).stream().mapToLong(QueueStats::dropped).sum();
        }
        return "running: " + models.size() + " model(s), " + sourceCount + " source(s); " + inferred + " inferred, "
                + rejected + " rejected, " + (dropped > 0 ? dropped + " dropped, " : "") + errors + " errors"
                + alarms.summary() + drifts.summary();
    }

    /** Per-model figures for the fleet's health reports; runs on the link's thread. */
    Map<String, ?> health() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (ModelSlot slot : models) {
            ModelStats.Snapshot s = slot.stats();
            List<QueueStats> queues = queues(slot);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", slot.version());
            m.put("inferences", s.inferences());
            m.put("rejected", s.rejected());
            m.put("dropped", queues.stream().mapToLong(QueueStats::dropped).sum());
            m.put("errors", s.errors());
            m.put("latency_p50_us", s.p50Micros());
            m.put("latency_p99_us", s.p99Micros());
            m.put("probation", slot.probation());
            samples.ifPresent(kept -> m.put("samples", kept.view(slot.name())));
            drifts.view(slot.name()).ifPresent(d -> m.put("drift", d));
            Map<String, Object> alarm = alarms.view(slot.name());
            if (!alarm.isEmpty()) {
                m.put("alarms", alarm);
            }
            commands.flatMap(c -> c.lastFineTune(slot.name())).ifPresent(f -> m.put("last_finetune", f));
            if (!queues.isEmpty()) {
                Map<String, Object> bySource = new LinkedHashMap<>();
                queues.forEach(q -> bySource.put(q.source(), q.toMap()));
                m.put("sources", bySource);
            }
            out.put(slot.name(), m);
        }
        return out;
    }

    /** The stats lines: one per model, one per push source. */
    void log() {
        for (ModelSlot slot : models) {
            ModelStats.Snapshot s = slot.stats();
            Logger.info("stats model={} inferences={} rejected={} errors={} latency_us p50={} p90={} p99={}",
                    slot.name(), s.inferences(), s.rejected(), s.errors(), s.p50Micros(), s.p90Micros(), s.p99Micros());
            for (QueueStats q : queues(slot)) {
                Logger.info("stats source={} received={} oversized={} dropped={} handled={} queued={} queue_peak={} "
                        + "waited_ms p99={} max={}", q.source(), q.received(), q.oversized(), q.dropped(), q.handled(),
                        q.queued(), q.peak(), q.waitedP99Micros() / 1000, q.waitedMaxMicros() / 1000);
            }
        }
    }

    private List<QueueStats> queues(ModelSlot slot) {
        List<QueueStats> out = new ArrayList<>();
        for (Source source : fed.get(slot.name())) {
            source.queueStats().ifPresent(out::add);
        }
        return out;
    }
}
