package dev.plateau.tuning;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.model.NoveltyGraph;
import dev.plateau.store.ModelStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * Writes an accepted candidate as the next version of the store: the head's weights into a copy
 * of the graph (plus the novelty score, if fitted), the manifest with its provenance, the anchor
 * set, the report and the chart; then runs the written file in ONNX Runtime and checks that it
 * is the model the gate passed. Rejected runs leave only a report under {@code reports/}.
 *
 * <p>The manifest is the parent's with a new version and provenance, and without the parent's
 * baseline. Its {@code alarm} section is kept as it is, unless {@link #withAlarm} sets a new one:
 * a calibration that changes what the scores mean sets the operating point it chose for them.
 */
final class CandidateWriter {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    /** Largest class-probability difference between the written file and the Java head. */
    private static final double FILE_TOLERANCE = 1e-4;

    private final ModelBundle bundle;
    private final ModelStore store;
    private final Clock clock;
    private final Optional<Manifest.Alarm> alarm;

    CandidateWriter(ModelBundle bundle, ModelStore store, Clock clock) {
        this(bundle, store, clock, Optional.empty());
    }

    private CandidateWriter(ModelBundle bundle, ModelStore store, Clock clock, Optional<Manifest.Alarm> alarm) {
        this.bundle = bundle;
        this.store = store;
        this.clock = clock;
        this.alarm = alarm;
    }

    /** A writer whose versions carry {@code alarm} as their manifest's {@code alarm} section. */
    CandidateWriter withAlarm(Manifest.Alarm alarm) {
        return new CandidateWriter(bundle, store, clock, Optional.of(alarm));
    }

    /**
     * The candidate: the model file, the novelty score in it (or null), the function the gate
     * judged, and the shift of the head's log-odds to a site's operating point (0 when none).
     */
    record Candidate(byte[] file, NoveltyGraph.Score novelty, Scored.Model model, double headShift) {}

    /**
     * Publishes {@code candidate} as {@code version}; {@code report} is completed with the file
     * check's figure and written beside it.
     */
    Path write(int version, Candidate candidate, TuneReport report, TuningConfig settings,
               List<SampleDirectory.Sample> checkFiles, Samples checkRows, String chart) {
        return store.write(bundle.manifest().name(), version, dir -> {
            Files.write(dir.resolve(ModelBundle.MODEL_FILE), candidate.file());
            writeManifest(dir, version, report, settings);
            copyAnchors(dir);
            double diff = checkFile(dir, candidate.model(), checkFiles, checkRows);
            writeDriftReference(dir, checkFiles);
            Files.writeString(dir.resolve("report.json"), withFileCheck(report, diff).toPrettyJson());
            Files.writeString(dir.resolve("chart.svg"), chart);
        });
    }

    static TuneReport withFileCheck(TuneReport r, double diff) {
        return new TuneReport(r.model(), r.baseVersion(), r.baseModelSha256(), r.seed(), r.data(), r.search(),
                r.hyperparameters(), r.epochs(), r.stopReason(), r.stopMessage(), r.bestEpoch(), r.steps(), r.novelty(), r.site(),
                r.gate(), r.decision(), r.verdict(), r.reason(), r.version(), diff, r.wallMs(), r.estimatedPeakBytes(),
                r.jvmHeapUsedBytes());
    }

    /** Writes a rejected run's report and chart under {@code reports/}; returns the report file. */
    Path writeRejected(TuneReport report, String chart) {
        Path dir = store.versionsDir(bundle.manifest().name()).resolveSibling("reports")
                .resolve(clock.instant().toString().replace(':', '-') + "-rejected");
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("report.json"), report.toPrettyJson());
            Files.writeString(dir.resolve("chart.svg"), chart);
            return dir.resolve("report.json");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the fine-tune report to " + dir, e);
        }
    }

    /**
     * Runs the written bundle as inference does on the validation inputs and compares its class
     * probabilities with those of the model the gate judged on the same rows: the file must be
     * the model that passed the gate.
     */
    private static double checkFile(Path dir, Scored.Model java, List<SampleDirectory.Sample> files,
                                    Samples rows) throws IOException {
        double worst = 0;
        try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(dir), OrtRuntime.environment(1),
                OrtRuntime.BACKGROUND_THREADS)) {
            for (int i = 0; i < files.size(); i++) {
                Prediction p;
                try {
                    p = engine.infer(files.get(i).file());
                } catch (InputRejectedException e) {
                    throw new IOException("the written model rejects " + files.get(i).file() + ": " + e.getMessage(), e);
                }
                float[] expected = softmax(java.logits(rows.row(i), 1));
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

    /**
     * The written version's drift reference on its validation inputs, run through the written
     * file: what this version's inputs look like (for a fine-tune on a changed camera, the new
     * camera's). With fewer than {@link DriftReference#MIN_SAMPLES} validation inputs none is
     * written, and a drift monitor computes one from the anchor set when the version is loaded.
     */
    private void writeDriftReference(Path dir, List<SampleDirectory.Sample> files) throws IOException {
        if (files.size() < DriftReference.MIN_SAMPLES) {
            Logger.warn("{}: {} validation inputs, fewer than the {} a drift reference needs; a drift monitor will use "
                    + "the anchor set's", bundle.manifest().name(), files.size(), DriftReference.MIN_SAMPLES);
            return;
        }
        ModelBundle written = ModelBundle.open(dir);
        if (written.manifest().headSpec().isEmpty()) {
            return;
        }
        try (InferenceEngine engine = InferenceEngine.loadWithEmbedding(written, OrtRuntime.environment(1), 0)) {
            DriftReference.Measured m = DriftReference.measure(engine,
                    files.stream().map(SampleDirectory.Sample::file).toList(), "validation");
            if (!m.rejected().isEmpty()) {
                throw new IOException("the written model rejects " + m.rejected().size() + " validation inputs: "
                        + m.rejected().get(0));
            }
            m.reference().write(dir.resolve(DriftReference.FILE));
        }
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

    private void writeManifest(Path dir, int version, TuneReport report, TuningConfig settings) throws IOException {
        ObjectNode manifest = rewrite((ObjectNode) YAML.readTree(bundle.dir().resolve(ModelBundle.MANIFEST_FILE)
                .toFile()), version, alarm);
        ObjectNode provenance = manifest.putObject("provenance");
        provenance.put("fine_tuned_from", bundle.manifest().name() + " v" + bundle.manifest().version());
        provenance.put("parent_sha256", report.baseModelSha256());
        provenance.put("fine_tuned_at", clock.instant().toString());
        provenance.put("seed", settings.seed());
        provenance.set("hyperparameters", YAML.valueToTree(settings.asMap()));
        provenance.set("data", report.toTree().get("data"));
        Files.writeString(dir.resolve(ModelBundle.MANIFEST_FILE), yaml(manifest));
    }

    /**
     * The parent's manifest tree as version {@code version}'s: without the parent's baseline (it
     * was measured on the parent's weights; this version's is measured anew), with {@code alarm}
     * when given and otherwise the parent's {@code alarm} section as it was.
     */
    static ObjectNode rewrite(ObjectNode parent, int version, Optional<Manifest.Alarm> alarm) {
        ObjectNode manifest = parent.deepCopy();
        manifest.put("version", version);
        manifest.remove("baseline");
        alarm.ifPresent(a -> {
            ObjectNode section = manifest.putObject("alarm");
            section.put("windows", a.windows());
            section.put("threshold", a.threshold());
            a.falseAlarmRateFigure().ifPresent(rate -> section.put("false_alarm_rate", rate));
        });
        return manifest;
    }

    /** The manifest tree as {@code manifest.yaml} text, as {@link #write} writes it. */
    static String yaml(ObjectNode manifest) throws IOException {
        return YAML.writeValueAsString(manifest);
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
}
