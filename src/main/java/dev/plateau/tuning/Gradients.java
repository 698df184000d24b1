package dev.plateau.tuning;

/** Global gradient norm and clipping by it. */
final class Gradients {
    private Gradients() {}

    /** Euclidean norm of all of {@code grads}, summed in double. */
    static double globalNorm(float[] grads) {
        double s = 0;
        for (float g : grads) {
            s += (double) g * g;
        }
        return Math.sqrt(s);
    }

    /**
     * Scales {@code grads} down so that their global norm is {@code maxNorm} when it is above;
     * {@code maxNorm == 0} turns clipping off. Returns the norm before clipping. A non-finite norm
     * is returned untouched, for the divergence guard to see.
     */
    static double clipByGlobalNorm(float[] grads, double maxNorm) {
        double norm = globalNorm(grads);
        if (maxNorm > 0 && norm > maxNorm && Double.isFinite(norm)) {
            double scale = maxNorm / norm;
            for (int i = 0; i < grads.length; i++) {
                grads[i] = (float) (grads[i] * scale);
            }
        }
        return norm;
    }
}
