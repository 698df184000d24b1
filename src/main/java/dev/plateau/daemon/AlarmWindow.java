package dev.plateau.daemon;

import dev.plateau.inference.LogOdds;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;

/**
 * A deck-level alarm's decision: a sliding window over the last {@code windows} per-window
 * scores (log-odds of the positive class, see {@link LogOdds}), raised when their mean is above
 * {@code threshold}, cleared with hysteresis. No I/O and no clock: {@link AlarmTracker} keeps
 * it on disk and tells the fleet.
 *
 * <p>Raising: once {@code windows} scores have been seen (since the start or the last
 * {@link #reset}), the first window whose mean is above the threshold raises. The mean of N
 * windows is the statistic the threshold was chosen for ({@code plateau eval --sequence N}
 * measures its false-alarm and detection rates), so the raise rule is exactly that statistic,
 * with no extra margin that would move the chosen false-alarm rate.
 *
 * <p>Clearing: a raised alarm clears only after {@code clearWindows} consecutive windows whose
 * mean is at or below the threshold; one window above it starts the count again. The hysteresis
 * is in time, not in level: a level margin (clear below {@code threshold - m}) would need a second
 * calibrated number in log-odds, while a count only delays the clear and leaves the raise
 * untouched. It is asymmetric on purpose: damage does not heal by itself, so a clear is either
 * weather or traffic that raised it, or a repair, and asking for several minutes of evidence
 * costs little; without it a deck near the threshold would raise and clear every few windows.
 *
 * <p>A reset (a new model version, whose scores are not comparable with the old one's) empties
 * the window and the clear count but keeps a raised alarm raised: only evidence clears it.
 */
final class AlarmWindow {
    /** One window's evidence: its score and where it came from. */
    record Score(double value, String file, Optional<String> sample, Instant at) {}

    /** What an added score changed. */
    enum Change { NONE, RAISED, CLEARED }

    private final int windows;
    private final double threshold;
    private final int clearWindows;
    private final ArrayDeque<Score> scores;
    private boolean raised;
    private int below;

    AlarmWindow(int windows, double threshold, int clearWindows) {
        if (windows < 1 || clearWindows < 1 || !Double.isFinite(threshold)) {
            throw new IllegalArgumentException("alarm window: expected windows >= 1, clear windows >= 1 and a finite "
                    + "threshold, found " + windows + ", " + clearWindows + ", " + threshold);
        }
        this.windows = windows;
        this.threshold = threshold;
        this.clearWindows = clearWindows;
        this.scores = new ArrayDeque<>(windows + 1);
    }

    /**
     * A window with the given state restored (after a restart): raised or not, the scores (the
     * last {@code windows} are kept) and the count of consecutive windows at or below the threshold.
     */
    static AlarmWindow restored(int windows, double threshold, int clearWindows, boolean raised, List<Score> scores,
                                int below) {
        AlarmWindow w = new AlarmWindow(windows, threshold, clearWindows);
        w.raised = raised;
        scores.subList(Math.max(0, scores.size() - windows), scores.size()).forEach(w.scores::addLast);
        w.below = raised ? Math.min(Math.max(below, 0), clearWindows - 1) : 0;
        return w;
    }

    /** Adds the newest window's score and says whether the alarm was raised or cleared by it. */
    Change add(Score score) {
        scores.addLast(score);
        if (scores.size() > windows) {
            scores.removeFirst();
        }
        if (scores.size() < windows) {
            return Change.NONE;
        }
        if (LogOdds.above(mean(), threshold)) {
            below = 0;
            if (!raised) {
                raised = true;
                return Change.RAISED;
            }
            return Change.NONE;
        }
        if (raised && ++below >= clearWindows) {
            raised = false;
            below = 0;
            return Change.CLEARED;
        }
        return Change.NONE;
    }

    /** Forgets the scores and the clear count; a raised alarm stays raised. */
    void reset() {
        scores.clear();
        below = 0;
    }

    boolean raised() {
        return raised;
    }

    /** The mean of the scores in the window, when it is full. */
    Optional<Double> fullMean() {
        return scores.size() < windows ? Optional.empty() : Optional.of(mean());
    }

    private double mean() {
        return LogOdds.mean(scores.stream().mapToDouble(Score::value).toArray());
    }

    /** The scores in the window, oldest first. */
    List<Score> scores() {
        return List.copyOf(scores);
    }

    /** Consecutive full windows at or below the threshold while raised. */
    int below() {
        return below;
    }

    int windows() {
        return windows;
    }

    double threshold() {
        return threshold;
    }

    int clearWindows() {
        return clearWindows;
    }
}
