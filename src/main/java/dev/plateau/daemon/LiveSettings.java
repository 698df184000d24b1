package dev.plateau.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.config.DeviceConfig;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tinylog.Logger;

/**
 * The settings a fleet may change on a running device ({@code set-config}): the ones that take
 * effect without reloading a model or reconnecting. A change is kept in
 * {@code <state>/fleet-settings.json} and laid over the configuration file at every start, so a
 * reboot does not silently undo what the fleet set; {@code set-config {"reset": true}} returns
 * to the file's values.
 */
record LiveSettings(int samplesMaxPerModel, int healthPeriodSeconds, boolean publishResults) {
    static final String FILE = "fleet-settings.json";
    /** Key, allowed range (for integers) and how the device config spells it. */
    private static final Map<String, long[]> KEYS = Map.of(
            "samples.max_per_model", new long[] {1, 1_000_000},
            "mqtt.health_period_s", new long[] {1, 86_400},
            "mqtt.publish_results", new long[0]);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The configuration file's values. */
    static LiveSettings of(DeviceConfig config) {
        return new LiveSettings(config.samples().maxPerModel(),
                config.mqtt().map(m -> m.healthPeriodSeconds()).orElse(30),
                config.mqtt().map(m -> m.publishResults()).orElse(false));
    }

    /**
     * Checks {@code changes} (key to JSON value) and returns them as stored overrides.
     *
     * @throws IllegalArgumentException naming the key, what was found and what is allowed
     */
    static ObjectNode check(JsonNode changes) {
        if (changes == null || !changes.isObject() || changes.isEmpty()) {
            throw new IllegalArgumentException("expected an object of settings to change, one or more of "
                    + KEYS.keySet().stream().sorted().toList() + ", found " + changes);
        }
        ObjectNode out = JSON.createObjectNode();
        List<String> errors = new ArrayList<>();
        changes.properties().forEach(f -> {
            long[] range = KEYS.get(f.getKey());
            JsonNode v = f.getValue();
            if (range == null) {
                errors.add(f.getKey() + ": not a setting that can change while running (expected one of "
                        + KEYS.keySet().stream().sorted().toList() + "; others need the config file and a restart)");
            } else if (range.length == 0) {
                if (v.isBoolean()) {
                    out.put(f.getKey(), v.booleanValue());
                } else {
                    errors.add(f.getKey() + ": expected true or false, found " + v);
                }
            } else if (v.canConvertToLong() && v.isIntegralNumber() && v.longValue() >= range[0]
                    && v.longValue() <= range[1]) {
                out.put(f.getKey(), v.intValue());
            } else {
                errors.add(f.getKey() + ": expected an integer " + range[0] + ".." + range[1] + ", found " + v);
            }
        });
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        return out;
    }

    /** These settings with {@code overrides} (as {@link #check} returns them) laid over. */
    LiveSettings with(JsonNode overrides) {
        return new LiveSettings(
                overrides.path("samples.max_per_model").asInt(samplesMaxPerModel),
                overrides.path("mqtt.health_period_s").asInt(healthPeriodSeconds),
                overrides.path("mqtt.publish_results").asBoolean(publishResults));
    }

    Map<String, Object> asMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("samples.max_per_model", samplesMaxPerModel);
        out.put("mqtt.health_period_s", healthPeriodSeconds);
        out.put("mqtt.publish_results", publishResults);
        return out;
    }

    /** The stored overrides; an unreadable or invalid file is logged and ignored, never fatal. */
    static ObjectNode load(Path stateDir) {
        Path file = stateDir.resolve(FILE);
        if (!Files.exists(file)) {
            return JSON.createObjectNode();
        }
        try {
            return check(JSON.readTree(file.toFile()));
        } catch (IOException | IllegalArgumentException e) {
            Logger.warn("{}: ignored, the configuration file's values apply: {}", file, e.getMessage());
            return JSON.createObjectNode();
        }
    }

    static void save(Path stateDir, ObjectNode overrides) {
        Path file = stateDir.resolve(FILE);
        if (overrides.isEmpty()) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + file, e);
            }
            return;
        }
        DurableFiles.replace(file, overrides.toPrettyString() + "\n");
    }
}
