package dev.plateau.tuning;

/** Student's t distribution's quantile, for prediction bounds from a few observations. */
final class StudentT {
    private StudentT() {}

    /**
     * The t with P(T <= t) = p for T with {@code df} degrees of freedom, 0.5 <= p < 1: exact for
     * one and two degrees of freedom, else the Cornish-Fisher expansion around the normal
     * quantile to the fourth order in 1/df (within 0.5 % from 3 degrees of freedom at p = 0.99).
     */
    static double quantile(double p, int df) {
        if (!(p >= 0.5 && p < 1) || df < 1) {
            throw new IllegalArgumentException("p in [0.5, 1) and df >= 1 expected, got p=" + p + " df=" + df);
        }
        if (df == 1) {
            return Math.tan(Math.PI * (p - 0.5));
        }
        if (df == 2) {
            return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
        }
        double z = Normal.quantile(p);
        double z2 = z * z;
        double z3 = z2 * z;
        double z5 = z3 * z2;
        double z7 = z5 * z2;
        double z9 = z7 * z2;
        double v = df;
        return z + (z3 + z) / (4 * v)
                + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
                + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
                + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * v * v * v * v);
    }
}
