package dev.plateau.daemon;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.config.DeviceConfig;
import dev.plateau.config.MqttConfig;
import dev.plateau.fleet.Command;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.CommandRejectedException;
import dev.plateau.fleet.Fleet;
import dev.plateau.store.SampleStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The live configuration controller: the configuration file as last (re)loaded, the fleet's
 * {@code set-config} overrides laid over it, and the {@link LiveSettings} both make. A SIGHUP
 * reload and a {@code set-config} apply what is safe to change while running and name what needs
 * a restart; models, sources, state and the logging set-up are built once at start.
 */
final class LiveConfig {
    /** What the live settings act on, once the daemon has built it. */
    record Targets(Optional<SampleStore> samples, InputReports reports, Supplier<Fleet> fleet) {}

    /** The configuration the daemon started with. */
    private final DeviceConfig started;
    /** The configuration file as last (re)loaded. */
    private DeviceConfig current;
    /** The fleet's {@code set-config} changes, laid over the file's live settings. */
    private ObjectNode overrides;
    private LiveSettings live;
    private Targets targets;

    /** Reads the stored fleet overrides under {@code config}'s state directory. */
    LiveConfig(DeviceConfig config) {
        this.started = config;
        this.current = config;
        this.overrides = LiveSettings.load(config.stateDir());
        this.live = LiveSettings.of(config).with(overrides);
        if (!overrides.isEmpty()) {
            Logger.info("fleet settings over the configuration file: {}", overrides);
        }
    }

    /** The settings in force. */
    synchronized LiveSettings settings() {
        return live;
    }

    /** From now on, changes are applied to {@code t}; before, a reload applies nothing. */
    synchronized void bind(Targets t) {
        this.targets = t;
    }

    /**
     * Applies the parts of {@code next} that are safe to change while running ({@link LiveSettings},
     * under any fleet overrides) and names every other section that differs.
     */
    synchronized Daemon.Reload reload(DeviceConfig next) {
        if (targets == null) {
            Logger.warn("reload: still starting, nothing applied; send SIGHUP again once ready");
            return new Daemon.Reload(List.of(), List.of());
        }
        List<String> restart = new ArrayList<>();
        compare(restart, "samples.enabled", started.samples().enabled(), next.samples().enabled());
        compare(restart, "device", started.device(), next.device());
        compare(restart, "state_dir", started.stateDir(), next.stateDir());
        compare(restart, "inference", started.inference(), next.inference());
        compare(restart, "models", started.models(), next.models());
        compare(restart, "sources", started.sources(), next.sources());
        compare(restart, "mqtt", started.mqtt().map(LiveConfig::restartPart), next.mqtt().map(LiveConfig::restartPart));
        compare(restart, "logging", started.logging(), next.logging());
        compare(restart, "http", started.http(), next.http());
        current = next;
        List<String> applied = applyLive(LiveSettings.of(next).with(overrides));
        Logger.info("reload: applied {}; changed but need a restart {}", applied, restart);
        return new Daemon.Reload(List.copyOf(applied), List.copyOf(restart));
    }

    /** The mqtt settings that need a new connection; health period and result publishing do not. */
    private static MqttConfig restartPart(MqttConfig m) {
        return m.withLive(1, false);
    }

    /** Makes {@code next} the live settings; returns what changed as {@code key=value}. */
    private List<String> applyLive(LiveSettings next) {
        List<String> applied = new ArrayList<>();
        if (next.samplesMaxPerModel() != live.samplesMaxPerModel()) {
            targets.samples().ifPresent(store -> store.resize(next.samplesMaxPerModel()));
            applied.add("samples.max_per_model=" + next.samplesMaxPerModel());
        }
        if (next.healthPeriodSeconds() != live.healthPeriodSeconds()) {
            Fleet link = targets.fleet().get();
            if (link != null) {
                link.healthPeriod(Duration.ofSeconds(next.healthPeriodSeconds()));
            }
            applied.add("mqtt.health_period_s=" + next.healthPeriodSeconds());
        }
        if (next.publishResults() != live.publishResults()) {
            targets.reports().publishResults(next.publishResults());
            applied.add("mqtt.publish_results=" + next.publishResults());
        }
        live = next;
        return applied;
    }

    /**
     * {@code set-config {key: value, ...}} changes live settings and keeps them across restarts;
     * {@code set-config {reset: true}} drops every such change, back to the configuration file.
     */
    CommandHandler.Work setConfig(Command c) throws CommandRejectedException {
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
                LiveSettings.save(started.stateDir(), next);
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
}
