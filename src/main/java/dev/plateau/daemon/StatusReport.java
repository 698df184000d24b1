package dev.plateau.daemon;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.ModelStats;
import dev.plateau.sensor.QueueStats;
import dev.plateau.sensor.Source;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The running daemon's figures where an operator sees them: the one-line {@code STATUS=} summary,
 * the per-model part of the fleet's health report, and the periodic stats lines of the log.
 * Inputs a push source dropped for a full queue are counted beside the model's rejections in all
 * three. Takes no lock, so the watchdog and the fleet link never wait on the daemon.
 */
final class StatusReport {
    private final List<ModelSlot> models;
    /** Each model's push sources (those with a queue), by the model's store name. */
    private final Map<String, List<Source>> fed = new LinkedHashMap<>();
    private final int sourceCount;
    private final Optional<SampleHealth> samples;
    private final Optional<FleetCommands> commands;
    private final Alarms alarms;
    private final Drifts drifts;

    /**
     * @param slots   by the configuration's model name, as sources name them
     * @param sources started in the order of {@code configs}
     * @param samples the sample store's health, when the store is enabled
     */
    StatusReport(Map<String, ModelSlot> slots, List<SourceConfig> configs, List<Source> sources,
                 Optional<SampleHealth> samples, Optional<FleetCommands> commands, Alarms alarms, Drifts drifts) {
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
