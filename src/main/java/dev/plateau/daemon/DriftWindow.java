package dev.plateau.daemon;

import dev.plateau.config.DeviceConfig;
import dev.plateau.tuning.DriftReference;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A drift monitor's decision over a sliding window of the last {@code window} inputs of one
 * model version. No I/O and no clock: {@link DriftMonitor} keeps its state and tells the fleet.
 *
 * <p>The test is sequential: once the window is full, every {@code checkEvery} inputs its four
 * statistics ({@link DriftReference#statistics}) are compared with their thresholds
 * ({@link DriftReference#thresholds}), each set so that a window of inputs like the reference's
 * exceeds it with probability {@code falseAlarmRate / 4}; a union bound over the four
 * (Bonferroni) keeps a clean check's chance of any exceedance at or below {@code falseAlarmRate}.
 * The first check with a statistic beyond its threshold detects drift.
 *
 * <p>Clearing is hysteresis in time, as the deck alarm's: {@code clearChecks} checks in a row
 * with every statistic within its threshold. A {@link #reset} (a new version: the reference
 * changes) empties the window; a detected drift stays detected until the new version's inputs
 * clear it.
 */
final class DriftWindow {
    /** One input's figures and where it came from. */
    record Input(DriftReference.Row row, String file, Optional<String> sample, Instant at) {}

    /** What an added input changed. */
    enum Change { NONE, DETECTED, CLEARED }

    /** One check: the statistics, and the names of those beyond their thresholds. */
    record Check(DriftReference.Figures statistics, List<String> exceeded, int inputs) {}

    private final DeviceConfig.Drift config;
    private final ArrayDeque<Input> inputs;
    private DriftReference reference;
    private DriftReference.Figures thresholds;
    private boolean detected;
    private int within;
    private int sinceCheck;
    private long seen;
    private Check last;

    DriftWindow(DeviceConfig.Drift config, DriftReference reference, boolean detected) {
        this.config = config;
        this.inputs = new ArrayDeque<>(config.window() + 1);
        this.detected = detected;
        reset(reference);
    }

    /** Compares from now on with {@code next}: the window and the clear count start empty, a detection stays. */
    void reset(DriftReference next) {
        reference = next;
        thresholds = next.thresholds(config.window(), config.falseAlarmRate());
        inputs.clear();
        within = 0;
        sinceCheck = 0;
        last = null;
    }

    /** Adds the newest input and says whether a check it completed detected or cleared drift. */
    Change add(Input input) {
        inputs.addLast(input);
        seen++;
        if (inputs.size() > config.window()) {
            inputs.removeFirst();
        }
        sinceCheck++;
        if (inputs.size() < config.window() || sinceCheck < config.checkEvery()) {
            return Change.NONE;
        }
        sinceCheck = 0;
        DriftReference.Figures stats = reference.statistics(inputs.stream().map(Input::row).toList());
        List<String> exceeded = new ArrayList<>();
        for (int i = 0; i < DriftReference.STATISTICS.size(); i++) {
            if (stats.get(i) > thresholds.get(i)) {
                exceeded.add(DriftReference.STATISTICS.get(i));
            }
        }
        last = new Check(stats, List.copyOf(exceeded), inputs.size());
        if (!exceeded.isEmpty()) {
            within = 0;
            if (!detected) {
                detected = true;
                return Change.DETECTED;
            }
            return Change.NONE;
        }
        if (detected && ++within >= config.clearChecks()) {
            detected = false;
            within = 0;
            return Change.CLEARED;
        }
        return Change.NONE;
    }

    /** The {@code n} inputs of the window farthest from the reference's embeddings, farthest first. */
    List<Input> mostDrifted(int n) {
        return inputs.stream().sorted(Comparator.comparingDouble((Input i) -> i.row().distance()).reversed())
                .limit(n).toList();
    }

    /** The window's inputs, oldest first. */
    List<Input> inputs() {
        return List.copyOf(inputs);
    }

    boolean detected() {
        return detected;
    }

    /** Consecutive checks within every threshold while detected. */
    int within() {
        return within;
    }

    /** The last check since the window was (re)started. */
    Optional<Check> lastCheck() {
        return Optional.ofNullable(last);
    }

    DriftReference reference() {
        return reference;
    }

    DriftReference.Figures thresholds() {
        return thresholds;
    }

    int size() {
        return inputs.size();
    }

    DeviceConfig.Drift config() {
        return config;
    }
}
