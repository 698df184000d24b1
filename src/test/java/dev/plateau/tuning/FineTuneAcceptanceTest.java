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
        assertTrue(Files.readString(outcome.bundle().resolve("chart.svg")).contains("kept: epoch"));
        assertTrue(Files.readString(outcome.bundle().resolve("manifest.yaml")).contains("fine_tuned_from: fashion-cnn v1"));
    }

    @Test
    void fineTune_randomLabels_rejectedAndNothingWritten(@TempDir Path store, @TempDir Path shuffled) throws IOException {
        List<String> labels = ModelBundle.open(FASHION).manifest().output().labels();
        Random random = new Random(1);
        for (SampleDirectory.Sample s : SampleDirectory.scan(data.resolve("tune-orig"), labels).samples()) {
            Path target = shuffled.resolve(labels.get(random.nextInt(labels.size()))).resolve(s.file().getFileName());
            Files.createDirectories(target.getParent());
            Files.copy(s.file(), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        FineTune.Outcome outcome = tune(store, shuffled, Map.of());
        assertFalse(outcome.accepted());
        assertTrue(outcome.reason().contains("is not significant"), outcome.reason());
        assertEquals(List.of(), new ModelStore(store).versions("fashion-cnn"));
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
