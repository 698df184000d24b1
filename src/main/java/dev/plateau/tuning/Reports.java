package dev.plateau.tuning;

import dev.plateau.model.ModelBundle;
import dev.plateau.tuning.CandidateWriter.Candidate;
import dev.plateau.tuning.TuneReport.DataReport;
import dev.plateau.tuning.TuneReport.EpochReport;
import dev.plateau.tuning.TuneReport.GateDecision;
import dev.plateau.tuning.TuneReport.NoveltyReport;
import dev.plateau.tuning.TuneReport.Verdict;
import java.util.List;

/** Assembles a fine-tune's {@link TuneReport} from the parts of the run. */
final class Reports {
    private Reports() {}

    static TuneReport of(ModelBundle bundle, TuneData data, SettingsSearch.Result chosen, Candidate candidate,
                         TuneReport.SiteReport site, GateDecision gate, Integer version, String reason, long wallMillis,
                         TuningConfig config) {
        TrainingResult run = chosen.run();
        DataReport d = new DataReport(data.perClass(data.fit()), data.perClass(data.selection()),
                data.perClass(data.validation()), data.rehearsal().size(), data.anchorSelection().size(),
                data.guard().size(), data.notes());
        List<EpochReport> epochs = run.epochs().stream().map(e -> new EpochReport(e.epoch(), finite(e.trainLoss()),
                finite(e.valLoss()), finite(e.valAccuracy()), finite(e.gradNorm()), e.learningRate(), e.steps(),
                finite(e.weightChange()), finite(e.unchangedPredictions()))).toList();
        NoveltyReport novelty = candidate == null || candidate.novelty() == null ? null
                : new NoveltyReport(candidate.novelty().tau(), candidate.novelty().beta(), NoveltyFit.FIT_SHARE,
                        NoveltyFit.QUANTILE, NoveltyFit.SHRINKAGE, "anchor accuracy on '"
                        + data.labels().get(bundle.manifest().output().positiveIndex()) + "'");
        Verdict verdict = gate == null ? Verdict.TRAINING_STOPPED : gate.verdict();
        Runtime rt = Runtime.getRuntime();
        return new TuneReport(bundle.manifest().name(), bundle.manifest().version(), TuneData.sha256(bundle.modelFile()),
                config.seed(), d, chosen.report(), chosen.settings().asMap(), epochs, FineTune.key(run.reason()),
                run.message(), run.bestEpoch(), run.steps(), novelty, site, gate,
                gate != null && gate.accepted() ? "accepted" : "rejected", verdict.key(), reason, version, null,
                wallMillis, run.estimatedBytes(), rt.totalMemory() - rt.freeMemory());
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
