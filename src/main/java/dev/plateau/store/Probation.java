package dev.plateau.store;

import dev.plateau.inference.Prediction;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One version's probation after its activation: live figures are compared with the previous
 * version's recorded ones on every sample; crossing a threshold rolls back at once, and surviving
 * the window marks the version kept and records its figures as the next baseline. Feed it from
 * one thread (or synchronize): it is the hot path's only extra work, a few additions per sample.
 */
public final class Probation {
    /** What probation decided; the listener gets each final decision once. */
    public enum State { RUNNING, KEPT, ROLLED_BACK, SUPERSEDED }

    /** A final decision with its reason and the figures it was made on. */
    public record Decision(String model, int version, State state, String reason, Figures live, Figures baseline) {}

    private final ModelStore store;
    private final ModelStore.Activation activation;
    private final Figures baseline;
    private final ProbationPolicy policy;
    private final Clock clock;
    private final Consumer<Decision> listener;
    private final Instant started;
    private final FigureCounter counter = new FigureCounter();
    private State state = State.RUNNING;
    private Decision decision;

    /**
     * @param baseline the previous version's recorded figures ({@link ModelStore#figures})
     * @param listener told of the final decision, e.g. to swap the session back and send an event
     */
    public Probation(ModelStore store, ModelStore.Activation activation, Figures baseline, ProbationPolicy policy,
                     Clock clock, Consumer<Decision> listener) {
        this.store = store;
        this.activation = activation;
        this.baseline = baseline;
        this.policy = policy;
        this.clock = clock;
        this.listener = listener;
        this.started = clock.instant();
        store.record(activation.model(), "probation", "version", activation.version(), "previous",
                activation.previous(), "baseline", baseline.toString());
    }

    public State record(Prediction p) {
        return record(p.scores(), p.latencyMicros());
    }

    public State record(float[] probabilities, long latencyMicros) {
        if (state == State.RUNNING) {
            counter.record(probabilities, latencyMicros);
            evaluate();
        }
        return state;
    }

    public State recordError() {
        if (state == State.RUNNING) {
            counter.recordError();
            evaluate();
        }
        return state;
    }

    /** Ends the window by time even when no sample arrives; call it from a timer. */
    public State tick() {
        if (state == State.RUNNING) {
            evaluate();
        }
        return state;
    }

    public State state() {
        return state;
    }

    public Optional<Decision> decision() {
        return Optional.ofNullable(decision);
    }

    private void evaluate() {
        Figures live = counter.figures();
        if (counter.samples() >= policy.minSamples()) {
            Optional<String> crossed = crossed(live);
            if (crossed.isPresent()) {
                if (superseded(live)) {
                    return;
                }
                String reason = "probation of version " + activation.version() + ": " + crossed.get();
                try {
                    store.rollback(activation.model(), activation.previous(), activation.version(), reason);
                } catch (StoreException e) {
                    // Another activation landed between the check above and the rollback: it wins.
                    if (!superseded(live)) {
                        throw e;
                    }
                    return;
                }
                finish(State.ROLLED_BACK, reason, live);
                return;
            }
        }
        boolean timeUp = !policy.window().isZero() && !clock.instant().isBefore(started.plus(policy.window()));
        boolean samplesUp = policy.windowSamples() > 0 && counter.samples() >= policy.windowSamples();
        if ((timeUp || samplesUp) && counter.samples() >= policy.minSamples()) {
            if (superseded(live)) {
                return;
            }
            String reason = "survived probation: " + live.samples() + " samples over "
                    + java.time.Duration.between(started, clock.instant()).toSeconds() + " s within thresholds";
            store.markKept(activation.model(), activation.version(), reason);
            store.recordFigures(activation.model(), activation.version(), live);
            finish(State.KEPT, reason, live);
        }
    }

    /** Another activation or a command rollback came first: nothing is left to judge. Read only at decisions. */
    private boolean superseded(Figures live) {
        int active = store.active(activation.model());
        if (active == activation.version()) {
            return false;
        }
        finish(State.SUPERSEDED, "version " + activation.version() + " is no longer active (active: " + active + ")",
                live);
        return true;
    }

    private Optional<String> crossed(Figures live) {
        double drop = baseline.meanConfidence() - live.meanConfidence();
        if (drop > policy.maxConfidenceDrop()) {
            return Optional.of(String.format("mean top-1 confidence %.4f fell %.4f below the previous %.4f (max %.4f)",
                    live.meanConfidence(), drop, baseline.meanConfidence(), policy.maxConfidenceDrop()));
        }
        double rise = live.meanEntropy() - baseline.meanEntropy();
        if (rise > policy.maxEntropyRise()) {
            return Optional.of(String.format("mean entropy %.4f rose %.4f above the previous %.4f (max %.4f)",
                    live.meanEntropy(), rise, baseline.meanEntropy(), policy.maxEntropyRise()));
        }
        double tv = live.totalVariation(baseline);
        if (tv > policy.maxTotalVariation()) {
            return Optional.of(String.format("class distribution moved: total variation %.4f (max %.4f)",
                    tv, policy.maxTotalVariation()));
        }
        double errors = live.errorRate() - baseline.errorRate();
        if (errors > policy.maxErrorRateRise()) {
            return Optional.of(String.format("error rate %.4f rose %.4f above the previous %.4f (max %.4f)",
                    live.errorRate(), errors, baseline.errorRate(), policy.maxErrorRateRise()));
        }
        if (baseline.latencyP99Micros() > 0
                && live.latencyP99Micros() > policy.maxLatencyRatio() * baseline.latencyP99Micros()) {
            return Optional.of(String.format("latency p99 %d us is over %.1fx the previous %d us",
                    live.latencyP99Micros(), policy.maxLatencyRatio(), baseline.latencyP99Micros()));
        }
        return Optional.empty();
    }

    private void finish(State to, String reason, Figures live) {
        state = to;
        decision = new Decision(activation.model(), activation.version(), to, reason, live, baseline);
        listener.accept(decision);
    }
}
