package dev.plateau.tuning;

/** The chi-squared distribution's upper quantile, through the regularised incomplete gamma function. */
final class ChiSquared {
    /** Relative precision of the series and the continued fraction. */
    private static final double EPS = 1e-14;
    private static final int MAX_TERMS = 1000;

    private ChiSquared() {}

    /** The x with P(X <= x) = p for X chi-squared with {@code df} degrees of freedom, 0 < p < 1. */
    static double quantile(double p, int df) {
        if (!(p > 0 && p < 1) || df < 1) {
            throw new IllegalArgumentException("chi-squared quantile: expected 0 < p < 1 and df >= 1, found p " + p
                    + ", df " + df);
        }
        double lo = 0;
        double hi = Math.max(1, df);
        while (cdf(hi, df) < p) {
            hi *= 2;
        }
        // Bisection to the precision of a double: 200 halvings are more than enough.
        for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
            double mid = (lo + hi) / 2;
            if (cdf(mid, df) < p) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    /** P(X <= x): the regularised lower incomplete gamma P(df/2, x/2). */
    static double cdf(double x, int df) {
        if (x <= 0) {
            return 0;
        }
        double a = df / 2.0;
        double z = x / 2;
        double lnPrefix = a * Math.log(z) - z - logGamma(a);
        if (z < a + 1) {
            // The series converges fast below the mean.
            double term = 1 / a;
            double sum = term;
            for (int n = 1; n < MAX_TERMS; n++) {
                term *= z / (a + n);
                sum += term;
                if (Math.abs(term) < Math.abs(sum) * EPS) {
                    break;
                }
            }
            return sum * Math.exp(lnPrefix);
        }
        // Above it, Lentz's continued fraction for the upper tail Q = 1 - P.
        double b = z + 1 - a;
        double c = 1 / Double.MIN_NORMAL;
        double d = 1 / b;
        double h = d;
        for (int i = 1; i < MAX_TERMS; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = Math.abs(d) < Double.MIN_NORMAL ? Double.MIN_NORMAL : d;
            c = b + an / c;
            c = Math.abs(c) < Double.MIN_NORMAL ? Double.MIN_NORMAL : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < EPS) {
                break;
            }
        }
        return 1 - Math.exp(lnPrefix) * h;
    }

    /** ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error near 1e-15). */
    static double logGamma(double x) {
        double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                1.5056327351493116e-7};
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        x -= 1;
        double sum = c[0];
        for (int i = 1; i < 9; i++) {
            sum += c[i] / (x + i);
        }
        double t = x + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
    }
}
