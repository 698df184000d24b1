package dev.plateau.tuning;

/** Why a training run ended, and what that means for its weights. */
public enum StopReason {
    /** {@code max_epochs} passes done. */
    BUDGET_EPOCHS(Outcome.STOPPED),
    /** {@code max_steps} optimizer steps done. */
    BUDGET_STEPS(Outcome.STOPPED),
    /** {@code max_seconds} of wall time used. */
    BUDGET_TIME(Outcome.STOPPED),
    /** A loss or gradient became NaN or infinite. */
    DIVERGED_NON_FINITE(Outcome.ABORTED),
    /** The loss rose above {@code spike_factor} times the best loss. */
    DIVERGED_LOSS_SPIKE(Outcome.ABORTED),
    /** A gradient norm rose above {@code grad_spike_factor} times the median of recent norms. */
    DIVERGED_GRAD_SPIKE(Outcome.ABORTED),
    /** The training loss stopped improving by {@code min_delta} for {@code patience} epochs. */
    PLATEAU(Outcome.STOPPED),
    /** An epoch's mean gradient norm fell below {@code grad_tol}. */
    GRADIENT_SMALL(Outcome.STOPPED),
    /** Prechelt's GL: validation loss more than {@code gl_alpha} percent above its best. */
    EARLY_STOP_GL(Outcome.STOPPED),
    /** Prechelt's UP: validation loss rose in {@code up_strips} successive strips. */
    EARLY_STOP_UP(Outcome.STOPPED),
    /** Validation loss above training loss by more than {@code overfit_gap}. */
    OVERFITTING(Outcome.STOPPED),
    /** An epoch moved the head's weights by less than {@code weight_tol} (relative L2). */
    WEIGHTS_STABLE(Outcome.STOPPED),
    /** At least {@code consistency_stop} of the selection predictions stayed the same for {@code patience} epochs. */
    PREDICTIONS_STABLE(Outcome.STOPPED),
    /** The training thread was interrupted. */
    INTERRUPTED(Outcome.INTERRUPTED);

    /**
     * {@code STOPPED}: the best epoch's weights are the result. {@code ABORTED} (divergence) and
     * {@code INTERRUPTED}: nothing is kept, the network is back at its starting weights.
     */
    public enum Outcome { STOPPED, ABORTED, INTERRUPTED }

    private final Outcome outcome;

    StopReason(Outcome outcome) {
        this.outcome = outcome;
    }

    public Outcome outcome() {
        return outcome;
    }
}
