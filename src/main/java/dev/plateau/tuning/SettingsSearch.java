package dev.plateau.tuning;

import dev.plateau.model.HeadLayer;
import dev.plateau.tuning.TuneReport.SearchReport;
import dev.plateau.tuning.TuneReport.Trial;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Chooses the training settings on the cached embeddings by successive halving: a sample of the
 * grid trains for a few epochs, the best third goes on with more, and the best of those trains
 * with the full epoch budget under early stopping, whose best epoch is the candidate. Every
 * trial starts from the pre-trained head and is scored by its accuracy on the selection split;
 * a trial whose forgetting on the anchors' selection part implies a guard bound the gate would
 * refuse ranks below every trial it would not. The gate's validation
 * split and anchor guard are never looked at, so the gate stays an honest held-out test.
 * Keys the user set are not searched; the whole search stays within {@code max_seconds}. Given a
 * reason not to search, it trains once with the configured settings and the report says why.
 */
final class SettingsSearch {
    static final double[] LEARNING_RATES = {3e-4, 1e-3, 3e-3};
    /** 0 included: a strong pull to the pre-trained weights caps adaptation to a large shift. */
    static final double[] DRIFT_DECAYS = {0, 0.01, 0.1};
    static final double[] REHEARSAL_RATIOS = {1, 2};
    /** Configurations in the first rung, and the epochs of the rungs before the last (which gets max_epochs). */
    static final int FIRST_RUNG = 9;
    static final int[] RUNG_EPOCHS = {2, 6};
    /** A third of each rung goes on to the next. */
    static final int KEEP_ONE_IN = 3;
    /** Settings the gate can be expected to refuse score below every other, by this much at least. */
    static final double INFEASIBLE = 1;

    private final List<HeadLayer> base;
    private final Samples fit;
    private final Samples selection;
    private final Samples rehearsal;
    private final Samples anchorSelection;
    private final TuningConfig config;
    private final Clock clock;
    private final Consumer<String> progress;
    private final Consumer<EpochRecord> epochs;
    private final Scored baseOnAnchors;
    private final int guardSize;
    private final String noSearch;

    /** What the search chose: the run whose best weights are the candidate, and its settings. */
    record Result(TrainingResult run, TuningConfig settings, SearchReport report) {}

    SettingsSearch(List<HeadLayer> base, Samples fit, Samples selection, Samples rehearsal, Samples anchorSelection,
                   int guardSize, String noSearch, TuningConfig config, Clock clock, Consumer<String> progress,
                   Consumer<EpochRecord> epochs) {
        this.base = base;
        this.fit = fit;
        this.selection = selection;
        this.rehearsal = rehearsal;
        this.anchorSelection = anchorSelection;
        this.guardSize = guardSize;
        this.noSearch = noSearch;
        this.config = config;
        this.clock = clock;
        this.progress = progress;
        this.epochs = epochs;
        this.baseOnAnchors = anchorSelection == null ? null : Scored.of(new HeadNetwork(base)::logits, anchorSelection);
    }

    Result run() {
        long start = clock.millis();
        long deadline = start + config.maxSeconds() * 1000;
        List<Map<String, String>> candidates = noSearch == null ? candidates() : List.of(configured());
        if (candidates.size() == 1) {
            Outcome o = trial(1, 0, candidates.get(0), config.maxEpochs(), deadline);
            String why = noSearch != null ? noSearch : config.search() == TuningConfig.SearchMode.OFF
                    ? "search=off: the configured settings" : "every searched setting is pinned with --set";
            return new Result(o.run, o.config, new SearchReport("off", List.of(o.trial), 1, why,
                    clock.millis() - start));
        }
        List<Trial> trials = new ArrayList<>();
        List<Map<String, String>> rung = candidates;
        Outcome best = null;
        int[] schedule = {RUNG_EPOCHS[0], RUNG_EPOCHS[1], config.maxEpochs()};
        for (int r = 0; r < schedule.length && !rung.isEmpty(); r++) {
            int epochsHere = r == schedule.length - 1 ? config.maxEpochs() : Math.min(schedule[r], config.maxEpochs());
            List<Outcome> outcomes = new ArrayList<>();
            for (Map<String, String> settings : rung) {
                if (clock.millis() >= deadline - 1000 && best != null) {
                    break;
                }
                Outcome o = trial(trials.size() + 1, r, settings, epochsHere, deadline);
                trials.add(o.trial);
                // The best trial of any rung wins (a later rung on a tie: it trained longer); a
                // longer run of the same settings can forget more and lose to its own shorter run.
                // Only the best so far keeps its weights, so the search holds one extra copy.
                if (best == null || o.trial.score() > best.trial.score()
                        || (o.trial.score() == best.trial.score() && o.trial.rung() > best.trial.rung())) {
                    best = o;
                }
                outcomes.add(o == best ? o : o.withoutWeights());
            }
            outcomes.sort(Comparator.comparingDouble((Outcome o) -> -o.trial.score()));
            if (clock.millis() >= deadline - 1000 || epochsHere >= config.maxEpochs()) {
                break;
            }
            int keep = r == schedule.length - 2 ? 1 : Math.max(1, (outcomes.size() + KEEP_ONE_IN - 1) / KEEP_ONE_IN);
            rung = outcomes.stream().filter(Outcome::trained).limit(keep).map(o -> o.settings).toList();
        }
        Outcome winner = best;
        String why = String.format(Locale.ROOT, "highest selection score %.3f after %d trials: selection accuracy "
                        + "%.3f%s; ran %d epochs, best epoch %d", winner.trial.score(), trials.size(),
                winner.trial.selectionAccuracy(), winner.trial.anchorDropEstimate() == null ? ""
                        : String.format(Locale.ROOT, ", anchor drop estimate %.3f, so a guard bound of %.3f "
                                + "expected (max_forgetting %.3f)", winner.trial.anchorDropEstimate(),
                        winner.trial.expectedGuardBound(), config.maxForgetting()),
                winner.run.epochs().size(), winner.run.bestEpoch());
        return new Result(winner.run, winner.config, new SearchReport("auto", trials, winner.trial.trial(), why,
                clock.millis() - start));
    }

    /**
     * The forgetting bound the gate would compute on the guard if the candidate lost and gained
     * anchors there at the rates seen on the anchors' selection part: the gate must be able to
     * prove non-inferiority, so settings it would refuse lose to every setting it would not.
     */
    private double expectedGuardBound(PairedTest onSelection) {
        int g = Math.max(guardSize, 1);
        double scale = (double) g / onSelection.n();
        int gained = (int) Math.min(g, Math.round(onSelection.improved() * scale));
        int lost = (int) Math.min(g - gained, Math.round(onSelection.worsened() * scale));
        return -new PairedTest(g, gained, lost).lowerBound(config.gateConfidence());
    }

    /** A trial and, while it is the best so far, its run; {@code trained} when the run kept weights. */
    private record Outcome(Trial trial, TrainingResult run, TuningConfig config, Map<String, String> settings,
                           boolean trained) {
        Outcome withoutWeights() {
            return new Outcome(trial, null, config, settings, trained);
        }
    }

    private Outcome trial(int id, int rung, Map<String, String> settings, int maxEpochs, long deadline) {
        long started = clock.millis();
        Map<String, String> values = new LinkedHashMap<>(settings);
        values.put("max_epochs", Integer.toString(maxEpochs));
        values.put("max_seconds", Long.toString(Math.max(1, (deadline - started) / 1000)));
        TuningConfig c = config.with(values);
        HeadNetwork net = new HeadNetwork(base);
        Trainer trainer = new Trainer(c, clock, epochs);
        TrainingResult result = rehearsal != null && c.rehearsalRatio() > 0
                ? trainer.run(net, fit, selection, rehearsal) : trainer.run(net, fit, selection);
        double accuracy = Scored.of(net::logits, selection).accuracy();
        Double drop = null;
        Double bound = null;
        double score = result.bestWeights().isPresent() ? accuracy : Double.NEGATIVE_INFINITY;
        if (baseOnAnchors != null) {
            PairedTest t = PairedTest.of(baseOnAnchors.correct(), Scored.of(net::logits, anchorSelection).correct());
            drop = -t.difference();
            bound = expectedGuardBound(t);
            if (!(bound < config.maxForgetting())) {
                score -= INFEASIBLE + bound - config.maxForgetting();
            }
        }
        Map<String, String> shown = new LinkedHashMap<>(settings);
        shown.put("max_epochs", Integer.toString(maxEpochs));
        Trial t = new Trial(id, rung, shown, accuracy, drop, bound, Double.isFinite(score) ? score : -INFEASIBLE - 1,
                result.bestEpoch(),
                result.reason().name().toLowerCase(Locale.ROOT).replace('_', '-'), clock.millis() - started);
        progress.accept(String.format(Locale.ROOT, "trial %d (rung %d, up to %d epochs) %s: selection accuracy %.3f%s, "
                        + "score %.3f, best epoch %d, %d ms", id, rung + 1, maxEpochs, settings, accuracy,
                drop == null ? "" : String.format(Locale.ROOT, ", anchor drop %.3f (guard bound expected %.3f)", drop,
                        bound), t.score(),
                result.bestEpoch(), t.millis()));
        return new Outcome(t, result, c, settings, result.bestWeights().isPresent());
    }

    /** A seeded sample of the grid over the keys the search may choose; the configured values come first. */
    private List<Map<String, String>> candidates() {
        List<Double> lrs = values("lr", LEARNING_RATES, config.lr());
        List<Double> drifts = values("drift_decay", DRIFT_DECAYS, config.driftDecay());
        List<Double> rehearsals = rehearsal == null ? List.of(0.0)
                : values("rehearsal_ratio", REHEARSAL_RATIOS, config.rehearsalRatio());
        List<Map<String, String>> grid = new ArrayList<>();
        for (double lr : lrs) {
            for (double d : drifts) {
                for (double r : rehearsals) {
                    Map<String, String> m = new LinkedHashMap<>();
                    m.put("lr", Rules.format(lr));
                    m.put("drift_decay", Rules.format(d));
                    m.put("rehearsal_ratio", Rules.format(r));
                    grid.add(m);
                }
            }
        }
        if (config.search() == TuningConfig.SearchMode.OFF || grid.size() == 1) {
            return List.of(configured());
        }
        Map<String, String> configured = grid.get(0);
        List<Map<String, String>> rest = new ArrayList<>(grid.subList(1, grid.size()));
        Collections.shuffle(rest, new Random(config.seed()));
        List<Map<String, String>> out = new ArrayList<>();
        out.add(configured);
        out.addAll(rest.subList(0, Math.min(FIRST_RUNG - 1, rest.size())));
        return out;
    }

    private Map<String, String> configured() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("lr", Rules.format(config.lr()));
        m.put("drift_decay", Rules.format(config.driftDecay()));
        m.put("rehearsal_ratio", Rules.format(rehearsal == null ? 0 : config.rehearsalRatio()));
        return m;
    }

    /** The grid's values for a key the search chooses, the configured value first; else the configured value. */
    private List<Double> values(String key, double[] grid, double configured) {
        List<Double> out = new ArrayList<>();
        out.add(configured);
        if (config.searches(key)) {
            for (double v : grid) {
                if (v != configured) {
                    out.add(v);
                }
            }
        }
        return out;
    }
}
