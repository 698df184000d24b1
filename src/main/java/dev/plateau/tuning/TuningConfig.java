package dev.plateau.tuning;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.HashSet;
import java.util.Set;

/**
 * Hyperparameters, budgets and guard thresholds of one fine-tuning run. Validated on
 * construction: every bad value is reported as {@code key: reason (value seen, allowed range)},
 * nothing is clamped. {@link #defaults()} are meant for a pre-trained head on a small device;
 * {@link #describeDefaults()} lists them.
 *
 * <p>{@code minGain}, {@code maxForgetting}, {@code maxClassForgetting}, {@code gateConfidence},
 * {@code minPerClass} and {@code valFraction} are held here for the acceptance gate and the data
 * split; the trainer does not read them. {@code pinned} are the searched keys the user set.
 */
public record TuningConfig(
        OptimizerKind optimizer,
        double lr,
        double momentum,
        double beta1,
        double beta2,
        double epsilon,
        double weightDecay,
        double driftDecay,
        double clipNorm,
        int batchSize,
        int maxEpochs,
        long maxSteps,
        long maxSeconds,
        long maxMemoryMb,
        long seed,
        ScheduleKind schedule,
        double minLr,
        double plateauFactor,
        int plateauPatience,
        double rehearsalRatio,
        double minDelta,
        int patience,
        double gradTol,
        double spikeFactor,
        double gradSpikeFactor,
        double glAlpha,
        int upStrips,
        int stripLength,
        double overfitGap,
        double minGain,
        double maxForgetting,
        int minPerClass,
        double valFraction,
        NoveltyMode novelty,
        double gateConfidence,
        double maxClassForgetting,
        SearchMode search,
        double weightTol,
        double consistencyStop,
        Set<String> pinned) {

    /** The update rule; {@code adamw} is Adam with decoupled weight decay. */
    public enum OptimizerKind {
        SGD, MOMENTUM, NESTEROV, RMSPROP, ADAM, ADAMW;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Whether to add a site novelty score to a two-class model: {@code auto} does when the new
     * data holds only the negative class (a node calibrating on its own normal windows).
     */
    public enum NoveltyMode { AUTO, ON, OFF }

    /**
     * How the training settings are chosen: {@code auto} searches {@link #SEARCHED} on a selection
     * split (keys given with {@code --set} stay as given); {@code off} trains once with the values.
     */
    public enum SearchMode { AUTO, OFF }

    /** The keys the {@code auto} search chooses, unless pinned. */
    public static final List<String> SEARCHED = List.of("lr", "drift_decay", "rehearsal_ratio", "max_epochs");

    /** How the learning rate moves from epoch to epoch. */
    public enum ScheduleKind {
        CONSTANT, COSINE, PLATEAU;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final ConfigKey OPTIMIZER = ConfigKey.choice("optimizer", keys(OptimizerKind.values()),
            "update rule; adamw = Adam with decoupled weight decay", TuningConfig::optimizer);
    private static final ConfigKey LR = ConfigKey.real("lr", 0, true, 1000, false,
            "base learning rate (searched unless set)", TuningConfig::lr);
    private static final ConfigKey MOMENTUM = ConfigKey.real("momentum", 0, false, 1, true,
            "momentum coefficient (momentum, nesterov)", TuningConfig::momentum);
    private static final ConfigKey BETA1 = ConfigKey.real("beta1", 0, false, 1, true,
            "first-moment decay (adam, adamw)", TuningConfig::beta1);
    private static final ConfigKey BETA2 = ConfigKey.real("beta2", 0, false, 1, true,
            "second-moment decay (adam, adamw; also rmsprop's rho)", TuningConfig::beta2);
    private static final ConfigKey EPSILON = ConfigKey.real("epsilon", 0, true, 1, false,
            "denominator guard (rmsprop, adam, adamw)", TuningConfig::epsilon);
    private static final ConfigKey DRIFT_DECAY = ConfigKey.real("drift_decay", 0, false, 100, false,
            "L2 pull of dense weights back to the pre-trained ones (L2-SP): limits forgetting; 0 = off "
                    + "(searched unless set)",
            TuningConfig::driftDecay);
    private static final ConfigKey WEIGHT_DECAY = ConfigKey.real("weight_decay", 0, false, 1, false,
            "L2 on dense weights, not biases: added to the gradient; decoupled for adamw", TuningConfig::weightDecay);
    private static final ConfigKey CLIP_NORM = ConfigKey.real("clip_norm", 0, false, 1e6, false,
            "clip the global gradient norm to this; 0 = off", TuningConfig::clipNorm);
    private static final ConfigKey BATCH_SIZE = ConfigKey.integer("batch_size", 1, 65_536,
            "samples per optimizer step", TuningConfig::batchSize);
    private static final ConfigKey MAX_EPOCHS = ConfigKey.integer("max_epochs", 1, 100_000,
            "budget: passes over the training data (the search's last round; earlier rounds run 2 and 6)",
            TuningConfig::maxEpochs);
    private static final ConfigKey MAX_STEPS = ConfigKey.integer("max_steps", 0, 1_000_000_000_000L,
            "budget: optimizer steps; 0 = no step budget", TuningConfig::maxSteps);
    private static final ConfigKey MAX_SECONDS = ConfigKey.integer("max_seconds", 1, 604_800,
            "budget: wall-clock seconds of training, the whole search included", TuningConfig::maxSeconds);
    private static final ConfigKey MAX_MEMORY_MB = ConfigKey.integer("max_memory_mb", 1, 1_048_576,
            "budget: estimated memory (MiB); refuses to start above it", TuningConfig::maxMemoryMb);
    private static final ConfigKey SEED = ConfigKey.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE,
            "seed of shuffling and rehearsal sampling", TuningConfig::seed);
    private static final ConfigKey SCHEDULE = ConfigKey.choice("schedule", keys(ScheduleKind.values()),
            "learning-rate schedule", TuningConfig::schedule);
    private static final ConfigKey MIN_LR = ConfigKey.real("min_lr", 0, false, 1000, false,
            "floor of cosine and plateau schedules; at most lr", TuningConfig::minLr);
    private static final ConfigKey PLATEAU_FACTOR = ConfigKey.real("plateau_factor", 0, true, 1, false,
            "plateau schedule: multiply lr by this", TuningConfig::plateauFactor);
    private static final ConfigKey PLATEAU_PATIENCE = ConfigKey.integer("plateau_patience", 1, 1000,
            "plateau schedule: epochs without validation improvement before reducing", TuningConfig::plateauPatience);
    private static final ConfigKey REHEARSAL_RATIO = ConfigKey.real("rehearsal_ratio", 0, false, 100, false,
            "anchor samples mixed in per new sample each epoch; 0 = off (searched unless set)",
            TuningConfig::rehearsalRatio);
    private static final ConfigKey MIN_DELTA = ConfigKey.real("min_delta", 0, false, 1, true,
            "relative loss improvement that counts as progress", TuningConfig::minDelta);
    private static final ConfigKey PATIENCE = ConfigKey.integer("patience", 1, 1000,
            "plateau stop: epochs of train-loss improvement below min_delta", TuningConfig::patience);
    private static final ConfigKey GRAD_TOL = ConfigKey.real("grad_tol", 0, false, 1e6, false,
            "stop when an epoch's mean gradient norm is below this; 0 = off", TuningConfig::gradTol);
    private static final ConfigKey SPIKE_FACTOR = ConfigKey.real("spike_factor", 1, true, 1e9, false,
            "abort when the loss exceeds this times the best loss", TuningConfig::spikeFactor);
    private static final ConfigKey GRAD_SPIKE_FACTOR = ConfigKey.real("grad_spike_factor", 1, true, 1e12, false,
            "abort when a gradient norm exceeds this times the median of recent norms", TuningConfig::gradSpikeFactor);
    private static final ConfigKey GL_ALPHA = ConfigKey.real("gl_alpha", 0, true, 1e6, false,
            "early stop (Prechelt GL): validation loss this many percent above its best", TuningConfig::glAlpha);
    private static final ConfigKey UP_STRIPS = ConfigKey.integer("up_strips", 1, 1000,
            "early stop (Prechelt UP): validation loss up in this many successive strips", TuningConfig::upStrips);
    private static final ConfigKey STRIP_LENGTH = ConfigKey.integer("strip_length", 1, 1000,
            "epochs per strip for UP", TuningConfig::stripLength);
    private static final ConfigKey OVERFIT_GAP = ConfigKey.real("overfit_gap", 0, true, 1e9, false,
            "stop when validation loss exceeds training loss by more than this", TuningConfig::overfitGap);
    private static final ConfigKey MIN_GAIN = ConfigKey.real("min_gain", 0, false, 1, false,
            "gate: the lower confidence bound of the paired validation accuracy gain must reach this", TuningConfig::minGain);
    private static final ConfigKey MAX_FORGETTING = ConfigKey.real("max_forgetting", 0, false, 1, false,
            "gate: the upper confidence bound of the anchor-guard accuracy lost must stay below this", TuningConfig::maxForgetting);
    private static final ConfigKey MIN_PER_CLASS = ConfigKey.integer("min_per_class", 0, 1_000_000,
            "data: labelled samples needed per class present", TuningConfig::minPerClass);
    private static final ConfigKey NOVELTY = ConfigKey.choice("novelty", keys(NoveltyMode.values()),
            "two-class models: add a Mahalanobis novelty score fitted on the new data (auto: when it is one "
                    + "negative class)", TuningConfig::novelty);
    private static final ConfigKey GATE_CONFIDENCE = ConfigKey.real("gate_confidence", 0.5, true, 1, true,
            "gate: one-sided confidence of both decisions (better; not forgetting)", TuningConfig::gateConfidence);
    private static final ConfigKey MAX_CLASS_FORGETTING = ConfigKey.real("max_class_forgetting", 0, false, 1, false,
            "gate: anchor accuracy any one class may lose (no class may collapse)", TuningConfig::maxClassForgetting);
    private static final ConfigKey SEARCH = ConfigKey.choice("search", keys(SearchMode.values()),
            "auto: choose lr, drift_decay, rehearsal_ratio, max_epochs on a selection split (--set pins one); "
                    + "off: train once with the values", TuningConfig::search);
    private static final ConfigKey WEIGHT_TOL = ConfigKey.real("weight_tol", 0, false, 1, false,
            "stop when an epoch moves the head's weights by less than this (relative L2); 0 = off",
            TuningConfig::weightTol);
    private static final ConfigKey CONSISTENCY_STOP = ConfigKey.real("consistency_stop", 0, false, 1, false,
            "stop when at least this share of selection predictions is unchanged for `patience` epochs; 0 = off",
            TuningConfig::consistencyStop);
    private static final ConfigKey VAL_FRACTION = ConfigKey.real("val_fraction", 0, true, 0.9, false,
            "data: share of the new samples held out for validation, and of the rest for selection", TuningConfig::valFraction);

    private static final List<ConfigKey> KEYS = List.of(OPTIMIZER, LR, MOMENTUM, BETA1, BETA2, EPSILON,
            WEIGHT_DECAY, DRIFT_DECAY, CLIP_NORM, BATCH_SIZE, MAX_EPOCHS, MAX_STEPS, MAX_SECONDS, MAX_MEMORY_MB, SEED,
            SCHEDULE, MIN_LR, PLATEAU_FACTOR, PLATEAU_PATIENCE, REHEARSAL_RATIO, MIN_DELTA, PATIENCE, GRAD_TOL,
            SPIKE_FACTOR, GRAD_SPIKE_FACTOR, GL_ALPHA, UP_STRIPS, STRIP_LENGTH, OVERFIT_GAP, MIN_GAIN,
            MAX_FORGETTING, MIN_PER_CLASS, VAL_FRACTION, NOVELTY, GATE_CONFIDENCE, MAX_CLASS_FORGETTING, SEARCH,
            WEIGHT_TOL, CONSISTENCY_STOP);

    private static final TuningConfig DEFAULTS = new TuningConfig(OptimizerKind.ADAM, 1e-3, 0.9, 0.9, 0.999, 1e-8,
            0.0, 0.1, 5.0, 32, 30, 0, 600, 256, 0, ScheduleKind.PLATEAU, 1e-6, 0.5, 2, 2.0, 1e-3, 5, 1e-4,
            10.0, 100.0, 5.0, 3, 1, 1.0, 0.005, 0.04, 5, 0.2, NoveltyMode.AUTO, 0.95, 0.25, SearchMode.AUTO, 0, 0,
            Set.of());

    public TuningConfig {
        Rules r = new Rules();
        OPTIMIZER.check(r, optimizer);
        LR.check(r, lr);
        MOMENTUM.check(r, momentum);
        BETA1.check(r, beta1);
        BETA2.check(r, beta2);
        EPSILON.check(r, epsilon);
        WEIGHT_DECAY.check(r, weightDecay);
        DRIFT_DECAY.check(r, driftDecay);
        CLIP_NORM.check(r, clipNorm);
        BATCH_SIZE.check(r, (long) batchSize);
        MAX_EPOCHS.check(r, (long) maxEpochs);
        MAX_STEPS.check(r, maxSteps);
        MAX_SECONDS.check(r, maxSeconds);
        MAX_MEMORY_MB.check(r, maxMemoryMb);
        SCHEDULE.check(r, schedule);
        MIN_LR.check(r, minLr);
        PLATEAU_FACTOR.check(r, plateauFactor);
        PLATEAU_PATIENCE.check(r, (long) plateauPatience);
        REHEARSAL_RATIO.check(r, rehearsalRatio);
        MIN_DELTA.check(r, minDelta);
        PATIENCE.check(r, (long) patience);
        GRAD_TOL.check(r, gradTol);
        SPIKE_FACTOR.check(r, spikeFactor);
        GRAD_SPIKE_FACTOR.check(r, gradSpikeFactor);
        GL_ALPHA.check(r, glAlpha);
        UP_STRIPS.check(r, (long) upStrips);
        STRIP_LENGTH.check(r, (long) stripLength);
        OVERFIT_GAP.check(r, overfitGap);
        MIN_GAIN.check(r, minGain);
        MAX_FORGETTING.check(r, maxForgetting);
        MIN_PER_CLASS.check(r, (long) minPerClass);
        VAL_FRACTION.check(r, valFraction);
        NOVELTY.check(r, novelty);
        GATE_CONFIDENCE.check(r, gateConfidence);
        MAX_CLASS_FORGETTING.check(r, maxClassForgetting);
        SEARCH.check(r, search);
        WEIGHT_TOL.check(r, weightTol);
        CONSISTENCY_STOP.check(r, consistencyStop);
        pinned = Set.copyOf(pinned);
        r.require(!(minLr > lr), "min_lr: must not exceed lr (" + Rules.format(minLr) + " seen, allowed [0, "
                + Rules.format(lr) + "])");
        r.throwIfAny("tuning configuration");
    }

    /** The documented defaults (see {@link #describeDefaults()}). */
    public static TuningConfig defaults() {
        return DEFAULTS;
    }

    /**
     * The defaults with {@code --set key=value} pairs applied. Unknown keys are rejected with the
     * list of known ones; bad values with the value seen and what is allowed. Every problem is
     * reported at once in one {@link IllegalArgumentException}.
     */
    public static TuningConfig fromOverrides(Map<String, String> overrides) {
        Map<String, ConfigKey> byName = new HashMap<>();
        KEYS.forEach(k -> byName.put(k.name, k));
        Map<String, String> raw = new LinkedHashMap<>(DEFAULTS.asMap());
        Rules r = new Rules();
        overrides.forEach((key, value) -> {
            if (byName.containsKey(key)) {
                raw.put(key, value);
            } else {
                r.add("unknown key '" + key + "' (expected one of " + keyNames() + ")");
            }
        });
        Map<String, Object> v = new HashMap<>();
        for (ConfigKey k : KEYS) {
            Object parsed = k.parse(raw.get(k.name), r);
            // Range-check here too, so that parse and range problems come out in one message.
            if (parsed instanceof Double d) {
                k.check(r, d.doubleValue());
            } else if (parsed instanceof Long l) {
                k.check(r, l.longValue());
            }
            v.put(k.name, parsed);
        }
        r.throwIfAny("--set");
        return new TuningConfig(OptimizerKind.valueOf(upper(v, "optimizer")), real(v, "lr"), real(v, "momentum"),
                real(v, "beta1"), real(v, "beta2"), real(v, "epsilon"), real(v, "weight_decay"),
                real(v, "drift_decay"),
                real(v, "clip_norm"), integer(v, "batch_size"), integer(v, "max_epochs"), whole(v, "max_steps"),
                whole(v, "max_seconds"), whole(v, "max_memory_mb"), whole(v, "seed"),
                ScheduleKind.valueOf(upper(v, "schedule")), real(v, "min_lr"), real(v, "plateau_factor"),
                integer(v, "plateau_patience"), real(v, "rehearsal_ratio"), real(v, "min_delta"),
                integer(v, "patience"), real(v, "grad_tol"), real(v, "spike_factor"), real(v, "grad_spike_factor"),
                real(v, "gl_alpha"), integer(v, "up_strips"), integer(v, "strip_length"), real(v, "overfit_gap"),
                real(v, "min_gain"), real(v, "max_forgetting"), integer(v, "min_per_class"),
                real(v, "val_fraction"), NoveltyMode.valueOf(upper(v, "novelty")), real(v, "gate_confidence"),
                real(v, "max_class_forgetting"), SearchMode.valueOf(upper(v, "search")), real(v, "weight_tol"),
                real(v, "consistency_stop"), pinnedOf(overrides.keySet()));
    }

    /**
     * These settings with some values replaced, e.g. one search trial's; the replaced keys count
     * as pinned. Values are checked as {@code --set} checks them.
     */
    public TuningConfig with(Map<String, String> values) {
        Map<String, String> merged = new LinkedHashMap<>(asMap());
        merged.putAll(values);
        Set<String> keep = new HashSet<>(pinned);
        keep.addAll(values.keySet());
        TuningConfig out = fromOverrides(merged);
        return out.withPinned(keep);
    }

    private TuningConfig withPinned(Set<String> keys) {
        return new TuningConfig(optimizer, lr, momentum, beta1, beta2, epsilon, weightDecay, driftDecay, clipNorm,
                batchSize, maxEpochs, maxSteps, maxSeconds, maxMemoryMb, seed, schedule, minLr, plateauFactor,
                plateauPatience, rehearsalRatio, minDelta, patience, gradTol, spikeFactor, gradSpikeFactor, glAlpha,
                upStrips, stripLength, overfitGap, minGain, maxForgetting, minPerClass, valFraction, novelty,
                gateConfidence, maxClassForgetting, search, weightTol, consistencyStop, pinnedOf(keys));
    }

    /** Whether the search may choose {@code key}: it is searched, searching is on, and the user did not set it. */
    public boolean searches(String key) {
        return search == SearchMode.AUTO && SEARCHED.contains(key) && !pinned.contains(key);
    }

    private static Set<String> pinnedOf(Set<String> keys) {
        Set<String> out = new HashSet<>(keys);
        out.retainAll(SEARCHED);
        return out;
    }

    /** Every key with its value as {@code --set} takes it, in the documented order (for provenance). */
    public Map<String, String> asMap() {
        Map<String, String> out = new LinkedHashMap<>();
        for (ConfigKey k : KEYS) {
            out.put(k.name, k.format(this));
        }
        return out;
    }

    /** A Markdown table of every key: default, allowed values, meaning. */
    public static String describeDefaults() {
        StringBuilder b = new StringBuilder("| key | default | allowed | meaning |\n|---|---|---|---|\n");
        for (ConfigKey k : KEYS) {
            b.append("| `").append(k.name).append("` | ").append(k.format(DEFAULTS)).append(" | ")
                    .append(k.allowed().replace("|", "\\|")).append(" | ").append(k.meaning).append(" |\n");
        }
        return b.toString();
    }

    /** The known keys, in documented order. */
    public static List<String> keyNames() {
        List<String> names = new ArrayList<>();
        KEYS.forEach(k -> names.add(k.name));
        return List.copyOf(names);
    }

    private static List<String> keys(Enum<?>[] values) {
        List<String> out = new ArrayList<>();
        for (Enum<?> e : values) {
            out.add(e.name().toLowerCase(Locale.ROOT));
        }
        return List.copyOf(out);
    }

    private static String upper(Map<String, Object> v, String key) {
        return ((String) v.get(key)).toUpperCase(Locale.ROOT);
    }

    private static double real(Map<String, Object> v, String key) {
        return (Double) v.get(key);
    }

    private static long whole(Map<String, Object> v, String key) {
        return (Long) v.get(key);
    }

    /** Already range-checked against bounds that fit an int. */
    private static int integer(Map<String, Object> v, String key) {
        return Math.toIntExact((Long) v.get(key));
    }
}
