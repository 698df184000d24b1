package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.DeviceConfig;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.ModelBundle;
import dev.plateau.sensor.CameraShift;
import dev.plateau.tuning.DriftReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The drift test of the shipped camera model on data it was not tuned on: the reference is the
 * bundle's {@code drift-reference.json} (2,000 validation images held out of training), the
 * clean stream the 1,000 test-split images of the fixture, the shifted camera those images
 * darker and noisier. Prints the measured figures the README quotes.
 */
class DriftStatisticsTest {
    private static final Path BUNDLE = Path.of("models/fashion-cnn");
    private static final Path CLEAN = Path.of(System.getProperty("drift.clean", "src/test/resources/fixtures/fashion-test"));
    /** The demo's shifted camera: 60 % of the light, noise of 8 % of full scale. */
    static final CameraShift SHIFT = new CameraShift(0.6, 0.08);
    /** A rate high enough to measure in a few thousand checks. */
    private static final double RATE = 0.01;
    private static final int CHECKS = 4000;
    private static DriftReference reference;
    private static List<DriftReference.Row> clean;
    private static List<DriftReference.Row> shifted;

    @BeforeAll
    static void rows() throws Exception {
        ModelBundle bundle = ModelBundle.open(BUNDLE);
        reference = DriftReference.read(BUNDLE.resolve(DriftReference.FILE));
        clean = new ArrayList<>();
        shifted = new ArrayList<>();
        Random noise = new Random(1);
        try (InferenceEngine engine = InferenceEngine.loadWithEmbedding(bundle, OrtRuntime.environment(1), 0)) {
            float[] e = new float[engine.embeddingWidth().orElseThrow()];
            for (SampleDirectory.Sample s : SampleDirectory.scan(CLEAN, bundle.manifest().output().labels()).samples()) {
                Prediction p = engine.infer(s.file(), e);
                clean.add(reference.row(e, p.scores()));
                Prediction q = engine.infer("shifted", SHIFT.apply(Files.readAllBytes(s.file()), noise), e);
                shifted.add(reference.row(e, q.scores()));
            }
        }
    }

    private static DriftWindow.Input input(DriftReference.Row row) {
        return new DriftWindow.Input(row, "x.png", Optional.empty(), Instant.EPOCH);
    }

    @Test
    void cleanWindows_heldOutImages_falseAlarmRateWithinTheConfiguredOne() {
        // Non-overlapping windows (check_every = window) of clean inputs drawn from the test split:
        // the checks are independent, so the count of false alarms is binomial. Windows of 50: a
        // window drawn from a pool of 1,000 images also carries the pool's own sampling error
        // (variance 1 + W/1000 instead of 1), which at 50 moves the rate by a few per cent of
        // itself and at 200 by half of it.
        DeviceConfig.Drift config = new DeviceConfig.Drift(Integer.getInteger("drift.window", 50),
                Integer.getInteger("drift.window", 50), RATE, 1);
        Random draw = new Random(5);
        int alarms = 0;
        int[] perStatistic = new int[4];
        for (int c = 0; c < CHECKS; c++) {
            DriftWindow w = new DriftWindow(config, reference, false);
            DriftWindow.Change change = DriftWindow.Change.NONE;
            for (int i = 0; i < config.window(); i++) {
                change = w.add(input(clean.get(draw.nextInt(clean.size()))));
            }
            if (change == DriftWindow.Change.DETECTED) {
                alarms++;
                for (String s : w.lastCheck().orElseThrow().exceeded()) {
                    perStatistic[DriftReference.STATISTICS.indexOf(s)]++;
                }
            }
        }
        double rate = (double) alarms / CHECKS;
        System.out.printf(Locale.ROOT, "clean mean conf %.4f ent %.4f vs reference %.4f %.4f; sd conf %.4f%n",
                clean.stream().mapToDouble(DriftReference.Row::confidence).average().orElseThrow(),
                clean.stream().mapToDouble(DriftReference.Row::entropy).average().orElseThrow(),
                reference.meanConfidence(), reference.meanEntropy(),
                Math.sqrt(clean.stream().mapToDouble(r -> r.confidence() * r.confidence()).average().orElseThrow()
                        - Math.pow(clean.stream().mapToDouble(DriftReference.Row::confidence).average().orElseThrow(), 2)));
        double se = Math.sqrt(Math.max(rate, RATE) * (1 - Math.max(rate, RATE)) / CHECKS);
        System.out.printf(Locale.ROOT, "drift false alarms: %d of %d clean checks = %.4f +- %.4f (1 s.e.), configured "
                + "%.4f; by statistic %s%n", alarms, CHECKS, rate, se, RATE, java.util.Arrays.toString(perStatistic));
        // Bonferroni is conservative: at or below the configured rate within 3 standard errors.
        assertTrue(rate <= RATE + 3 * se, "false-alarm rate " + rate + " +- " + se + " above the configured " + RATE);
    }

    @Test
    void shiftedCamera_afterCleanInputs_detectedWithinOneWindowAndACheck() {
        DeviceConfig.Drift config = new DeviceConfig.Drift(DeviceConfig.Drift.DEFAULT_WINDOW,
                DeviceConfig.Drift.DEFAULT_CHECK_EVERY, DeviceConfig.Drift.DEFAULT_FALSE_ALARM_RATE, 4);
        Random draw = new Random(9);
        List<Integer> delays = new ArrayList<>();
        for (int run = 0; run < 50; run++) {
            DriftWindow w = new DriftWindow(config, reference, false);
            // A phase that does not fall on a check boundary: 437 clean inputs, then the shift.
            for (int i = 0; i < 437; i++) {
                assertEquals(DriftWindow.Change.NONE, w.add(input(clean.get(draw.nextInt(clean.size())))));
            }
            int n = 0;
            while (w.add(input(shifted.get(draw.nextInt(shifted.size())))) != DriftWindow.Change.DETECTED) {
                n++;
                assertTrue(n <= config.window() + config.checkEvery(), "not detected within a window and a check");
            }
            delays.add(n + 1);
        }
        System.out.printf(Locale.ROOT, "drift detection delay (shifted inputs, window %d, check every %d, rate %.0e): "
                        + "min %d, max %d of 50 runs%n", config.window(), config.checkEvery(), config.falseAlarmRate(),
                delays.stream().mapToInt(Integer::intValue).min().orElseThrow(),
                delays.stream().mapToInt(Integer::intValue).max().orElseThrow());
    }
}
