package dev.plateau.cli;

import dev.plateau.inference.InferenceBenchmark;
import dev.plateau.inference.InferenceBenchmark.Part;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputFiles;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.model.ModelBundle;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau bench infer}: side-by-side figures, never a bare absolute time. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Side-by-side benchmarks.",
        subcommands = BenchCommand.Infer.class)
final class BenchCommand {
    /** The most bytes a benchmark input may have: the largest image input. */
    private static final long MAX_SAMPLE_BYTES = 16L * 1024 * 1024;

    @Command(name = "infer", mixinStandardHelpOptions = true,
            description = "In one process, interleaved rounds after a warm-up: the floor (raw OrtSession.run on "
                    + "one reused direct-buffer tensor, pinned output), Plateau's full path from the file's bytes, "
                    + "Plateau without decoding, and the naive binding (new tensor per call, getValue()); "
                    + "p50/p90/p99 per call, bytes allocated per call, ratios to the floor.")
    static final class Infer implements Callable<Integer> {
        @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE", description = "model bundle")
        Path bundle;

        @Parameters(paramLabel = "FILE", description = "an input file for the model")
        Path sample;

        @Option(names = "--rate", paramLabel = "HZ", defaultValue = "0",
                description = "pace the calls at HZ per second (0: back to back; default: ${DEFAULT-VALUE})")
        double rate;

        @Option(names = "--seconds", paramLabel = "S", defaultValue = "10",
                description = "measuring time after the warm-up, all parts together (default: ${DEFAULT-VALUE})")
        double seconds;

        @Option(names = "--json", description = "print one JSON object instead of a table")
        boolean json;

        @Override
        public Integer call() throws InputRejectedException {
            if (!(rate >= 0) || Double.isInfinite(rate) || !(seconds > 0) || Double.isInfinite(seconds)) {
                throw new IllegalArgumentException("--rate must be >= 0 and --seconds > 0, found " + rate
                        + " and " + seconds);
            }
            byte[] data = InputFiles.read(sample, MAX_SAMPLE_BYTES, "a benchmark input");
            try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(1), 0)) {
                InferenceBenchmark.Result r = InferenceBenchmark.run(engine, data, sample.toString(), rate, seconds);
                System.out.println(json ? Json.line(toJson(r)) : table(r));
            }
            return ExitCode.OK;
        }

        static Map<String, Object> toJson(InferenceBenchmark.Result r) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", r.model());
            out.put("mode", r.rateHz() > 0 ? "paced" : "back-to-back");
            out.put("rate_hz", r.rateHz());
            out.put("rounds", r.rounds());
            for (Part part : Part.values()) {
                InferenceBenchmark.Figures f = r.part(part);
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("calls", f.calls());
                p.put("p50_us", f.p50Micros());
                p.put("p90_us", f.p90Micros());
                p.put("p99_us", f.p99Micros());
                p.put("bytes_per_call", f.bytesPerCall());
                out.put(name(part), p);
            }
            out.put("ratio_p50", r.ratioP50(Part.FULL));
            out.put("ratio_p99", r.ratioP99(Part.FULL));
            out.put("ratio_p50_prepared", r.ratioP50(Part.PREPARED));
            out.put("ratio_p50_naive", r.ratioP50(Part.NAIVE));
            return out;
        }

        static String table(InferenceBenchmark.Result r) {
            StringBuilder out = new StringBuilder();
            out.append(String.format(Locale.ROOT, "%s, %s, %d interleaved rounds%n", r.model(),
                    r.rateHz() > 0 ? "paced at " + r.rateHz() + " Hz" : "back to back", r.rounds()));
            out.append(String.format(Locale.ROOT, "%-9s %8s %8s %8s %9s %10s %10s %10s%n", "part", "calls",
                    "p50 us", "p90 us", "p99 us", "B/call", "p50/floor", "p99/floor"));
            for (Part part : Part.values()) {
                InferenceBenchmark.Figures f = r.part(part);
                out.append(String.format(Locale.ROOT, "%-9s %8d %8.1f %8.1f %9.1f %10d %10.2f %10.2f%n", name(part),
                        f.calls(), f.p50Micros(), f.p90Micros(), f.p99Micros(), f.bytesPerCall(), r.ratioP50(part),
                        r.ratioP99(part)));
            }
            return out.toString().stripTrailing();
        }

        private static String name(Part part) {
            return part.name().toLowerCase(Locale.ROOT);
        }
    }
}
