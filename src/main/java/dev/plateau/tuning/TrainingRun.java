package dev.plateau.tuning;

import dev.plateau.model.HeadLayer;
import dev.plateau.tuning.ConvergenceMonitor.Decision;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/** One training run's state; used once by {@link Trainer}. */
final class TrainingRun {
    private final HeadNetwork net;
    private final Samples train;
    private final Samples validation;
    private final Samples anchors;
    private final TuningConfig config;
    private final Clock clock;
    private final Consumer<EpochRecord> progress;
    private final long estimatedBytes;

    private final Loss loss;
    private final Optimizer optimizer;
    private final WeightDecay decay;
    private final Schedule schedule;
    private final ConvergenceMonitor monitor;
    private final SplittableRandom random;
    private final AnchorSampler sampler;
    private final int rehearsalPerEpoch;
    private final int[] order;
    private final Batch batch;
    private final float[] initial;
    private final float[] best;
    /** Weights and validation predictions at the end of the previous epoch, for the stability indicators. */
    private final float[] previous;
    private final int[] predicted;
    private final int[] previousPredicted;
    private final List<EpochRecord> records = new ArrayList<>();
    private int bestEpoch;
    private double bestValLoss = Double.POSITIVE_INFINITY;

    /** Running sums of the current epoch. */
    private double lossSum;
    private int samplesSeen;
    private double normSum;
    private int epochSteps;

    TrainingRun(HeadNetwork net, Samples train, Samples validation, Samples anchors, TuningConfig config, Clock clock,
                Consumer<EpochRecord> progress, long estimatedBytes) {
        this.net = net;
        this.train = train;
        this.validation = validation;
        this.anchors = anchors;
        this.config = config;
        this.clock = clock;
        this.progress = progress;
        this.estimatedBytes = estimatedBytes;
        this.loss = Loss.of(train);
        this.optimizer = Optimizer.create(config, net.parameterCount());
        this.decay = WeightDecay.of(config, net, net.parameters());
        this.schedule = Schedule.create(config);
        this.monitor = new ConvergenceMonitor(config, clock);
        this.random = new SplittableRandom(config.seed());
        boolean rehearse = anchors != null && config.rehearsalRatio() > 0;
        this.sampler = rehearse ? new AnchorSampler(anchors.size(), random) : null;
        this.rehearsalPerEpoch = rehearse ? (int) Math.round(config.rehearsalRatio() * train.size()) : 0;
        this.order = new int[train.size() + rehearsalPerEpoch];
        net.ensureCapacity(config.batchSize());
        this.batch = new Batch(config.batchSize(), net.inputs(), net.outputs(), train.isClassification());
        this.initial = net.parameters().clone();
        this.best = new float[initial.length];
        this.previous = initial.clone();
        this.predicted = new int[validation.size()];
        this.previousPredicted = new int[validation.size()];
    }

    TrainingResult execute() {
        long start = clock.millis();
        try {
            Decision d = Decision.CONTINUE;
            for (int epoch = 1; !d.halt(); epoch++) {
                d = epoch(epoch);
            }
            return finish(d, start);
        } catch (RuntimeException | Error e) {
            restore(initial);
            throw e;
        }
    }

    private Decision epoch(int epoch) {
        double lr = schedule.rate(epoch - 1);
        int rows = shuffle();
        lossSum = 0;
        samplesSeen = 0;
        normSum = 0;
        epochSteps = 0;
        Decision d = steps(rows, lr);
        if (d.halt()) {
            if (d.reason().outcome() == StopReason.Outcome.STOPPED && epochSteps > 0) {
                record(epoch, lr, true);
            }
            return d;
        }
        if (Thread.currentThread().isInterrupted()) {
            return interrupted();
        }
        EpochRecord r = record(epoch, lr, false);
        d = monitor.onEpoch(epoch, r.trainLoss(), r.valLoss(), r.gradNorm());
        if (!d.halt()) {
            d = monitor.onStability(epoch, r.weightChange(), r.unchangedPredictions());
        }
        if (!d.halt()) {
            schedule.onEpochEnd(r.valLoss());
            d = monitor.checkBudget();
        }
        return d;
    }

    /** Fills {@link #order} with the training rows and this epoch's anchors (rows past the training set), shuffled. */
    private int shuffle() {
        int n = train.size();
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (sampler != null) {
            sampler.sample(rehearsalPerEpoch, order, n, n);
        }
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order.length;
    }

    private Decision steps(int rows, double lr) {
        int size = config.batchSize();
        int k = net.outputs();
        float[] params = net.parameters();
        float[] grads = net.gradients();
        for (int from = 0; from < rows; from += size) {
            if (Thread.currentThread().isInterrupted()) {
                return interrupted();
            }
            Decision d = monitor.checkBudget();
            if (d.halt()) {
                return d;
            }
            int n = Math.min(size, rows - from);
            gather(from, n);
            float[] out = net.forward(batch.x, 0, n);
            double value = loss.compute(out, k, batch, batch.dLogits);
            net.backward(batch.dLogits, n);
            double norm = Gradients.clipByGlobalNorm(grads, config.clipNorm());
            d = monitor.onStep(value, norm);
            if (d.halt()) {
                return d;
            }
            decay.apply(params, grads, lr);
            optimizer.step(params, grads, lr);
            lossSum += value * n;
            samplesSeen += n;
            normSum += norm;
            epochSteps++;
        }
        return Decision.CONTINUE;
    }

    private void gather(int from, int n) {
        int trainRows = train.size();
        for (int s = 0; s < n; s++) {
            int row = order[from + s];
            if (row < trainRows) {
                train.copyRow(row, batch, s);
            } else {
                anchors.copyRow(row - trainRows, batch, s);
            }
        }
        batch.n = n;
    }

    /** Validates, records the epoch, keeps its weights when they are the best so far, and reports it. */
    private EpochRecord record(int epoch, double lr, boolean partial) {
        HeadMetrics.Evaluation v = HeadMetrics.evaluate(net, validation, batch, config.batchSize(), predicted);
        EpochRecord r = new EpochRecord(epoch, lossSum / samplesSeen, v.meanLoss(), v.accuracy(),
                normSum / epochSteps, lr, monitor.steps(), monitor.elapsedMillis(), partial, weightChange(),
                epoch == 1 ? Double.NaN : unchangedShare());
        System.arraycopy(net.parameters(), 0, previous, 0, previous.length);
        System.arraycopy(predicted, 0, previousPredicted, 0, predicted.length);
        records.add(r);
        if (v.meanLoss() < bestValLoss) {
            bestValLoss = v.meanLoss();
            bestEpoch = epoch;
            System.arraycopy(net.parameters(), 0, best, 0, best.length);
        }
        progress.accept(r);
        return r;
    }

    /** ||w - w_prev|| / ||w_prev|| over all parameters (or the absolute change when w_prev is zero). */
    private double weightChange() {
        float[] now = net.parameters();
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < now.length; i++) {
            double d = now[i] - previous[i];
            diff += d * d;
            norm += (double) previous[i] * previous[i];
        }
        return norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff);
    }

    private double unchangedShare() {
        int same = 0;
        for (int i = 0; i < predicted.length; i++) {
            same += predicted[i] == previousPredicted[i] ? 1 : 0;
        }
        return (double) same / predicted.length;
    }

    private Decision interrupted() {
        return new Decision(StopReason.INTERRUPTED, "interrupted after " + monitor.steps() + " steps");
    }

    private TrainingResult finish(Decision d, long start) {
        Optional<List<HeadLayer>> kept;
        if (d.reason().outcome() == StopReason.Outcome.STOPPED) {
            restore(bestEpoch > 0 ? best : initial);
            kept = Optional.of(net.layers());
        } else {
            restore(initial);
            kept = Optional.empty();
        }
        return new TrainingResult(records, d.reason(), d.message(), bestEpoch, kept, monitor.steps(),
                clock.millis() - start, estimatedBytes, config);
    }

    private void restore(float[] weights) {
        System.arraycopy(weights, 0, net.parameters(), 0, weights.length);
    }
}
