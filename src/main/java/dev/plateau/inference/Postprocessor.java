package dev.plateau.inference;

import java.nio.FloatBuffer;

/** Softmax and top-1 for classification outputs. */
final class Postprocessor {
    private Postprocessor() {}

    /**
     * Writes softmax({@code logits}) into {@code out} and returns the top class, or -1 when a
     * logit is not finite (a broken model must not look confident).
     */
    static int softmax(FloatBuffer logits, float[] out) {
        float max = Float.NEGATIVE_INFINITY;
        int top = -1;
        for (int i = 0; i < out.length; i++) {
            float v = logits.get(i);
            if (!Float.isFinite(v)) {
                return -1;
            }
            if (v > max) {
                max = v;
                top = i;
            }
        }
        double sum = 0;
        for (int i = 0; i < out.length; i++) {
            double e = Math.exp(logits.get(i) - max);
            out[i] = (float) e;
            sum += e;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (out[i] / sum);
        }
        return top;
    }
}
