package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.inference.Evaluation;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.ModelStore;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fine-tuning issue's acceptance figures on the real fashion-cnn bundle: a darker, noisier
 * camera, 500 labelled shifted images, and the guards that must refuse bad fine-tunes.
 */
class FineTuneAcceptanceTest {
    private static final Path FASHION = Path.of("models/fashion-cnn");
    private static final Path FIXTURE = Path.of("src/test/resources/fixtures/fashion-test");

    @TempDir
    static Path data;

    /** Per class, the first 50 fixture images are for tuning, the other 50 for testing. */
    @BeforeAll
    static void shiftedCamera() throws IOException {
        Random noise = new Random(0);
        for (String label : ModelBundle.open(FASHION).manifest().output().labels()) {
            List<Path> files;
            try (Stream<Path> s = Files.list(FIXTURE.resolve(label))) {
                files = s.sorted().toList();
            }
            for (int i = 0; i < files.size(); i++) {
                String part = i < 50 ? "tune" : "test";
                BufferedImage original = ImageIO.read(files.get(i).toFile());
                write(original, data.resolve(part + "-orig/" + label + "/" + files.get(i).getFileName()));
                write(darkNoisy(original, noise), data.resolve(part + "-shift/" + label + "/" + files.get(i).getFileName()));
            }
        }
    }

    /** A camera with a quarter of the exposure and sensor noise of sigma 35 grey levels. */
    private static BufferedImage darkNoisy(BufferedImage in, Random noise) {
        BufferedImage out = new BufferedImage(in.getWidth(), in.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < in.getHeight(); y++) {
            for (int x = 0; x < in.getWidth(); x++) {
                double v = in.getRaster().getSample(x, y, 0) * 0.25 + noise.nextGaussian() * 35;
                out.getRaster().setSample(x, y, 0, (int) Math.max(0, Math.min(255, Math.round(v))));
            }
        }
        return out;
    }

    private static void write(BufferedImage image, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        ImageIO.write(image, "png", file.toFile());
    }

    private static double accuracy(Path bundle, Path dir) {
        ModelBundle b = ModelBundle.open(bundle);
        try (InferenceEngine engine = InferenceEngine.load(b, OrtRuntime.environment(1), 0)) {
            return Evaluation.run(engine, SampleDirectory.scan(dir, b.manifest().output().labels())).accuracy();
        }
    }

    private static FineTune.Outcome tune(Path store, Path dataDir, Map<String, String> overrides) {
        return new FineTune(ModelBundle.open(FASHION), new ModelStore(store), TuningConfig.fromOverrides(overrides),
                Clock.systemUTC()).run(dataDir, null);
    }

    @Test
    void fineTune_darkerNoisierCamera_recoversShiftedAccuracyWithoutForgetting(@TempDir Path store) throws IOException {
        double shiftedBefore = accuracy(FASHION, data.resolve("test-shift"));
        double originalBefore = accuracy(FASHION, data.resolve("test-orig"));

        FineTune.Outcome outcome = tune(store, data.resolve("tune-shift"), Map.of());

        assertTrue(outcome.accepted(), outcome.reason());
        double shiftedAfter = accuracy(outcome.bundle(), data.resolve("test-shift"));
        double originalAfter = accuracy(outcome.bundle(), data.resolve("test-orig"));
        // Measured 2026-11-24: shifted 0.280 -> 0.664, original 0.916 -> 0.888.
        assertTrue(shiftedAfter - shiftedBefore >= 0.30,
                "shifted accuracy " + shiftedBefore + " -> " + shiftedAfter + ": issue wants >= +30 points");
        assertTrue(originalBefore - originalAfter <= 0.05,
                "original accuracy " + originalBefore + " -> " + originalAfter + ": issue allows <= 5 points lost");
        assertTrue(Files.isRegularFile(outcome.bundle().resolve("report.json")));
        assertEquals("auto", outcome.report().search().mode());
        assertTrue(outcome.report().search().trials().size() > 1);
        assertTrue(outcome.report().gate().better().lowerBound() >= 0.005);
        assertTrue(outcome.report().gate().kept().upperBound() < 0.04);
        assertTrue(Files.readString(outcome.bundle().resolve("chart.svg")).contains("kept: epoch"));
        assertTrue(Files.readString(outcome.bundle().resolve("manifest.yaml")).contains("fine_tuned_from: fashion-cnn v1"));
        // The version's drift reference is of its validation inputs: the shifted camera's, less confident than the shipped one.
        DriftReference written = DriftReference.read(outcome.bundle().resolve(DriftReference.FILE));
        assertEquals("validation", written.basis());
        assertTrue(written.meanConfidence() < DriftReference.read(FASHION.resolve(DriftReference.FILE)).meanConfidence(),
                "reference confidence " + written.meanConfidence());
    }

    /** Five cameras the fixture never saw, each with its own images, shift and label seed. */
    private static BufferedImage shifted(BufferedImage in, int kind, Random noise) {
        BufferedImage out = new BufferedImage(in.getWidth(), in.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < in.getHeight(); y++) {
            for (int x = 0; x < in.getWidth(); x++) {
                double v = in.getRaster().getSample(x, y, 0);
                v = switch (kind) {
                    case 0 -> v * 0.25 + noise.nextGaussian() * 35;           // dark and noisy
                    case 1 -> 190 - v * 0.45 + noise.nextGaussian() * 5;     // inverted, low contrast
                    case 2 -> 0.55 * v + 0.45 * 200 + noise.nextGaussian() * 3; // haze
                    case 3 -> 0.3 * v + 150 + noise.nextGaussian() * 8;       // fog
                    default -> 255 - v;                                       // inverted
                };
                out.getRaster().setSample(x, y, 0, (int) Math.max(0, Math.min(255, Math.round(v))));
            }
        }
        return out;
    }

    @Test
    void fineTune_randomLabels_fiveDataSets_allRejectedAsNotSignificant(@TempDir Path tmp) throws IOException {
        List<String> labels = ModelBundle.open(FASHION).manifest().output().labels();
        List<SampleDirectory.Sample> all = SampleDirectory.scan(FIXTURE, labels).samples();
        for (int set = 0; set < 5; set++) {
            Random random = new Random(100 + set);
            List<SampleDirectory.Sample> images = new java.util.ArrayList<>(all);
            java.util.Collections.shuffle(images, random);
            Path dir = tmp.resolve("random-" + set);
            for (SampleDirectory.Sample s : images.subList(0, 500)) {
                Path target = dir.resolve(labels.get(random.nextInt(labels.size()))).resolve(s.file().getFileName());
                write(shifted(ImageIO.read(s.file().toFile()), set, random), target);
            }
            Path store = tmp.resolve("store-" + set);
            FineTune.Outcome outcome = tune(store, dir, Map.of());
            assertFalse(outcome.accepted(), "random labels, set " + set + ": " + outcome.reason());
            assertTrue(outcome.reason().contains("is not significant"), "set " + set + ": " + outcome.reason());
            assertEquals(List.of(), new ModelStore(store).versions("fashion-cnn"));
        }
    }

    @Test
    void fineTune_noRehearsalDestructiveRate_rejectedByTheForgettingCheckWithFigures(@TempDir Path store) {
        FineTune.Outcome outcome = tune(store, data.resolve("tune-shift"),
                Map.of("rehearsal_ratio", "0", "drift_decay", "0", "lr", "0.01", "search", "off"));
        assertFalse(outcome.accepted());
        assertEquals("forgot", outcome.report().verdict(), outcome.reason());
        assertTrue(outcome.reason().matches("forgot (the original task|class '[a-z-]+'): .*anchor accuracy .*"
                + "\\d\\.\\d{3} -> \\d\\.\\d{3} .*"), outcome.reason());
        assertTrue(outcome.report().gate().kept().lost() > outcome.report().gate().kept().gained());
    }

    @Test
    void fineTune_setValues_areUsedExactlyAndNotSearched(@TempDir Path store) {
        FineTune.Outcome outcome = tune(store, data.resolve("tune-shift"),
                Map.of("lr", "0.002", "drift_decay", "0.05", "rehearsal_ratio", "1.5", "max_epochs", "4"));
        for (TuneReport.Trial t : outcome.report().search().trials()) {
            assertEquals("0.002", t.settings().get("lr"));
            assertEquals("0.05", t.settings().get("drift_decay"));
            assertEquals("1.5", t.settings().get("rehearsal_ratio"));
        }
        assertEquals("0.002", outcome.report().hyperparameters().get("lr"));
        assertTrue(outcome.report().epochs().size() <= 4);
    }

    /** {@code plateau ARGS} as a real process: exit code, stdout and stderr apart. */
    private static String[] plateau(Path tmp, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin",
                "java").toString(), "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "stdout", ".txt");
        Path err = Files.createTempFile(tmp, "stderr", ".txt");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        int code = p.waitFor();
        return new String[] {Integer.toString(code), Files.readString(out), Files.readString(err)};
    }

    @Test
    void tuneCommand_freshStore_signsItsVersionSoVerifyPasses(@TempDir Path tmp) throws Exception {
        Path state = tmp.resolve("state");
        String[] tuned = plateau(tmp, "tune", "-m", FASHION.toString(), "-d", data.resolve("tune-shift").toString(),
                "--store", state.toString());
        assertEquals("0", tuned[0], tuned[1] + tuned[2]);
        // The JSON report alone on stdout, progress on stderr.
        List<String> stdout = tuned[1].lines().toList();
        assertEquals(1, stdout.size(), tuned[1]);
        assertEquals("accepted", new com.fasterxml.jackson.databind.ObjectMapper().readTree(stdout.get(0))
                .get("decision").asText());
        assertTrue(tuned[2].contains("trial 1 (rung 1"), tuned[2]);
        assertTrue(Files.isRegularFile(ModelStore.deviceKeyFile(state)));
        String[] verified = plateau(tmp, "models", "verify", "--store", state.toString());
        assertEquals("0", verified[0], verified[1] + verified[2]);
    }

    @Test
    void fineTune_learningRate100_abortsAsDivergedAndNothingWritten(@TempDir Path store) {
        FineTune.Outcome outcome = tune(store, data.resolve("tune-shift"), Map.of("lr", "100"));
        assertFalse(outcome.accepted());
        assertTrue(outcome.reason().startsWith("training diverged-"), outcome.reason());
        assertTrue(outcome.reason().endsWith("nothing changes"), outcome.reason());
        assertEquals(List.of(), new ModelStore(store).versions("fashion-cnn"));
    }

    @Test
    void fineTune_oneClassWithoutRehearsal_refusedBeforeTraining(@TempDir Path store, @TempDir Path one) throws IOException {
        Path bags = Files.createDirectories(one.resolve("bag"));
        try (Stream<Path> s = Files.list(data.resolve("tune-shift/bag"))) {
            for (Path f : s.toList()) {
                Files.copy(f, bags.resolve(f.getFileName()));
            }
        }
        TuningDataException e = assertThrows(TuningDataException.class,
                () -> tune(store, one, Map.of("rehearsal_ratio", "0")));
        assertTrue(e.getMessage().contains("single class [bag] and rehearsal is off"), e.getMessage());
        assertFalse(Files.exists(store.resolve("models")));
    }

    @Test
    void fineTune_unknownLabelDirectory_refusedNamingIt(@TempDir Path store, @TempDir Path bad) throws IOException {
        Files.createDirectories(bad.resolve("hat"));
        TuningDataException e = assertThrows(TuningDataException.class, () -> tune(store, bad, Map.of()));
        assertTrue(e.getMessage().contains("unknown label 'hat'"), e.getMessage());
    }

    @Test
    void fineTune_unreadableFile_refusedBeforeTraining(@TempDir Path store, @TempDir Path bad) throws IOException {
        for (String label : List.of("bag", "coat")) {
            Files.createDirectories(bad.resolve(label));
            try (Stream<Path> s = Files.list(data.resolve("tune-shift/" + label))) {
                for (Path f : s.toList()) {
                    Files.copy(f, bad.resolve(label).resolve(f.getFileName()));
                }
            }
        }
        Files.writeString(bad.resolve("bag/broken.png"), "not a png");
        TuningDataException e = assertThrows(TuningDataException.class, () -> tune(store, bad, Map.of()));
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
        assertFalse(Files.exists(store.resolve("models/fashion-cnn/versions")));
    }

    @Test
    void fineTune_memoryEstimateOverBudget_refusedWithTheFigures(@TempDir Path store) {
        BudgetExceededException e = assertThrows(BudgetExceededException.class,
                () -> tune(store, data.resolve("tune-shift"), Map.of("max_memory_mb", "1")));
        assertTrue(e.getMessage().startsWith("max_memory_mb: fine-tuning needs an estimated"), e.getMessage());
    }
}
