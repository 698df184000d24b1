package dev.plateau.inference;

import java.util.List;

/** One classification: the top label and its probability, all class probabilities, and the time taken. */
public record Prediction(String label, int index, float score, List<String> labels, float[] scores,
                         long latencyMicros) {
    public Prediction {
        labels = List.copyOf(labels);
        scores = scores.clone();
    }

    @Override
    public float[] scores() {
        return scores.clone();
    }

    public float score(int classIndex) {
        return scores[classIndex];
    }
}
