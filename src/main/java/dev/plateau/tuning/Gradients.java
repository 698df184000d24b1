package dev.plateau.tuning;

/** Global gradient norm and clipping by it. */
final class Gradients {
    private Gradients() {}

    /**
     * Values per block of {@link #globalNorm}: each of its 8 float sums adds 8 squares before the
     * block's total goes into the double, too few for float rounding to show.
     */
    private static final int BLOCK = 64;

    /**
     * Euclidean norm of all of {@code grads}: blocks of {@link #BLOCK} squares in 8 independent
     * float sums (so that the adds do not wait on each other), their totals summed in double.
     */
    static double globalNorm(float[] grads) {
        double s = 0;
        int i = 0;
        for (; i + BLOCK <= grads.length; i += BLOCK) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (int j = i; j < i + BLOCK; j += 8) {
                s0 += grads[j] * grads[j];
                s1 += grads[j + 1] * grads[j + 1];
                s2 += grads[j + 2] * grads[j + 2];
                s3 += grads[j + 3] * grads[j + 3];
                s4 += grads[j + 4] * grads[j + 4];
                s5 += grads[j + 5] * grads[j + 5];
                s6 += grads[j + 6] * grads[j + 6];
                s7 += grads[j + 7] * grads[j + 7];
            }
            s += ((double) s0 + s1) + ((double) s2 + s3) + ((double) s4 + s5) + ((double) s6 + s7);
        }
        for (; i < grads.length; i++) {
            s += (double) grads[i] * grads[i];
        }
        // A square above Float.MAX_VALUE overflows a float sum but not a double one.
        return Double.isInfinite(s) ? Math.sqrt(sumInDouble(grads)) : Math.sqrt(s);
    }

    private static double sumInDouble(float[] grads) {
        double s = 0;
        for (float g : grads) {
            s += (double) g * g;
        }
        return s;
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
