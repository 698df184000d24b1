package dev.plateau.cli;

import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import dev.plateau.daemon.Footprint;
import dev.plateau.inference.InferenceBenchmark;
import dev.plateau.inference.InferenceBenchmark.Part;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputFiles;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.ModelBundle;
import dev.plateau.tuning.FineTuneContention;
import dev.plateau.tuning.HeadBenchmark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau bench infer|tune|footprint}: side-by-side figures, never a bare absolute time. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Side-by-side benchmarks.",
        subcommands = {BenchCommand.Infer.class, BenchCommand.Tune.class, BenchCommand.FootprintCommand.class})
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
    @Command(name = "tune", mixinStandardHelpOptions = true,
            description = "Embeds DIR once with the bundle's backbone (timed), then trains the bundle's head for "
                    + "--steps steps of batch 32 with Adam from its own weights, as a fine-tune does, side by side "
                    + "with the same head, embeddings, batches, optimizer and steps in PyTorch on one thread "
                    + "(models/training/bench_head_torch.py, when /usr/bin/python3 has torch), with the BLAS "
                    + "that torch used and its measured matmul speed.")
    static final class Tune implements Callable<Integer> {
        /** The fine-tune default, and the batch the PyTorch figures of the README use. */
        static final int BATCH = 32;

        @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE", description = "model bundle")
        Path bundle;

        @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR",
                description = "labelled sample directory (one sub-directory per label)")
        Path data;

        @Option(names = "--steps", paramLabel = "N", defaultValue = "152",
                description = "training steps per run (default: ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--repeats", paramLabel = "R", defaultValue = "5",
                description = "timed runs after one warm-up run, each side; the median counts (default: ${DEFAULT-VALUE})")
        int repeats;

        @Option(names = "--torch-script", paramLabel = "FILE", defaultValue = "models/training/bench_head_torch.py",
                description = "the PyTorch peer (default: ${DEFAULT-VALUE})")
        Path torchScript;

        @Option(names = "--contention-seconds", paramLabel = "S", defaultValue = "5",
                description = "inference measured idle for S seconds, then during a real fine-tune of DIR, back to "
                        + "back and paced at 100 Hz, with the fine-tune at idle CPU priority (as the daemon runs it) and "
                        + "at normal priority; 0 skips it (default: ${DEFAULT-VALUE})")
        double contentionSeconds;

        @Option(names = "--json", description = "print one JSON object instead of a table")
        boolean json;

        /** The paced rate of the contention part: a sensor at 100 Hz. */
        static final double PACED_HZ = 100;

        @Override
        public Integer call() throws IOException, InterruptedException, InputRejectedException {
            if (steps < 1 || repeats < 1) {
                throw new IllegalArgumentException("--steps and --repeats must be >= 1, found " + steps + " and "
                        + repeats);
            }
            ModelBundle b = ModelBundle.open(bundle);
            HeadBenchmark.Embedded e = HeadBenchmark.embed(b, data);
            HeadBenchmark.Runs ours = HeadBenchmark.train(e.head().layers(), e.samples(), steps, BATCH, repeats);
            Optional<String> skipped = TorchPeer.unavailable();
            Optional<TorchPeer.Result> torch = Optional.empty();
            if (skipped.isEmpty()) {
                Path file = Files.createTempFile("plateau-head", ".bin");
                try {
                    HeadBenchmark.writeForPeer(file, e.samples(), e.head().layers());
                    torch = Optional.of(TorchPeer.run(torchScript, file, steps, BATCH, HeadBenchmark.adamArguments(),
                            repeats));
                } finally {
                    Files.deleteIfExists(file);
                }
            }
            List<FineTuneContention.Result> contention = contention(b);
            String model = b.manifest().name();
            System.out.println(json ? Json.line(toJson(model, e, ours, torch, skipped.orElse(null), contention))
                    : table(model, e, ours, torch, skipped.orElse(null)) + contentionTable(contention));
            return ExitCode.OK;
        }

        /** Back to back and paced, each with the fine-tune at idle and at normal priority. */
        private List<FineTuneContention.Result> contention(ModelBundle b) throws IOException, InputRejectedException {
            if (!(contentionSeconds > 0)) {
                return List.of();
            }
            List<SampleDirectory.Sample> files = SampleDirectory.scan(data, b.manifest().output().labels()).samples();
            if (files.isEmpty()) {
                throw new IllegalArgumentException(data + ": no samples to infer on");
            }
            Path file = files.get(0).file();
            byte[] sample = InputFiles.read(file, MAX_SAMPLE_BYTES, "a benchmark input");
            int pool = DeviceConfig.Inference.defaultThreads();
            List<FineTuneContention.Result> out = new ArrayList<>();
            for (double rate : new double[] {0, PACED_HZ}) {
                for (boolean idle : new boolean[] {true, false}) {
                    out.add(FineTuneContention.measure(b, pool, sample, file.toString(), data, idle, rate,
                            contentionSeconds));
                }
            }
            return out;
        }

        static String contentionTable(List<FineTuneContention.Result> results) {
            if (results.isEmpty()) {
                return "";
            }
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                    "%ninference while a fine-tune runs (shared pool, as the daemon), p50 / p99 / max in us%n"));
            out.append(String.format(Locale.ROOT, "%-13s %-9s %26s %26s %9s %9s %8s%n", "inference", "fine-tune",
                    "idle", "during the fine-tune", "p50 x", "p99 x", "tune s"));
            for (FineTuneContention.Result r : results) {
                out.append(String.format(Locale.ROOT, "%-13s %-9s %26s %26s %9.2f %9.2f %8.1f%n",
                        r.rateHz() > 0 ? "paced " + (int) r.rateHz() + " Hz" : "back to back",
                        r.idlePriority() ? "idle" : "normal", figures(r.idle()), figures(r.during()), r.ratioP50(),
                        r.ratioP99(), r.fineTuneMillis() / 1000.0));
            }
            return out.toString().stripTrailing();
        }

        private static String figures(FineTuneContention.Figures f) {
            return String.format(Locale.ROOT, "%.0f / %.0f / %.0f (%d)", f.p50Micros(), f.p99Micros(), f.maxMicros(),
                    f.calls());
        }

        private static Map<String, Object> contentionJson(FineTuneContention.Result r) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("mode", r.rateHz() > 0 ? "paced" : "back-to-back");
            out.put("rate_hz", r.rateHz());
            out.put("finetune_priority", r.idlePriority() ? "idle" : "normal");
            out.put("idle", figuresJson(r.idle()));
            out.put("during", figuresJson(r.during()));
            out.put("ratio_p50", r.ratioP50());
            out.put("ratio_p99", r.ratioP99());
            out.put("finetune_ms", r.fineTuneMillis());
            out.put("finetune_decision", r.decision());
            return out;
        }

        private static Map<String, Object> figuresJson(FineTuneContention.Figures f) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("calls", f.calls());
            out.put("p50_us", f.p50Micros());
            out.put("p99_us", f.p99Micros());
            out.put("max_us", f.maxMicros());
            return out;
        }

        static Map<String, Object> toJson(String model, HeadBenchmark.Embedded e, HeadBenchmark.Runs ours,
                                          Optional<TorchPeer.Result> torch, String skipped,
                                          List<FineTuneContention.Result> contention) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", model);
            out.put("samples", e.samples().size());
            out.put("embedding_width", e.samples().dim());
            out.put("embed_ms", e.millis());
            out.put("steps", ours.steps());
            out.put("batch", ours.batch());
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("median_ms", ours.medianMillis());
            p.put("runs_ms", ours.runsMillis());
            p.put("steps_per_s", ours.steps() / ours.medianMillis() * 1000);
            p.put("gflops", ours.gflops());
            p.put("final_loss", Json.finiteOrNull(ours.finalLoss()));
            out.put("plateau", p);
            torch.ifPresent(t -> {
                Map<String, Object> q = new LinkedHashMap<>();
                q.put("version", t.torchVersion());
                q.put("median_ms", t.medianMillis());
                q.put("runs_ms", t.runsMillis());
                q.put("steps_per_s", ours.steps() / t.medianMillis() * 1000);
                q.put("gflops", ours.flopsPerStep() * ours.steps() / (t.medianMillis() * 1e6));
                q.put("final_loss", Json.finiteOrNull(t.finalLoss()));
                q.put("blas_build", t.blasBuild());
                q.put("blas_loaded", t.blasLoaded());
                q.put("matmul_1024_gflops", t.matmulGflops());
                q.put("optimised_blas", t.optimisedBlas());
                out.put("torch", q);
                out.put("ratio", ours.medianMillis() / t.medianMillis());
            });
            if (torch.isEmpty()) {
                out.put("torch_skipped", skipped);
            }
            if (!contention.isEmpty()) {
                out.put("inference_during_finetune", contention.stream().map(Tune::contentionJson).toList());
            }
            return out;
        }

        static String table(String model, HeadBenchmark.Embedded e, HeadBenchmark.Runs ours,
                            Optional<TorchPeer.Result> torch, String skipped) {
            StringBuilder out = new StringBuilder();
            out.append(String.format(Locale.ROOT, "%s: %d samples embedded (width %d) in %d ms; %d steps of batch %d,"
                            + " Adam, one thread, median of %d runs after a warm-up%n", model, e.samples().size(),
                    e.samples().dim(), e.millis(), ours.steps(), ours.batch(), ours.runsMillis().length));
            out.append(String.format(Locale.ROOT, "%-8s %10s %9s %8s %11s %9s%n", "side", "train ms", "steps/s",
                    "GFLOP/s", "final loss", "ratio"));
            double base = torch.map(TorchPeer.Result::medianMillis).orElse(Double.NaN);
            out.append(row("plateau", ours.medianMillis(), ours, ours.finalLoss(), ours.medianMillis() / base));
            torch.ifPresentOrElse(t -> {
                out.append(row("pytorch", t.medianMillis(), ours, t.finalLoss(), 1.0));
                out.append(String.format(Locale.ROOT, "torch %s BLAS: loaded %s, 1024x1024 matmul %.1f GFLOP/s%s%n",
                        t.torchVersion(), t.blasLoaded().isEmpty() ? "(none seen)" : String.join(", ", t.blasLoaded()),
                        t.matmulGflops(), t.optimisedBlas() ? "" : " -- a reference BLAS: this ratio does not count"));
            }, () -> out.append("pytorch: skipped, " + skipped + "\n"));
            return out.toString().stripTrailing();
        }

        private static String row(String side, double ms, HeadBenchmark.Runs ours, double loss, double ratio) {
            return String.format(Locale.ROOT, "%-8s %10.1f %9.1f %8.1f %11.4f %9.2f%n", side, ms,
                    ours.steps() / ms * 1000, ours.flopsPerStep() * ours.steps() / (ms * 1e6), loss, ratio);
        }
    }

    @Command(name = "footprint", mixinStandardHelpOptions = true,
            description = "Runs `plateau run -c CONFIG` as a child with the systemd unit's JVM flags, then a bare JVM "
                    + "with the same flags that only loads the config's models into ONNX Runtime and runs each once: "
                    + "start to ready and to first result, resident memory over time and its peak, side by side. "
                    + "As installed: ONNX Runtime's libraries unpacked once for both, and for the daemon an AppCDS "
                    + "archive from a training run on CONFIG, as systemd/install.sh makes them.")
    static final class FootprintCommand implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, paramLabel = "CONFIG", description = "device config")
        Path config;

        @Option(names = "--seconds", paramLabel = "S", defaultValue = "60",
                description = "how long each process runs (default: ${DEFAULT-VALUE})")
        double seconds;

        @Option(names = "--finetune", paramLabel = "MODEL=DIR", description = "then, in a JVM with the same flags "
                + "holding the config's models, one fine-tune of MODEL on DIR as the daemon runs it: resident memory "
                + "before and its peak during")
        String fineTune;

        @Option(names = "--no-start-cache", description = "as a JVM runs the jar without the install script: "
                + "ONNX Runtime unpacks its libraries on each start, no AppCDS archive")
        boolean noStartCache;

        @Option(names = "--json", description = "print one JSON object instead of a table")
        boolean json;

        @Override
        public Integer call() throws IOException, InterruptedException {
            if (!(seconds >= 4) || Double.isInfinite(seconds)) {
                throw new IllegalArgumentException("--seconds must be at least 4, found " + seconds);
            }
            ConfigLoader.load(config); // a broken config is refused here, not as a child's exit code
            String[] tune = fineTune == null ? null : fineTune.split("=", 2);
            if (tune != null && (tune.length != 2 || !Files.isDirectory(Path.of(tune[1])))) {
                throw new IllegalArgumentException("--finetune must be MODEL=DIR with DIR a directory of labelled "
                        + "samples, found '" + fineTune + "'");
            }
            Footprint.Measurement m = Footprint.measure(config, seconds, !noStartCache);
            Footprint.FineTuneMemory f = tune == null ? null
                    : Footprint.fineTune(config, tune[0], Path.of(tune[1]), !noStartCache);
            System.out.println(json ? Json.line(footprintJson(m, f)) : footprintTable(m, f));
            return ExitCode.OK;
        }

        static Map<String, Object> footprintJson(Footprint.Measurement m, Footprint.FineTuneMemory f) {
            List<Footprint.Run> runs = m.runs();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("jvm_flags", Footprint.UNIT_JVM_FLAGS);
            out.put("libraries_unpacked_once", m.startCache());
            out.put("daemon_class_archive", m.archive());
            List<Map<String, Object>> parts = new ArrayList<>();
            for (Footprint.Run r : runs) {
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("what", r.what());
                p.put("ready_ms", r.readyMillis());
                p.put("first_result_ms", r.firstResultMillis());
                p.put("peak_rss_kib", r.peakRssKib());
                p.put("rss_end_kib", r.rss().isEmpty() ? 0 : r.rss().get(r.rss().size() - 1).rssKib());
                p.put("second_half_growth_percent", Json.finiteOrNull(r.secondHalfGrowthPercent()));
                p.put("rss_kib", r.rss().stream().map(Footprint.Sample::rssKib).toList());
                parts.add(p);
            }
            out.put("runs", parts);
            if (runs.size() == 2 && runs.get(1).peakRssKib() > 0) {
                out.put("ratio_peak_rss", (double) runs.get(0).peakRssKib() / runs.get(1).peakRssKib());
            }
            if (f != null) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("model", f.model());
                t.put("data", f.data().toString());
                t.put("outcome", f.outcome());
                t.put("millis", f.millis());
                t.put("rss_before_kib", f.rssBeforeKib());
                t.put("peak_rss_kib", f.peakKib());
                t.put("added_kib", f.addedKib());
                out.put("finetune", t);
            }
            return out;
        }

        static String footprintTable(Footprint.Measurement m, Footprint.FineTuneMemory f) {
            List<Footprint.Run> runs = m.runs();
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "JVM flags: %s%n",
                    String.join(" ", Footprint.UNIT_JVM_FLAGS)));
            out.append(String.format(Locale.ROOT, "ONNX Runtime's libraries: %s; plateau run's AppCDS archive: %s%n",
                    m.startCache() ? "unpacked once (both)" : "unpacked by each start", m.archive()));
            out.append(String.format(Locale.ROOT, "%-24s %9s %14s %10s %10s %14s%n", "process", "ready ms",
                    "1st result ms", "peak MiB", "end MiB", "growth 2nd half"));
            for (Footprint.Run r : runs) {
                long end = r.rss().isEmpty() ? 0 : r.rss().get(r.rss().size() - 1).rssKib();
                out.append(String.format(Locale.ROOT, "%-24s %9d %14d %10.1f %10.1f %13.1f%%%n", r.what(),
                        r.readyMillis(), r.firstResultMillis(), r.peakRssKib() / 1024.0, end / 1024.0,
                        r.secondHalfGrowthPercent()));
            }
            if (runs.size() == 2 && runs.get(1).peakRssKib() > 0) {
                out.append(String.format(Locale.ROOT, "peak resident memory, plateau over bare: %.2fx%n",
                        (double) runs.get(0).peakRssKib() / runs.get(1).peakRssKib()));
            }
            if (f != null) {
                out.append(String.format(Locale.ROOT, "fine-tune of %s on %s (%s, %.1f s): resident %.1f MiB before, "
                        + "peak %.1f MiB during: %+.1f MiB%n", f.model(), f.data(), f.outcome(), f.millis() / 1e3,
                        f.rssBeforeKib() / 1024.0, f.peakKib() / 1024.0, f.addedKib() / 1024.0));
            }
            return out.toString().stripTrailing();
        }
    }
}
