package dev.plateau.tuning;

/**
 * The acceptance gate's figures and verdict: a candidate is kept only if it beats the current
 * model on the new data's validation split by {@code min_gain}, loses at most
 * {@code max_forgetting} accuracy on the original task's anchor set, and every output is finite.
 */
public record GateResult(HeadMetrics.Evaluation validationBefore, HeadMetrics.Evaluation validationAfter,
                         HeadMetrics.Evaluation anchorBefore, HeadMetrics.Evaluation anchorAfter,
                         boolean accepted, String reason) {

    static GateResult decide(HeadMetrics.Evaluation valBefore, HeadMetrics.Evaluation valAfter,
                             HeadMetrics.Evaluation anchorBefore, HeadMetrics.Evaluation anchorAfter,
                             TuningConfig config) {
        double gain = valAfter.accuracy() - valBefore.accuracy();
        double forgetting = anchorBefore == null ? 0 : anchorBefore.accuracy() - anchorAfter.accuracy();
        int nonFinite = valAfter.nonFiniteOutputs() + (anchorAfter == null ? 0 : anchorAfter.nonFiniteOutputs());
        String figures = String.format("validation accuracy %.4f -> %.4f (gain %+.4f, min_gain %.4f)",
                valBefore.accuracy(), valAfter.accuracy(), gain, config.minGain())
                + (anchorBefore == null ? ", no anchor set" : String.format(
                        ", anchor accuracy %.4f -> %.4f (drop %.4f, max_forgetting %.4f)",
                        anchorBefore.accuracy(), anchorAfter.accuracy(), forgetting, config.maxForgetting()));
        if (nonFinite > 0) {
            return new GateResult(valBefore, valAfter, anchorBefore, anchorAfter, false,
                    nonFinite + " non-finite outputs; " + figures);
        }
        if (gain < config.minGain()) {
            return new GateResult(valBefore, valAfter, anchorBefore, anchorAfter, false,
                    "not better on the new data: " + figures);
        }
        if (forgetting > config.maxForgetting()) {
            return new GateResult(valBefore, valAfter, anchorBefore, anchorAfter, false,
                    "forgets the original task: " + figures);
        }
        return new GateResult(valBefore, valAfter, anchorBefore, anchorAfter, true, "better on new data, "
                + "original task kept: " + figures);
    }
}
