package dev.plateau.cli;

import dev.plateau.inference.InferenceBenchmark;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.model.ModelBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau bench infer}: side-by-side figures, never a bare absolute time. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Side-by-side benchmarks.",
        subcommands = BenchCommand.Infer.class)
final class BenchCommand {

    @Command(name = "infer", mixinStandardHelpOptions = true,
            description = "Our inference hot path vs the raw ONNX Runtime binding on the same session and input, "
                    + "in alternating rounds; prints medians, their ratio and bytes allocated per call.")
    static final class Infer implements Callable<Integer> {
        @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE", description = "model bundle")
        Path bundle;

        @Parameters(paramLabel = "FILE", description = "an input file for the model")
        Path sample;

        @Option(names = "--rounds", defaultValue = "15", description = "alternating rounds (default: ${DEFAULT-VALUE})")
        int rounds;

        @Option(names = "--calls", defaultValue = "500", description = "calls per round (default: ${DEFAULT-VALUE})")
        int calls;

        @Override
        public Integer call() throws IOException, InputRejectedException {
            if (rounds < 1 || calls < 1) {
                throw new IllegalArgumentException("--rounds and --calls must be >= 1, found " + rounds + " and " + calls);
            }
            try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(1), 0)) {
                InferenceBenchmark.Result r = InferenceBenchmark.run(engine, Files.readAllBytes(sample),
                        sample.toString(), rounds, calls);
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("model", r.model());
                out.put("rounds", r.rounds());
                out.put("calls_per_round", r.callsPerRound());
                out.put("ours_us", r.oursMicros());
                out.put("raw_ort_us", r.rawMicros());
                out.put("ratio_ours_to_raw", r.ratio());
                out.put("ours_bytes_per_call", r.oursBytesPerCall());
                out.put("raw_ort_bytes_per_call", r.rawBytesPerCall());
                System.out.println(Json.line(out));
            }
            return ExitCode.OK;
        }
    }
}
