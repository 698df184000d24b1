package dev.plateau.cli;

import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.model.ModelBundle;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau infer -m BUNDLE FILE...}: one JSON line per file. */
@Command(name = "infer", mixinStandardHelpOptions = true,
        description = "Classify files; prints one JSON line per file (file, label, score, scores, latency_us). "
                + "Exit 2 if any file was rejected.")
final class InferCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE", description = "model bundle directory")
    Path bundle;

    @Option(names = "--threads", defaultValue = "1", description = "ONNX Runtime threads (default: ${DEFAULT-VALUE})")
    int threads;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "images or CSV windows")
    List<Path> files;

    @Override
    public Integer call() {
        int status = ExitCode.OK;
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(threads), 0)) {
            for (Path file : files) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("file", file.toString());
                try {
                    Prediction p = engine.infer(file);
                    line.put("label", p.label());
                    line.put("score", p.score());
                    Map<String, Float> scores = new LinkedHashMap<>();
                    for (int i = 0; i < p.labels().size(); i++) {
                        scores.put(p.labels().get(i), p.score(i));
                    }
                    line.put("scores", scores);
                    line.put("latency_us", p.latencyMicros());
                } catch (InputRejectedException e) {
                    line.put("error", e.getMessage());
                    line.put("reason", e.reason().label());
                    status = ExitCode.BAD_INPUT;
                }
                System.out.println(Json.line(line));
            }
        }
        return status;
    }
}
