package dev.plateau.cli;

import dev.plateau.inference.Evaluation;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.ModelBundle;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code plateau eval -m BUNDLE -d DIR [--sequence N]}: accuracy of a model on a labelled
 * directory, and with {@code --sequence} a detector's figures on blocks of N consecutive windows.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate on a labelled directory DIR/<label>/<file>; prints JSON with n, accuracy, loss, "
                + "per_class (accuracies in 0..1), and roc_auc for two-class models; with --sequence N also "
                + "\"sequence\": blocks of N consecutive files per class folder (name order) scored by their mean "
                + "log-odds of output.positive, as the daemon's alarm does.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE", description = "model bundle directory")
    Path bundle;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR", description = "labelled sample directory")
    Path data;

    @Option(names = "--sequence", paramLabel = "N", description = "also evaluate non-overlapping blocks of N "
            + "consecutive files per class folder (a detector's deck-level alarm; needs output.positive)")
    Integer sequence;

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime threads (default: ${DEFAULT-VALUE})")
    int threads;

    @Override
    public Integer call() {
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(threads), 0)) {
            SampleDirectory samples = SampleDirectory.scan(data, engine.manifest().output().labels());
            if (samples.samples().isEmpty()) {
                throw new IllegalArgumentException(data + ": no samples (expected DIR/<label>/<file>)");
            }
            Evaluation.Result r = Evaluation.run(engine, samples,
                    sequence == null ? OptionalInt.empty() : OptionalInt.of(sequence));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", engine.manifest().name());
            out.put("version", engine.manifest().version());
            out.put("data", data.toString());
            out.put("n", r.n());
            out.put("rejected", r.rejected());
            out.put("accuracy", Json.finiteOrNull(r.accuracy()));
            out.put("loss", Json.finiteOrNull(r.loss()));
            if (engine.manifest().classCount() == 2) {
                out.put("roc_auc", Json.finiteOrNull(r.rocAuc()));
            }
            out.put("per_class", r.perClass());
            out.put("count_per_class", r.countPerClass());
            r.sequence().ifPresent(q -> out.put("sequence", sequence(q)));
            if (!r.rejections().isEmpty()) {
                out.put("rejections", r.rejections().subList(0, Math.min(20, r.rejections().size())));
            }
            System.out.println(Json.line(out));
            return r.rejected() > 0 ? ExitCode.BAD_INPUT : ExitCode.OK;
        }
    }

    private static Map<String, Object> sequence(Evaluation.Sequence q) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("n", q.n());
        out.put("blocks", q.blocks());
        out.put("dropped_files", q.droppedFiles());
        out.put("threshold", q.threshold());
        // Where the threshold came from: the manifest's alarm (set for its own N), or 0.
        out.put("threshold_source", q.alarm().isPresent() ? "manifest" : "default");
        q.alarm().ifPresent(a -> out.put("alarm_windows", a.windows()));
        out.put("false_alarm_rate", Json.finiteOrNull(q.falseAlarmRate()));
        out.put("detection_rate", Json.finiteOrNull(q.detectionRate()));
        out.put("roc_auc", Json.finiteOrNull(q.rocAuc()));
        return out;
    }
}
