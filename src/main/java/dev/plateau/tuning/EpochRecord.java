package dev.plateau.tuning;

/**
 * Figures of one epoch. {@code trainLoss} is the mean of the epoch's mini-batch losses weighted
 * by batch size (new and rehearsal samples together, measured while the weights moved);
 * {@code valLoss} and {@code valAccuracy} are measured after the epoch ({@code valAccuracy} is
 * NaN for regression). {@code gradNorm} is the mean of the epoch's global gradient norms, before
 * clipping and without weight decay. {@code weightChange} is the relative L2 change of the head's
 * parameters over the epoch (weight stabilisation); {@code unchangedPredictions} the share of
 * validation predictions the same as after the previous epoch (functional consistency; NaN at
 * the first epoch). {@code steps} counts optimizer steps since the start,
 * {@code elapsedMillis} time since the start. A {@code partial} epoch was cut short by a budget.
 */
public record EpochRecord(int epoch, double trainLoss, double valLoss, double valAccuracy, double gradNorm,
                          double learningRate, long steps, long elapsedMillis, boolean partial,
                          double weightChange, double unchangedPredictions) {}
