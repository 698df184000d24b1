package dev.plateau.inference;

import java.util.List;

/**
 * One classification: the top label and its probability, all class probabilities, the model's
 * raw output logits, and the time taken.
 */
public record Prediction(String label, int index, float score, List<String> labels, float[] scores,
                         float[] logits, long latencyMicros) {
    public Prediction {
        labels = List.copyOf(labels);
        scores = scores.clone();
        logits = logits.clone();
        if (logits.length != scores.length) {
            throw new IllegalArgumentException("prediction: " + logits.length + " logits for " + scores.length
                    + " class scores, expected one per class");
        }
    }

    @Override
    public float[] scores() {
        return scores.clone();
    }

    @Override
    public float[] logits() {
        return logits.clone();
    }

    public float score(int classIndex) {
        return scores[classIndex];
    }

    /** The log-odds of class {@code positive}: a detector's per-window evidence (see {@link LogOdds}). */
    public double logOdds(int positive) {
        return LogOdds.of(logits, positive);
    }
}
