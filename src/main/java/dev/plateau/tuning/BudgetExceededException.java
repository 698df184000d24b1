package dev.plateau.tuning;

/** Fine-tuning would need more memory than {@code max_memory_mb}; thrown before anything starts. */
public final class BudgetExceededException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long estimateBytes;
    private final long limitBytes;

    BudgetExceededException(long estimateBytes, long limitBytes, String breakdown) {
        super(String.format(java.util.Locale.ROOT,
                "max_memory_mb: fine-tuning needs an estimated %.1f MiB (%s), over the limit of %d MiB",
                estimateBytes / MemoryBudget.MIB, breakdown, limitBytes / (1L << 20)));
        this.estimateBytes = estimateBytes;
        this.limitBytes = limitBytes;
    }

    public long estimateBytes() {
        return estimateBytes;
    }

    public long limitBytes() {
        return limitBytes;
    }
}
