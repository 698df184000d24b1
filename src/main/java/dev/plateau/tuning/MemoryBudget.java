package dev.plateau.tuning;

import java.util.Locale;

/**
 * Estimated bytes of a run, counted from the buffers the trainer allocates: embeddings with
 * their labels or targets (counted as one float per output, an upper bound for labels), the
 * weights with their gradients, best, starting and previous-epoch copies and a transposed copy, the optimizer's state, and the
 * per-batch work buffers and epoch index arrays. Object headers and the JVM are not counted.
 */
record MemoryBudget(long embeddings, long parameters, long optimizerState, long work) {
    static final double MIB = 1 << 20;

    static MemoryBudget estimate(HeadNetwork net, TuningConfig c, long train, long validation, long anchors) {
        long dim = net.inputs();
        long out = net.outputs();
        long p = net.parameterCount();
        long embeddings = (train + validation + anchors) * (dim + out) * Float.BYTES;
        // Weights, gradients, starting, best and previous-epoch copies, transposed weights.
        long parameters = 6 * p * Float.BYTES;
        long optimizer = Optimizer.stateSlots(c.optimizer()) * p * Float.BYTES;
        long batch = c.batchSize();
        long rehearsal = anchors > 0 ? Math.round(c.rehearsalRatio() * train) : 0;
        long work = batch * (2 * dim + 2 * out + net.activationWidths() + 3L * net.maxWidth()) * Float.BYTES
                + (train + rehearsal + anchors) * Integer.BYTES;
        return new MemoryBudget(embeddings, parameters, optimizer, work);
    }

    long total() {
        return embeddings + parameters + optimizerState + work;
    }

    /** Throws {@link BudgetExceededException} when the total is above {@code c.maxMemoryMb()}. */
    void check(TuningConfig c) {
        long limit = c.maxMemoryMb() << 20;
        if (total() > limit) {
            throw new BudgetExceededException(total(), limit, String.format(Locale.ROOT,
                    "embeddings %.1f, weights and gradients %.1f, optimizer state %.1f, work buffers %.1f",
                    embeddings / MIB, parameters / MIB, optimizerState / MIB, work / MIB));
        }
    }
}
