package dev.plateau.tuning;

import dev.plateau.inference.EmbeddingExtractor;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.HeadGraph;
import dev.plateau.model.HeadLayer;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.model.NoveltyGraph;
import dev.plateau.store.ModelStore;
import dev.plateau.tuning.CandidateWriter.Candidate;
import dev.plateau.tuning.TuneReport.GateDecision;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * One guarded fine-tune of a bundle's head: prepare the data (splits, hygiene), embed it once
 * with the frozen backbone, choose the settings and train the head in Java under the
 * convergence guards, pass the statistical acceptance gate, and publish the candidate as the
 * next version in the store. Any refusal leaves the store as it was.
 */
public final class FineTune {
    /**
     * Normal data has no positives to choose settings on: the most accurate settings there are
     * the ones that raise the fewest alarms, which is the way to a blind detector.
     */
    static final String NO_SEARCH_ON_NORMAL_DATA = "calibration on normal data only: its selection split has no "
            + "positives, so choosing on it would favour raising no alarm; the configured settings are used";

    private final ModelBundle bundle;
    private final ModelStore store;
    private final TuningConfig config;
    private final Clock clock;
    private final Consumer<String> progress;

    public FineTune(ModelBundle bundle, ModelStore store, TuningConfig config, Clock clock) {
        this(bundle, store, config, clock, line -> Logger.debug("fine-tune {}", line));
    }

    /** {@code progress} gets one line per trial and per epoch, on the training thread. */
    public FineTune(ModelBundle bundle, ModelStore store, TuningConfig config, Clock clock, Consumer<String> progress) {
        this.bundle = bundle;
        this.store = store;
        this.config = config;
        this.clock = clock;
        this.progress = progress;
    }

    /** What a fine-tune decided, with its report (written beside the candidate, or under reports/). */
    public record Outcome(boolean accepted, String reason, TuneReport report, Path bundle) {}

    /**
     * @param validationDir a separate validation directory, or null for a stratified split of {@code dataDir}
     * @throws TuningDataException when the data cannot be trained on (nothing is started)
     * @throws BudgetExceededException when the memory estimate is over {@code max_memory_mb}
     */
    public Outcome run(Path dataDir, Path validationDir) {
        long started = clock.millis();
        HeadGraph head = HeadGraph.read(bundle);
        TuneData data = TuneData.prepare(bundle, dataDir, validationDir, config);
        HeadNetwork base = new HeadNetwork(head.layers());
        // Checked from sample counts alone, before the backbone spends time on embeddings.
        MemoryBudget.estimate(base, config, data.fit().size(), data.selection().size(),
                data.rehearsal().size()).check(config);
        Embedded e = embed(head, data);
        boolean novelty = useNovelty(data);
        int positive = bundle.manifest().output().positiveIndex();
        // A site's own normal is not other sites' normal: with a novelty score the forgetting
        // guard checks what must never be lost, detecting the positive class of the original task.
        Samples guard = e.guard == null ? null : novelty ? onlyClass(e.guard, positive) : e.guard;
        // The search estimates forgetting on the same kind of samples the gate will guard with:
        // for a detector calibrated on normal data, on detecting the positive class.
        Samples anchorSelection = e.anchorSelection == null ? null
                : novelty ? onlyClass(e.anchorSelection, positive) : e.anchorSelection;

        SettingsSearch.Result chosen = new SettingsSearch(head.layers(),
                data.balancedFit(e.fit), e.selection, e.rehearsal, anchorSelection,
                guard == null ? 0 : guard.size(), novelty ? NO_SEARCH_ON_NORMAL_DATA : null, config, clock, progress,
                epoch -> progress.accept(epochLine(epoch))).run();
        TrainingResult run = chosen.run();
        boolean trained = !run.aborted() && run.bestWeights().isPresent();
        if (SiteCalibration.applies(bundle.manifest()) && data.negativeOnly(positive)) {
            try (SiteCalibration site = new SiteCalibration(bundle, data, config)) {
                SiteCalibration.Calibrated calibrated = trained ? site.candidate(head, run.bestWeights().get(), novelty)
                        : null;
                SiteCalibration.Judged judged = calibrated == null ? null : site.judge(calibrated, data.labels());
                return finish(started, data, chosen, calibrated == null ? null : calibrated.candidate(),
                        judged == null ? null : judged.site(),
                        judged == null ? null : judged.gate(), site.validationRows());
            }
        }
        Candidate candidate = trained ? candidate(head, run, novelty ? e.fit : null, positive) : null;
        GateDecision gate = candidate == null ? null : judge(base::logits, candidate.model(), e.validation, guard,
                data.labels(), data.mostFrequentTrainingLabel());
        return finish(started, data, chosen, candidate, null, gate, e.validation);
    }

    /** Reports the decision and, when accepted, publishes the candidate; {@code checkRows} are the validation files as the candidate's rows. */
    private Outcome finish(long started, TuneData data, SettingsSearch.Result chosen, Candidate candidate,
                           TuneReport.SiteReport site, GateDecision gate, Samples checkRows) {
        TrainingResult run = chosen.run();
        String reason = gate != null ? gate.reason() : "training " + key(run.reason()) + ": " + run.message()
                + "; nothing changes";
        boolean accepted = gate != null && gate.accepted();
        int version = accepted ? nextVersion() : 0;
        TuneReport report = Reports.of(bundle, data, chosen, candidate, site, gate, accepted ? version : null, reason,
                clock.millis() - started, config);
        String chart = Chart.svg(run.epochs(), run.bestEpoch(), key(run.reason()));
        CandidateWriter writer = new CandidateWriter(bundle, store, clock);
        if (site != null) {
            // The calibration changed what the scores mean: its deck-level threshold goes with them.
            writer = writer.withAlarm(new Manifest.Alarm(site.alarm().windows(), site.alarm().threshold(),
                    site.alarm().falseAlarmRate()));
        }
        if (!accepted) {
            writer.writeRejected(report, chart);
            return new Outcome(false, reason, report, null);
        }
        Path published = writer.write(version, candidate, report, chosen.settings(), data.validation(), checkRows,
                chart);
        Logger.info("fine-tune accepted: {} v{} -> v{}: {}", bundle.manifest().name(), bundle.manifest().version(),
                version, reason);
        return new Outcome(true, reason, report, published);
    }

    /** The gate on the current model and the candidate, both scored by the one evaluator. */
    private GateDecision judge(Scored.Model current, Scored.Model candidate, Samples validation, Samples guard,
                               List<String> labels, int chance) {
        return Gate.decide(Scored.of(current, validation), Scored.of(candidate, validation),
                guard == null ? null : Scored.of(current, guard), guard == null ? null : Scored.of(candidate, guard),
                labels, chance, config);
    }

    /** Backbone embeddings of every part, computed once. */
    private record Embedded(Samples fit, Samples selection, Samples validation, Samples rehearsal,
                            Samples anchorSelection, Samples guard) {}

    private Embedded embed(HeadGraph head, TuneData data) {
        try (EmbeddingExtractor extractor = EmbeddingExtractor.open(bundle.dir(), bundle.manifest(),
                head.withEmbeddingOutput(), head.embeddingTensor(), head.embeddingWidth(), OrtRuntime.environment(1))) {
            return new Embedded(Embeddings.of(extractor, data.fit(), "training data"),
                    Embeddings.of(extractor, data.selection(), "selection split of the training data"),
                    Embeddings.of(extractor, data.validation(), "validation data"),
                    optional(extractor, data.rehearsal(), "anchor set (rehearsal part)"),
                    optional(extractor, data.anchorSelection(), "anchor set (selection part)"),
                    optional(extractor, data.guard(), "anchor set (guard part)"));
        }
    }

    private static Samples optional(EmbeddingExtractor extractor, List<SampleDirectory.Sample> files, String what) {
        return files.isEmpty() ? null : Embeddings.of(extractor, files, what);
    }

    /** The trained head as the gate will judge it: plain logits, or with the fitted novelty score. */
    private Candidate candidate(HeadGraph head, TrainingResult run, Samples normal, int positive) {
        List<HeadLayer> weights = run.bestWeights().get();
        HeadNetwork net = new HeadNetwork(weights);
        byte[] file = head.withHead(weights);
        if (normal == null) {
            return new Candidate(file, null, net::logits, 0);
        }
        NoveltyGraph.Score score = NoveltyFit.fit(shuffledRows(normal, config.seed()));
        Scored.Model model = (rows, n) -> {
            // The novelty score is applied row by row, as the graph's added nodes do.
            int dim = net.inputs();
            float[] out = new float[n * net.outputs()];
            for (int r = 0; r < n; r++) {
                float[] embedding = Arrays.copyOfRange(rows, r * dim, (r + 1) * dim);
                System.arraycopy(score.apply(net.logits(embedding), embedding, positive), 0, out, r * net.outputs(),
                        net.outputs());
            }
            return out;
        };
        return new Candidate(NoveltyGraph.append(file, new NoveltyGraph.Existing(head.embeddingTensor()),
                head.outputTensor(), positive, score), score, model, 0);
    }

    /** Never a number used before, even by a version since quarantined or removed. */
    private int nextVersion() {
        return Math.max(bundle.manifest().version() + 1, store.nextVersion(bundle.manifest().name()));
    }

    private boolean useNovelty(TuneData data) {
        List<String> labels = data.labels();
        boolean twoClass = labels.size() == 2 && bundle.manifest().output().positive() != null;
        int positive = bundle.manifest().output().positiveIndex();
        boolean negativeOnly = twoClass && data.negativeOnly(positive);
        return switch (config.novelty()) {
            case OFF -> false;
            case AUTO -> negativeOnly;
            case ON -> {
                if (!negativeOnly) {
                    throw new TuningDataException("novelty=on needs a two-class model with output.positive and data "
                            + "of its negative class only; the data has " + Arrays.toString(data.counts(data.fit()))
                            + " samples per class " + labels);
                }
                yield true;
            }
        };
    }

    private static Samples onlyClass(Samples samples, int label) {
        List<float[]> rows = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            if (samples.label(i) == label) {
                rows.add(samples.row(i));
            }
        }
        if (rows.isEmpty()) {
            return null;
        }
        int[] labels = new int[rows.size()];
        Arrays.fill(labels, label);
        return Samples.classification(rows.toArray(float[][]::new), labels);
    }

    private static float[][] shuffledRows(Samples samples, long seed) {
        List<float[]> rows = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            rows.add(samples.row(i));
        }
        Collections.shuffle(rows, new Random(seed));
        return rows.toArray(float[][]::new);
    }

    private static String epochLine(EpochRecord e) {
        return String.format(Locale.ROOT, "  epoch %d: train loss %.4f, selection loss %.4f, accuracy %.3f, "
                        + "weights moved %.2g, predictions unchanged %s", e.epoch(), e.trainLoss(), e.valLoss(),
                e.valAccuracy(), e.weightChange(), Double.isNaN(e.unchangedPredictions()) ? "-"
                        : String.format(Locale.ROOT, "%.3f", e.unchangedPredictions()));
    }

    static String key(StopReason reason) {
        return reason.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
