package dev.plateau.tuning;

import dev.plateau.model.HeadLayer;
import java.util.List;
import java.util.Optional;

/**
 * What a training run did and what it kept. {@code bestWeights} is present only when the run
 * {@link StopReason.Outcome#STOPPED stopped} normally: the weights of {@code bestEpoch} (lowest
 * validation loss; 0 when no epoch was measured, then the starting weights). After a divergence
 * or an interrupt it is empty and the network holds its starting weights again.
 * {@code estimatedBytes} is the memory estimate checked against {@code max_memory_mb}; every
 * buffer is allocated up front, so it is also the run's estimated peak.
 */
public record TrainingResult(List<EpochRecord> epochs, StopReason reason, String message, int bestEpoch,
                             Optional<List<HeadLayer>> bestWeights, long steps, long wallMillis,
                             long estimatedBytes, TuningConfig config) {

    public TrainingResult {
        epochs = List.copyOf(epochs);
        bestWeights = bestWeights.map(List::copyOf);
    }

    /** True when training diverged and was abandoned. */
    public boolean aborted() {
        return reason.outcome() == StopReason.Outcome.ABORTED;
    }

    /** The record of the best epoch, when one was measured. */
    public Optional<EpochRecord> best() {
        return epochs.stream().filter(e -> e.epoch() == bestEpoch).findFirst();
    }
}
