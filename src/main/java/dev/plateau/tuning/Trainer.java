package dev.plateau.tuning;

import java.time.Clock;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Fine-tunes a {@link HeadNetwork} on cached embeddings under a {@link TuningConfig}: shuffled
 * mini-batches (seeded), optional rehearsal of anchor samples, the configured optimizer and
 * schedule, and the convergence and budget guards of DESIGN.md §6. Runs on the calling thread
 * and checks its interrupt flag between steps (the flag is left set).
 *
 * <p>The network is changed in place: when the run stops normally it holds the best epoch's
 * weights; after a divergence, an interrupt or an exception it holds its starting weights.
 */
public final class Trainer {
    private final TuningConfig config;
    private final Clock clock;
    private final Consumer<EpochRecord> progress;

    public Trainer(TuningConfig config, Clock clock) {
        this(config, clock, epoch -> {});
    }

    /** {@code progress} is called on the training thread after every epoch. */
    public Trainer(TuningConfig config, Clock clock, Consumer<EpochRecord> progress) {
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    public TrainingResult run(HeadNetwork network, Samples train, Samples validation) {
        return start(network, train, validation, null);
    }

    /** As {@link #run(HeadNetwork, Samples, Samples)}, mixing in anchors at {@code rehearsal_ratio}. */
    public TrainingResult run(HeadNetwork network, Samples train, Samples validation, Samples anchors) {
        return start(network, train, validation, Objects.requireNonNull(anchors, "anchors"));
    }

    private TrainingResult start(HeadNetwork network, Samples train, Samples validation, Samples anchors) {
        Objects.requireNonNull(network, "network");
        HeadMetrics.check(network, Objects.requireNonNull(train, "train"));
        HeadMetrics.check(network, Objects.requireNonNull(validation, "validation"));
        if (anchors != null) {
            HeadMetrics.check(network, anchors);
        }
        if (validation.isClassification() != train.isClassification()
                || (anchors != null && anchors.isClassification() != train.isClassification())) {
            throw new IllegalArgumentException("samples: training, validation and anchor samples must all be "
                    + (train.isClassification() ? "classification" : "regression") + " samples");
        }
        MemoryBudget budget = MemoryBudget.estimate(network, config, train.size(), validation.size(),
                anchors == null ? 0 : anchors.size());
        budget.check(config);
        return new TrainingRun(network, train, validation, anchors, config, clock, progress, budget.total()).execute();
    }

    /**
     * Estimated bytes a run would need (see {@code max_memory_mb}), from sample counts alone, so
     * that it can be checked before embeddings are computed.
     */
    public static long estimateBytes(HeadNetwork network, TuningConfig config, int trainSamples,
                                     int validationSamples, int anchorSamples) {
        return MemoryBudget.estimate(network, config, trainSamples, validationSamples, anchorSamples).total();
    }
}
