package dev.plateau.tuning;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.plateau.inference.EmbeddingExtractor;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.HeadGraph;
import dev.plateau.model.HeadLayer;
import dev.plateau.model.ModelBundle;
import dev.plateau.model.NoveltyGraph;
import dev.plateau.store.ModelStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * One guarded fine-tune of a bundle's head: check the data, embed it once with the frozen
 * backbone, train the head in Java under the convergence guards, pass the acceptance gate,
 * write the candidate into a copy of the graph, check that file against the Java head, and
 * publish it as the next version in the store. Any refusal leaves the store as it was.
 */
public final class FineTune {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final double FILE_TOLERANCE = 1e-4;

    private final ModelBundle bundle;
    private final ModelStore store;
    private final TuningConfig config;
    private final Clock clock;

    public FineTune(ModelBundle bundle, ModelStore store, TuningConfig config, Clock clock) {
        this.bundle = bundle;
        this.store = store;
        this.config = config;
        this.clock = clock;
    }

    /** What a fine-tune decided, with the report written beside the candidate (or under reports/). */
    public record Outcome(boolean accepted, String reason, Map<String, Object> report, Path bundle) {}

    /**
     * @param validationDir a separate validation directory, or null for a stratified split of {@code dataDir}
     * @throws TuningDataException when the data cannot be trained on (nothing is started)
     * @throws BudgetExceededException when the memory estimate is over {@code max_memory_mb}
     */
    public Outcome run(Path dataDir, Path validationDir) {
        long started = clock.millis();
        List<String> labels = bundle.manifest().output().labels();
        HeadGraph head = HeadGraph.read(bundle);
        LabelledSplit split = LabelledSplit.of(scan(dataDir, labels),
                validationDir == null ? null : scan(validationDir, labels), config);
        List<SampleDirectory.Sample> anchorFiles = bundle.anchorDir()
                .map(dir -> scan(dir, labels).samples()).orElse(List.of());
        // Anchors the head trains on cannot also measure forgetting honestly: with rehearsal on,
        // a seeded, stratified half rehearses and the other half guards.
        List<List<SampleDirectory.Sample>> anchorHalves = config.rehearsalRatio() > 0
                ? halves(anchorFiles, config.seed()) : List.of(List.of(), anchorFiles);
        if (config.rehearsalRatio() > 0 && anchorHalves.get(0).isEmpty()) {
            throw new TuningDataException("rehearsal_ratio=" + config.rehearsalRatio() + " but bundle "
                    + bundle.dir() + " has no anchor/ set; set rehearsal_ratio=0 or ship anchors");
        }
        HeadNetwork network = new HeadNetwork(head.layers());
        // Checked from sample counts alone, before the backbone spends time on embeddings.
        MemoryBudget.estimate(network, config, split.train().size(), split.validation().size(),
                anchorFiles.size()).check(config);

        Samples train;
        Samples validation;
        Samples rehearsal;
        Samples anchors;
        try (EmbeddingExtractor extractor = EmbeddingExtractor.open(bundle.dir(), bundle.manifest(),
                head.withEmbeddingOutput(), head.embeddingTensor(), head.embeddingWidth(), OrtRuntime.environment(1))) {
            train = Embeddings.of(extractor, split.train(), "training data");
            validation = Embeddings.of(extractor, split.validation(), "validation data");
            rehearsal = anchorHalves.get(0).isEmpty() ? null
                    : Embeddings.of(extractor, anchorHalves.get(0), "anchor set (rehearsal half)");
            anchors = anchorHalves.get(1).isEmpty() ? null
                    : Embeddings.of(extractor, anchorHalves.get(1), "anchor set (forgetting-guard half)");
        }

        int positive = bundle.manifest().output().positiveIndex();
        boolean novelty = useNovelty(split, labels);
        // A site's own normal is not other sites' normal: with a novelty score the forgetting
        // guard checks what must never be lost, detecting the positive class of the original task.
        Samples guard = anchors == null ? null : novelty ? onlyClass(anchors, positive) : anchors;
        HeadMetrics.Evaluation valBefore = HeadMetrics.evaluate(network, validation);
        HeadMetrics.Evaluation anchorBefore = guard == null ? null : HeadMetrics.evaluate(network, guard);
        TrainingResult result = trainOnLowPriorityThread(network, train, validation, rehearsal);

        Map<String, Object> report = report(split, anchorHalves, result, labels);
        String reason;
        GateResult gate = null;
        NoveltyGraph.Score score = null;
        Function<float[], float[]> model = null;
        if (result.aborted() || result.bestWeights().isEmpty()) {
            reason = "training " + result.reason().name().toLowerCase().replace('_', '-') + ": " + result.message()
                    + "; nothing changes";
        } else {
            HeadNetwork candidate = new HeadNetwork(result.bestWeights().get());
            model = candidate::logits;
            if (novelty) {
                score = NoveltyFit.fit(shuffledRows(train, config.seed()));
                NoveltyGraph.Score fitted = score;
                model = embedding -> fitted.apply(candidate.logits(embedding), embedding, positive);
                report.put("novelty", Map.of("tau", score.tau(), "beta", score.beta(),
                        "fit_share", NoveltyFit.FIT_SHARE, "quantile", NoveltyFit.QUANTILE,
                        "shrinkage", NoveltyFit.SHRINKAGE, "guard", "anchor accuracy on '" + labels.get(positive) + "'"));
            }
            gate = GateResult.decide(valBefore, evaluate(model, validation), anchorBefore,
                    guard == null ? null : evaluate(model, guard), config);
            reason = gate.reason();
        }
        report.put("gate", gate == null ? gateFigures(valBefore, anchorBefore) : gateFigures(gate));
        report.put("wall_ms", clock.millis() - started);
        report.put("estimated_peak_bytes", result.estimatedBytes());
        report.put("jvm_heap_used_bytes", Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
        String chart = Chart.svg(result.epochs(), result.bestEpoch(), result.reason().name().toLowerCase());
        if (gate == null || !gate.accepted()) {
            report.put("decision", "rejected");
            report.put("reason", reason);
            writeRejected(report, chart);
            return new Outcome(false, reason, report, null);
        }
        int version = Math.max(bundle.manifest().version(), store.latest(bundle.manifest().name()).orElse(0)) + 1;
        report.put("decision", "accepted");
        report.put("reason", reason);
        report.put("version", version);
        List<HeadLayer> weights = result.bestWeights().get();
        NoveltyGraph.Score fittedScore = score;
        Function<float[], float[]> accepted = model;
        Path published = store.write(bundle.manifest().name(), version, dir -> {
            byte[] file = head.withHead(weights);
            if (fittedScore != null) {
                file = NoveltyGraph.append(file, head.embeddingTensor(), head.outputTensor(), positive, fittedScore);
            }
            Files.write(dir.resolve(ModelBundle.MODEL_FILE), file);
            writeManifest(dir, version, report);
            copyAnchors(dir);
            report.put("file_check_max_abs_diff", checkFile(dir, accepted, split.validation(), validation));
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("report.json").toFile(), report);
            Files.writeString(dir.resolve("chart.svg"), chart);
        });
        report.put("bundle", published.toString());
        Logger.info("fine-tune accepted: {} v{} -> v{}: {}", bundle.manifest().name(), bundle.manifest().version(),
                version, reason);
        return new Outcome(true, reason, report, published);
    }

    private boolean useNovelty(LabelledSplit split, List<String> labels) {
        boolean twoClass = labels.size() == 2 && bundle.manifest().output().positive() != null;
        int positive = bundle.manifest().output().positiveIndex();
        boolean negativeOnly = twoClass && split.trainCounts()[positive] == 0 && split.validationCounts()[positive] == 0;
        return switch (config.novelty()) {
            case OFF -> false;
            case AUTO -> negativeOnly;
            case ON -> {
                if (!negativeOnly) {
                    throw new TuningDataException("novelty=on needs a two-class model with output.positive and data "
                            + "of its negative class only; the data has " + java.util.Arrays.toString(split.trainCounts())
                            + " samples per class " + labels);
                }
                yield true;
            }
        };
    }

    /** Mean cross-entropy, accuracy and non-finite outputs of any embedding-to-logits function. */
    private static HeadMetrics.Evaluation evaluate(Function<float[], float[]> model, Samples samples) {
        double loss = 0;
        int right = 0;
        int nonFinite = 0;
        for (int i = 0; i < samples.size(); i++) {
            float[] logits = model.apply(samples.row(i));
            boolean finite = true;
            int top = 0;
            for (int c = 0; c < logits.length; c++) {
                finite &= Float.isFinite(logits[c]);
                if (logits[c] > logits[top]) {
                    top = c;
                }
            }
            if (!finite) {
                nonFinite++;
                continue;
            }
            float[] p = softmax(logits);
            loss += -Math.log(Math.max(p[samples.label(i)], 1e-12));
            right += top == samples.label(i) ? 1 : 0;
        }
        int n = samples.size();
        return new HeadMetrics.Evaluation(n, loss / n, (double) right / n, nonFinite);
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
        java.util.Arrays.fill(labels, label);
        return Samples.classification(rows.toArray(float[][]::new), labels);
    }

    private static float[][] shuffledRows(Samples samples, long seed) {
        List<float[]> rows = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            rows.add(samples.row(i));
        }
        java.util.Collections.shuffle(rows, new java.util.Random(seed));
        return rows.toArray(float[][]::new);
    }

    private static SampleDirectory scan(Path dir, List<String> labels) {
        try {
            return SampleDirectory.scan(dir, labels);
        } catch (IllegalArgumentException e) {
            throw new TuningDataException(e.getMessage(), e);
        }
    }

    private TrainingResult trainOnLowPriorityThread(HeadNetwork network, Samples train, Samples validation,
                                                    Samples anchors) {
        AtomicReference<TrainingResult> result = new AtomicReference<>();
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        // Inference threads run at normal priority; the trainer yields to them on a busy box.
        Thread worker = new Thread(() -> {
            try {
                Trainer trainer = new Trainer(config, clock, e -> Logger.debug("fine-tune epoch {}: train {} val {} acc {}",
                        e.epoch(), e.trainLoss(), e.valLoss(), e.valAccuracy()));
                result.set(anchors == null ? trainer.run(network, train, validation)
                        : trainer.run(network, train, validation, anchors));
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "plateau-tune");
        worker.setPriority(Thread.MIN_PRIORITY);
        worker.start();
        try {
            worker.join();
        } catch (InterruptedException e) {
            worker.interrupt();
            try {
                worker.join();
            } catch (InterruptedException again) {
                Thread.currentThread().interrupt();
            }
            Thread.currentThread().interrupt();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        return result.get();
    }

    /**
     * Runs the written file in ONNX Runtime on the validation inputs and compares its class
     * probabilities with the Java head's on the same embeddings: the file must be the model
     * that passed the gate.
     */
    private double checkFile(Path dir, Function<float[], float[]> java, List<SampleDirectory.Sample> files,
                             Samples embedded) throws IOException {
        double worst = 0;
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(dir), OrtRuntime.environment(1), 0)) {
            for (int i = 0; i < files.size(); i++) {
                Prediction p;
                try {
                    p = engine.infer(files.get(i).file());
                } catch (InputRejectedException e) {
                    throw new IOException("the written model rejects " + files.get(i).file() + ": " + e.getMessage(), e);
                }
                float[] expected = softmax(java.apply(embedded.row(i)));
                for (int c = 0; c < expected.length; c++) {
                    worst = Math.max(worst, Math.abs(expected[c] - p.score(c)));
                }
            }
        }
        if (!(worst <= FILE_TOLERANCE)) {
            throw new IOException("the written model disagrees with the trained head: max abs difference "
                    + worst + " > " + FILE_TOLERANCE);
        }
        return worst;
    }

    private static float[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] e = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    private void writeManifest(Path dir, int version, Map<String, Object> report) throws IOException {
        ObjectNode manifest = (ObjectNode) YAML.readTree(bundle.dir().resolve(ModelBundle.MANIFEST_FILE).toFile());
        manifest.put("version", version);
        // The parent's baseline was measured on its own weights; this version's is measured anew.
        manifest.remove("baseline");
        ObjectNode provenance = manifest.putObject("provenance");
        provenance.put("fine_tuned_from", bundle.manifest().name() + " v" + bundle.manifest().version());
        provenance.put("parent_sha256", String.valueOf(report.get("base_model_sha256")));
        provenance.put("fine_tuned_at", clock.instant().toString());
        provenance.put("seed", config.seed());
        provenance.set("hyperparameters", JSON.valueToTree(config.asMap()));
        provenance.set("data", JSON.valueToTree(report.get("data")));
        YAML.writeValue(dir.resolve(ModelBundle.MANIFEST_FILE).toFile(), manifest);
    }

    private void copyAnchors(Path dir) throws IOException {
        if (bundle.anchorDir().isEmpty()) {
            return;
        }
        Path from = bundle.anchorDir().get();
        Path to = dir.resolve(ModelBundle.ANCHOR_DIR);
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private void writeRejected(Map<String, Object> report, String chart) {
        Path dir = store.versionsDir(bundle.manifest().name()).resolveSibling("reports")
                .resolve(clock.instant().toString().replace(':', '-') + "-rejected");
        try {
            Files.createDirectories(dir);
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("report.json").toFile(), report);
            Files.writeString(dir.resolve("chart.svg"), chart);
            report.put("report", dir.resolve("report.json").toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the fine-tune report to " + dir, e);
        }
    }

    private static List<List<SampleDirectory.Sample>> halves(List<SampleDirectory.Sample> files, long seed) {
        List<SampleDirectory.Sample> shuffled = new ArrayList<>(files);
        java.util.Collections.shuffle(shuffled, new java.util.Random(seed));
        List<SampleDirectory.Sample> first = new ArrayList<>();
        List<SampleDirectory.Sample> second = new ArrayList<>();
        Map<Integer, Integer> seen = new java.util.HashMap<>();
        for (SampleDirectory.Sample s : shuffled) {
            (seen.merge(s.label(), 1, Integer::sum) % 2 == 1 ? first : second).add(s);
        }
        return List.of(first, second);
    }

    private Map<String, Object> report(LabelledSplit split, List<List<SampleDirectory.Sample>> anchors,
                                       TrainingResult result, List<String> labels) {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("model", bundle.manifest().name());
        report.put("base_version", bundle.manifest().version());
        report.put("base_model_sha256", sha256(bundle.modelFile()));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("train_per_class", perClass(split.trainCounts(), labels));
        data.put("validation_per_class", perClass(split.validationCounts(), labels));
        data.put("anchor_rehearsal_samples", anchors.get(0).size());
        data.put("anchor_guard_samples", anchors.get(1).size());
        report.put("data", data);
        report.put("hyperparameters", config.asMap());
        report.put("seed", config.seed());
        List<Map<String, Object>> epochs = new ArrayList<>();
        for (EpochRecord e : result.epochs()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("epoch", e.epoch());
            row.put("train_loss", finite(e.trainLoss()));
            row.put("val_loss", finite(e.valLoss()));
            row.put("val_accuracy", finite(e.valAccuracy()));
            row.put("grad_norm", finite(e.gradNorm()));
            row.put("lr", e.learningRate());
            row.put("steps", e.steps());
            epochs.add(row);
        }
        report.put("epochs", epochs);
        report.put("stop_reason", result.reason().name().toLowerCase().replace('_', '-'));
        report.put("stop_message", result.message());
        report.put("best_epoch", result.bestEpoch());
        report.put("steps", result.steps());
        return report;
    }

    private static Map<String, Integer> perClass(int[] counts, List<String> labels) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] > 0) {
                out.put(labels.get(c), counts[c]);
            }
        }
        return out;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static Map<String, Object> gateFigures(HeadMetrics.Evaluation valBefore, HeadMetrics.Evaluation anchorBefore) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("validation_accuracy_before", valBefore.accuracy());
        g.put("validation_loss_before", valBefore.meanLoss());
        if (anchorBefore != null) {
            g.put("anchor_accuracy_before", anchorBefore.accuracy());
        }
        return g;
    }

    private static Map<String, Object> gateFigures(GateResult gate) {
        Map<String, Object> g = gateFigures(gate.validationBefore(), gate.anchorBefore());
        g.put("validation_accuracy_after", gate.validationAfter().accuracy());
        g.put("validation_loss_after", gate.validationAfter().meanLoss());
        if (gate.anchorAfter() != null) {
            g.put("anchor_accuracy_after", gate.anchorAfter().accuracy());
        }
        g.put("non_finite_outputs", gate.validationAfter().nonFiniteOutputs());
        g.put("accepted", gate.accepted());
        return g;
    }

    static String sha256(Path file) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
