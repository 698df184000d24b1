package dev.plateau.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.fleet.Command;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.CommandRejectedException;
import dev.plateau.inference.LatencyHistogram;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.Disk;
import dev.plateau.store.DiskFullException;
import dev.plateau.store.DiskStatus;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.ModelStore;
import dev.plateau.store.SampleStore;
import dev.plateau.tuning.BudgetExceededException;
import dev.plateau.tuning.FineTune;
import dev.plateau.tuning.IdleThread;
import dev.plateau.tuning.TuningConfig;
import dev.plateau.tuning.TuningDataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The fleet's commands. {@code activate} and {@code rollback} go through the store: the daemon
 * follows the store, so the swap, the check before traffic and probation are the same as for
 * the CLI. {@code label} and {@code finetune} work on the sample store. Arguments are checked
 * before anything changes.
 */
final class FleetCommands {
    /** How a fine-tune ends: kept, refused by the gate or a guard, or failed to run. */
    private static final List<String> DECISIONS = List.of("accepted", "rejected", "failed");

    private final ModelStore store;
    private final Map<String, ModelSlot> slots;
    private final Optional<SampleStore> samples;
    private final Path workDir;
    private final List<Path> dataRoots;
    private final Clock clock;
    private final BiConsumer<String, Map<String, Object>> events;
    private final DiskStatus disk;
    /** Per model, when the last fine-tune ended and its decision; read by health reports. */
    private final Map<String, Map<String, Object>> lastFineTune = new ConcurrentHashMap<>();
    private final Map<String, Map<String, AtomicLong>> outcomes = new ConcurrentHashMap<>();
    private final Map<String, LatencyHistogram> durations = new ConcurrentHashMap<>();

    /**
     * @param dataRoots the directories {@code finetune data=...} may read from (after symlinks
     *                  are resolved); empty: only the sample store
     */
    FleetCommands(ModelStore store, Map<String, ModelSlot> slots, Optional<SampleStore> samples, Path stateDir,
                  List<Path> dataRoots, Clock clock, BiConsumer<String, Map<String, Object>> events, DiskStatus disk) {
        this.store = store;
        this.slots = slots;
        this.samples = samples;
        this.workDir = stateDir.resolve("tune");
        this.dataRoots = List.copyOf(dataRoots);
        this.clock = clock;
        this.events = events;
        this.disk = disk;
    }

    Map<String, CommandHandler> handlers() {
        return Map.of("activate", this::activate, "rollback", this::rollback, "label", this::label,
                "finetune", this::finetune);
    }

    /**
     * Fine-tunes of {@code model} ended so far, by decision: every decision, zero until one ends so,
     * as a monitoring system expects a counter to exist before it first moves.
     */
    Map<String, Long> fineTuneOutcomes(String model) {
        Map<String, Long> out = new LinkedHashMap<>();
        DECISIONS.forEach(d -> out.put(d, 0L));
        outcomes.getOrDefault(model, Map.of()).forEach((d, n) -> out.put(d, n.get()));
        return out;
    }

    /** The wall times of the fine-tunes of {@code model} ended so far. */
    LatencyHistogram.Cumulative fineTuneDurations(String model) {
        return durations.computeIfAbsent(model, m -> new LatencyHistogram()).cumulative();
    }

    /** When the last fine-tune of {@code model} ended, its decision and reason. */
    Optional<Map<String, Object>> lastFineTune(String model) {
        return Optional.ofNullable(lastFineTune.get(model));
    }

    private SampleStore sampleStore() throws CommandRejectedException {
        return samples.orElseThrow(() -> new CommandRejectedException(
                "samples: the sample store is disabled on this device (samples.enabled=false)"));
    }

    /** {@code label {model, ids: [...], label}}: attaches a label to stored samples. */
    private CommandHandler.Work label(Command c) throws CommandRejectedException {
        c.allowOnly("model", "ids", "label");
        ModelSlot slot = model(c);
        SampleStore store = sampleStore();
        List<String> labels = slot.engine().manifest().output().labels();
        JsonNode label = c.args().get("label");
        if (label == null || !label.isTextual() || !labels.contains(label.asText())) {
            throw new CommandRejectedException("label: expected one of " + labels + ", found " + label);
        }
        JsonNode ids = c.args().get("ids");
        if (ids == null || !ids.isArray() || ids.isEmpty() || ids.size() > 10_000) {
            throw new CommandRejectedException("ids: expected a list of 1..10000 sample ids, found " + ids);
        }
        List<String> list = new ArrayList<>();
        for (JsonNode id : ids) {
            if (!id.isTextual() || !store.contains(slot.name(), id.asText())) {
                throw new CommandRejectedException("ids: " + id + " is not a sample kept for " + slot.name());
            }
            list.add(id.asText());
        }
        return () -> {
            store.label(slot.name(), list, label.asText());
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("model", slot.name());
            result.put("labelled", list.size());
            result.put("label", label.asText());
            Map<String, Object> event = new LinkedHashMap<>(result);
            event.put("cmdId", c.cmdId());
            // Every label is the operator's: pseudo-labels never reach the store (README "Drift monitoring").
            events.accept("samples-labelled", event);
            return result;
        };
    }

    /**
     * {@code finetune {model, set: {key: value}, set.KEY: value, data?, val?}}: a guarded
     * fine-tune on the labelled samples of the sample store, or on a data directory under
     * {@code tuning.data_roots} (labels as sub-directories, as {@code plateau tune} reads it); an
     * accepted candidate is activated and goes on probation. {@code set.KEY=value} is the
     * command line's spelling of one entry of {@code set}.
     */
    private CommandHandler.Work finetune(Command c) throws CommandRejectedException {
        c.allowOnly(a -> List.of("model", "set", "data", "val").contains(a) || a.startsWith(SET_PREFIX),
                "[data, model, set, set.KEY, val]");
        ModelSlot slot = model(c);
        Map<String, String> overrides = tuningOverrides(c);
        Optional<Path> dataDir = directory(c, "data");
        Optional<Path> valDir = directory(c, "val");
        if (valDir.isPresent() && dataDir.isEmpty()) {
            throw new CommandRejectedException("val: only with data (a validation directory for a data directory)");
        }
        SampleStore store = dataDir.isPresent() ? null : sampleStore();
        TuningConfig config;
        try {
            config = TuningConfig.fromOverrides(overrides);
        } catch (IllegalArgumentException e) {
            throw new CommandRejectedException(e.getMessage());
        }
        return () -> {
            long started = System.nanoTime();
            Path exported = workDir.resolve(c.cmdId().replaceAll("[^A-Za-z0-9._-]", "_"));
            try {
                Path data = dataDir.orElse(exported);
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("model", slot.name());
                if (store != null) {
                    Map<String, Integer> counts = export(store, slot.name(), exported);
                    if (counts.isEmpty()) {
                        throw new TuningDataException("no labelled samples of " + slot.name()
                                + " in the sample store; label some first with the label command");
                    }
                    result.put("samples", counts);
                } else {
                    result.put("data", data.toString());
                }
                // At idle CPU priority: the device's inference keeps its latency while the fine-tune runs.
                FineTune.Outcome outcome = IdleThread.run("plateau-finetune", () -> new FineTune(
                        ModelBundle.open(slot.engine().bundle().dir()), this.store, config, clock)
                        .run(data, valDir.orElse(null)));
                result.put("decision", outcome.accepted() ? "accepted" : "rejected");
                result.put("reason", outcome.reason());
                if (outcome.accepted()) {
                    int version = Integer.parseInt(outcome.bundle().getFileName().toString());
                    this.store.activate(slot.name(), version, "fine-tune " + c.cmdId() + ": " + outcome.reason());
                    result.put("version", version);
                }
                disk.ok(FINETUNE + slot.name());
                decided(slot.name(), outcome.accepted() ? "finetune-accepted" : "finetune-rejected", result, started);
                return result;
            } catch (TuningDataException | BudgetExceededException e) {
                decided(slot.name(), "finetune-rejected", new LinkedHashMap<>(Map.of("model", slot.name(),
                        "decision", "rejected", "reason", e.getMessage())), started);
                throw e;
            } catch (DiskFullException e) {
                // Not a guard's verdict: the run could not finish. Nothing was kept, the active version serves on.
                disk.full(FINETUNE + slot.name(), "fine-tune of " + slot.name() + " (" + c.cmdId() + ") failed: "
                        + e.getMessage(), e);
                decided(slot.name(), "finetune-failed", new LinkedHashMap<>(Map.of("model", slot.name(),
                        "decision", "failed", "reason", e.getMessage())), started);
                throw e;
            } finally {
                DurableFiles.deleteTree(exported);
            }
        };
    }

    private static final String SET_PREFIX = "set.";
    private static final String FINETUNE = "finetune ";

    /** The labelled samples copied for a run; a full disk under the work directory is named as such. */
    private static Map<String, Integer> export(SampleStore store, String model, Path dir) {
        try {
            return store.exportLabelled(model, dir);
        } catch (UncheckedIOException e) {
            throw Disk.noSpace("cannot copy the labelled samples of " + model + " for the fine-tune", dir.getParent(),
                    0, e).map(RuntimeException.class::cast).orElse(e);
        }
    }

    /**
     * The tuning settings of {@code set: {...}} and {@code set.KEY} arguments, each key one of
     * {@link TuningConfig#keyNames()} and each value a JSON scalar.
     */
    private static Map<String, String> tuningOverrides(Command c) throws CommandRejectedException {
        Map<String, String> overrides = new LinkedHashMap<>();
        JsonNode set = c.args().path("set");
        if (!set.isMissingNode() && !set.isObject()) {
            throw new CommandRejectedException("set: expected an object of tuning settings, found "
                    + set.getNodeType().toString().toLowerCase());
        }
        Map<String, JsonNode> given = new LinkedHashMap<>();
        set.properties().forEach(f -> given.put("set." + f.getKey(), f.getValue()));
        for (var f : c.args().properties()) {
            if (f.getKey().startsWith(SET_PREFIX)) {
                if (given.containsKey(f.getKey())) {
                    throw new CommandRejectedException(f.getKey() + ": given twice, as an argument and inside set");
                }
                given.put(f.getKey(), f.getValue());
            }
        }
        List<String> known = TuningConfig.keyNames();
        for (var e : given.entrySet()) {
            String key = e.getKey().substring(SET_PREFIX.length());
            if (!known.contains(key)) {
                throw new CommandRejectedException(e.getKey() + ": unknown tuning setting '" + key
                        + "', expected one of " + known);
            }
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                throw new CommandRejectedException(e.getKey() + ": expected a number, boolean or string, found "
                        + e.getValue().getNodeType().toString().toLowerCase());
            }
            overrides.put(key, e.getValue().asText());
        }
        return overrides;
    }

    private void decided(String model, String event, Map<String, Object> result, long startedNanos) {
        outcomes.computeIfAbsent(model, m -> new ConcurrentHashMap<>())
                .computeIfAbsent(String.valueOf(result.get("decision")), d -> new AtomicLong()).incrementAndGet();
        durations.computeIfAbsent(model, m -> new LatencyHistogram()).record((System.nanoTime() - startedNanos) / 1000);
        lastFineTune.put(model, Map.of("at", clock.instant().toString(), "decision", result.get("decision"),
                "reason", String.valueOf(result.get("reason"))));
        events.accept(event, result);
    }

    /**
     * An optional argument naming a directory under one of {@link #dataRoots}, returned as its
     * real path (symlinks resolved, so none leads out of a root). Every refusal reads the same,
     * whether the path exists or not, so the reply says nothing about the device's files.
     */
    private Optional<Path> directory(Command c, String arg) throws CommandRejectedException {
        JsonNode v = c.args().get(arg);
        if (v == null) {
            return Optional.empty();
        }
        if (dataRoots.isEmpty()) {
            throw new CommandRejectedException(arg + ": this device reads fine-tuning data only from its sample "
                    + "store (tuning.data_roots is empty)");
        }
        String refused = arg + ": expected an existing directory under tuning.data_roots " + dataRoots
                + ", found " + (v.isTextual() ? "'" + v.asText() + "'" : v.getNodeType().toString().toLowerCase());
        if (!v.isTextual()) {
            throw new CommandRejectedException(refused);
        }
        Path real;
        try {
            Path dir = Path.of(v.asText());
            if (!dir.isAbsolute()) {
                throw new CommandRejectedException(refused);
            }
            real = dir.toRealPath();
        } catch (InvalidPathException | IOException | SecurityException e) {
            throw new CommandRejectedException(refused);
        }
        if (!Files.isDirectory(real) || !underRoot(real)) {
            throw new CommandRejectedException(refused);
        }
        return Optional.of(real);
    }

    private boolean underRoot(Path real) {
        for (Path root : dataRoots) {
            try {
                if (real.startsWith(root.toRealPath())) {
                    return true;
                }
            } catch (IOException | SecurityException e) {
                // A root that does not exist (yet) holds nothing.
            }
        }
        return false;
    }

    private ModelSlot model(Command c) throws CommandRejectedException {
        JsonNode model = c.args().get("model");
        if (model == null || !model.isTextual()) {
            throw new CommandRejectedException("model: expected one of " + slots.keySet() + ", found " + model);
        }
        ModelSlot slot = slots.get(model.asText());
        if (slot == null) {
            throw new CommandRejectedException("model: expected one of " + slots.keySet() + ", found '"
                    + model.asText() + "'");
        }
        return slot;
    }

    private Integer version(Command c, ModelSlot slot, boolean required) throws CommandRejectedException {
        JsonNode v = c.args().get("version");
        if (v == null && !required) {
            return null;
        }
        List<Integer> known = new java.util.ArrayList<>(List.of(0));
        known.addAll(store.versions(slot.name()));
        if (v == null || !v.canConvertToInt() || !known.contains(v.asInt())) {
            throw new CommandRejectedException("version: expected one of " + known + ", found " + v);
        }
        return v.asInt();
    }

    private CommandHandler.Work activate(Command c) throws CommandRejectedException {
        c.allowOnly("model", "version");
        ModelSlot slot = model(c);
        int version = version(c, slot, true);
        return () -> result(store.activate(slot.name(), version, "fleet command " + c.cmdId()));
    }

    private CommandHandler.Work rollback(Command c) throws CommandRejectedException {
        c.allowOnly("model", "version");
        ModelSlot slot = model(c);
        Integer version = version(c, slot, false);
        return () -> result(store.rollback(slot.name(), version, -1, "fleet command " + c.cmdId()));
    }

    private static Map<String, ?> result(ModelStore.Activation a) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", a.model());
        out.put("version", a.version());
        out.put("previous", a.previous());
        return out;
    }
}
