package dev.plateau.tuning;

import dev.plateau.testing.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.HeadLayer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Whole training runs on small synthetic problems. */
class TrainerTest {
    private final Samples train = TestHeads.blobs(1, 300, 8, 3);
    private final Samples validation = TestHeads.blobs(2, 90, 8, 3);
    private final List<HeadLayer> start = TestHeads.random(5, 8, 16, 3);

    private static TuningConfig config(String... keyValues) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return TuningConfig.fromOverrides(m);
    }

    private static TrainingResult run(TuningConfig c, HeadNetwork net, Samples train, Samples val) {
        return new Trainer(c, new ManualClock()).run(net, train, val);
    }

    @Test
    void run_separableBlobs_reachesFullValidationAccuracy() {
        HeadNetwork net = new HeadNetwork(start);
        TrainingResult r = run(config("lr", "0.01"), net, train, validation);
        assertEquals(StopReason.Outcome.STOPPED, r.reason().outcome(), r.message());
        assertTrue(HeadMetrics.accuracy(net, validation) >= 0.99, r.epochs().toString());
        assertTrue(r.best().orElseThrow().valAccuracy() >= 0.99);
    }

    @Test
    void run_separableBlobs_lowersValidationLoss() {
        HeadNetwork net = new HeadNetwork(start);
        double before = HeadMetrics.meanLoss(net, validation);
        TrainingResult r = run(config("lr", "0.01"), net, train, validation);
        assertTrue(r.best().orElseThrow().valLoss() < before / 10, before + " -> " + r.best());
    }

    @Test
    void run_stoppedAfterBestEpoch_networkHoldsBestEpochWeights() {
        // Noisy labels and a large step make the validation loss wander, so the best epoch is
        // not the last one; the network must come back to it.
        Samples noisy = flipLabels(train, 0.3, 9);
        HeadNetwork net = new HeadNetwork(TestHeads.random(6, 8, 64, 3));
        TrainingResult r = run(config("lr", "0.05", "batch_size", "8", "schedule", "constant", "gl_alpha", "20"), net,
                noisy, validation);
        assertTrue(r.bestEpoch() < r.epochs().size(), "best " + r.bestEpoch() + " of " + r.epochs().size());
        assertEquals(r.bestWeights().orElseThrow(), net.layers());
        double min = r.epochs().stream().mapToDouble(EpochRecord::valLoss).min().orElseThrow();
        assertEquals(min, r.best().orElseThrow().valLoss(), 0);
        assertEquals(min, HeadMetrics.meanLoss(net, validation), 1e-6); // evaluation chunks differ: float sums
    }

    @Test
    void run_hugeLearningRate_abortsWithDivergenceAndKeepsStartingWeights() {
        HeadNetwork net = new HeadNetwork(start);
        TrainingResult r = run(config("lr", "100"), net, train, validation);
        assertTrue(r.aborted(), r.reason() + ": " + r.message());
        assertTrue(r.reason().name().startsWith("DIVERGED_"), r.reason().name());
        assertTrue(r.bestWeights().isEmpty());
        assertEquals(start, net.layers());
    }

    @Test
    void run_hugeLearningRateWithSgd_abortsWithDivergence() {
        TrainingResult r = run(config("lr", "100", "optimizer", "sgd", "clip_norm", "0"), new HeadNetwork(start), train,
                validation);
        assertTrue(r.aborted(), r.reason() + ": " + r.message());
    }

    @Test
    void run_overMemoryBudget_refusesToStart() {
        Samples big = Samples.classification(new float[2000 * 200], 200, new int[2000]);
        HeadNetwork net = new HeadNetwork(TestHeads.random(1, 200, 3));
        BudgetExceededException e = assertThrows(BudgetExceededException.class,
                () -> run(config("max_memory_mb", "1"), net, big, big));
        assertTrue(e.estimateBytes() > e.limitBytes());
        assertTrue(e.getMessage().startsWith("max_memory_mb: fine-tuning needs an estimated 3.2 MiB"), e.getMessage());
        assertTrue(e.getMessage().endsWith("over the limit of 1 MiB"), e.getMessage());
    }

    @Test
    void run_interruptedBetweenSteps_stopsAndKeepsNothing() {
        HeadNetwork net = new HeadNetwork(start);
        Trainer trainer = new Trainer(config(), new ManualClock(), epoch -> Thread.currentThread().interrupt());
        try {
            TrainingResult r = trainer.run(net, train, validation);
            assertEquals(StopReason.INTERRUPTED, r.reason());
            assertEquals(1, r.epochs().size());
            assertTrue(r.bestWeights().isEmpty());
            assertEquals(start, net.layers());
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag stays set");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void run_clockPastMaxSeconds_stopsOnTimeWithPartialEpoch() {
        // Every clock read advances one second; a 5 s budget ends the run inside epoch 1.
        Trainer trainer = new Trainer(config("max_seconds", "5", "batch_size", "10"),
                new ManualClock(Duration.ofSeconds(1)));
        TrainingResult r = trainer.run(new HeadNetwork(start), train, validation);
        assertEquals(StopReason.BUDGET_TIME, r.reason());
        assertEquals(1, r.epochs().size());
        assertTrue(r.epochs().get(0).partial());
        assertTrue(r.steps() > 0 && r.steps() < 30, "steps " + r.steps());
        assertTrue(r.bestWeights().isPresent());
    }

    @Test
    void run_maxSteps_stopsMidEpochAfterExactlyThatMany() {
        // 300 samples in batches of 100: 3 steps per epoch; 5 steps end half way through epoch 2.
        TrainingResult r = run(config("max_steps", "5", "batch_size", "100"), new HeadNetwork(start), train,
                validation);
        assertEquals(StopReason.BUDGET_STEPS, r.reason());
        assertEquals(5, r.steps());
        assertEquals(2, r.epochs().size());
        assertTrue(r.epochs().get(1).partial());
        assertEquals(5, r.epochs().get(1).steps());
    }

    @Test
    void run_maxEpochs_recordsEveryEpochAndStopsOnBudget() {
        List<EpochRecord> seen = new ArrayList<>();
        Trainer trainer = new Trainer(config("max_epochs", "3", "lr", "1e-4"), new ManualClock(), seen::add);
        TrainingResult r = trainer.run(new HeadNetwork(start), train, validation);
        assertEquals(StopReason.BUDGET_EPOCHS, r.reason());
        assertEquals(r.epochs(), seen);
        assertEquals(List.of(1, 2, 3), seen.stream().map(EpochRecord::epoch).toList());
        // 300 samples, batches of 32: 10 steps per epoch.
        assertEquals(30, r.steps());
    }

    @Test
    void run_rehearsalRatioHalf_addsOneAnchorPerTwoNewSamples() {
        // 300 new + 150 anchors per epoch = 450 samples = 9 steps of 50.
        Samples anchors = TestHeads.blobs(3, 40, 8, 3);
        Trainer trainer = new Trainer(config("max_epochs", "1", "batch_size", "50", "rehearsal_ratio", "0.5"),
                new ManualClock());
        TrainingResult r = trainer.run(new HeadNetwork(start), train, validation, anchors);
        assertEquals(9, r.steps());
    }

    @Test
    void run_rehearsalRatioZero_ignoresAnchors() {
        Samples anchors = TestHeads.blobs(3, 40, 8, 3);
        Trainer trainer = new Trainer(config("max_epochs", "1", "batch_size", "50", "rehearsal_ratio", "0"),
                new ManualClock());
        assertEquals(6, trainer.run(new HeadNetwork(start), train, validation, anchors).steps());
    }

    @Test
    void run_sameSeed_givesIdenticalRuns() {
        HeadNetwork a = new HeadNetwork(start);
        HeadNetwork b = new HeadNetwork(start);
        TrainingResult ra = run(config("max_epochs", "4", "seed", "42"), a, train, validation);
        TrainingResult rb = run(config("max_epochs", "4", "seed", "42"), b, train, validation);
        assertEquals(ra.epochs(), rb.epochs());
        assertEquals(a.layers(), b.layers());
    }

    @Test
    void run_otherSeed_shufflesDifferently() {
        HeadNetwork a = new HeadNetwork(start);
        HeadNetwork b = new HeadNetwork(start);
        run(config("max_epochs", "2", "seed", "1"), a, train, validation);
        run(config("max_epochs", "2", "seed", "2"), b, train, validation);
        assertNotEquals(a.layers(), b.layers());
    }

    @Test
    void run_regressionHead_fitsLinearTargets() {
        // y = A x with a fixed 2x4 matrix; a linear head can fit it exactly.
        SplittableRandom rnd = new SplittableRandom(4);
        float[][] x = TestHeads.rows(8, 200, 4);
        float[][] y = new float[200][2];
        double[][] a = {{1, -2, 0.5, 0}, {0.3, 0, -1, 2}};
        for (int i = 0; i < 200; i++) {
            for (int o = 0; o < 2; o++) {
                for (int j = 0; j < 4; j++) {
                    y[i][o] += (float) (a[o][j] * x[i][j]);
                }
                y[i][o] += (float) (rnd.nextDouble(-0.01, 0.01));
            }
        }
        Samples all = Samples.regression(x, y);
        Samples trainR = Samples.regression(Arrays.copyOf(x, 150), Arrays.copyOf(y, 150));
        Samples valR = Samples.regression(Arrays.copyOfRange(x, 150, 200), Arrays.copyOfRange(y, 150, 200));
        HeadNetwork net = new HeadNetwork(TestHeads.random(7, 4, 2));
        double before = HeadMetrics.meanLoss(net, all);
        // From random weights there is nothing pre-trained to stay near: drift decay off.
        TrainingResult r = run(config("lr", "0.05", "max_epochs", "60", "drift_decay", "0"), net, trainR, valR);
        assertEquals(StopReason.Outcome.STOPPED, r.reason().outcome(), r.message());
        assertTrue(HeadMetrics.meanLoss(net, valR) < before / 100, before + " -> " + r.best());
        assertTrue(Double.isNaN(r.epochs().get(0).valAccuracy()));
    }

    @Test
    void run_embeddingWidthDiffersFromHead_throws() {
        Samples wrong = TestHeads.blobs(1, 30, 5, 3);
        assertThrows(IllegalArgumentException.class, () -> run(config(), new HeadNetwork(start), wrong, validation));
    }

    @Test
    void run_labelBeyondHeadOutputs_throws() {
        Samples wrong = TestHeads.blobs(1, 30, 8, 4);
        assertThrows(IllegalArgumentException.class, () -> run(config(), new HeadNetwork(start), wrong, validation));
    }

    @Test
    void estimateBytes_fromCounts_matchesRefusalThreshold() {
        HeadNetwork net = new HeadNetwork(start);
        long bytes = Trainer.estimateBytes(net, TuningConfig.defaults(), 300, 90, 0);
        assertEquals(MemoryBudget.estimate(net, TuningConfig.defaults(), 300, 90, 0).total(), bytes);
    }

    private static Samples flipLabels(Samples s, double share, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = s.size();
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextDouble() < share ? r.nextInt(3) : s.label(i);
        }
        return Samples.classification(s.data(), s.dim(), y);
    }
}
