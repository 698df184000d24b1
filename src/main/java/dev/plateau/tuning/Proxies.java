package dev.plateau.tuning;

import dev.plateau.model.ModalFeatures;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic damage made from a site's own healthy windows, the positives a calibration on normal
 * data is judged on. Damage lowers the frequency of the modes that bend where it is, while the
 * rest of the deck stays as it was; temperature, in contrast, moves all modes together. So a
 * proxy keeps the window as it was recorded, except that the content of one mode's band is slowed
 * down by a few percent (the modes in turn, so that every mode the site shows is tried):
 *
 * <pre>
 *   b = band-pass(x) over the first mode's band (DFT mask)       per axis
 *   proxy(t) = x(t) - b(t) + b(t . (1 - shift))                 shift drawn from [MIN_SHIFT, MAX_SHIFT]
 * </pre>
 *
 * Traffic, wind, noise and the other modes are the window's own, so nothing but the modal change
 * tells a proxy from the window it came from.
 */
final class Proxies {
    /** Frequency drops of the first mode: moderate to severe damage lowers it by a few percent. */
    static final double MIN_SHIFT = 0.02;
    static final double MAX_SHIFT = 0.05;

    private Proxies() {}

    /** One proxy of {@code window} ({@code [channels][length]} channel-major) with the given shift. */
    static float[] of(float[] window, int length, double sampleRateHz, ModalFeatures.Band band, double shift) {
        int channels = window.length / length;
        float[] out = window.clone();
        double[] x = new double[length];
        for (int c = 0; c < channels; c++) {
            for (int t = 0; t < length; t++) {
                x[t] = window[c * length + t];
            }
            double[] b = bandPass(x, sampleRateHz, band);
            for (int t = 0; t < length; t++) {
                out[c * length + t] = (float) (x[t] - b[t] + interpolate(b, t * (1 - shift)));
            }
        }
        return out;
    }

    /**
     * {@code count} proxies of each window in turn, proxy {@code j} shifting band {@code j mod
     * bands}, shifts drawn from {@code seed}.
     */
    static float[][] of(float[][] windows, int count, int length, double sampleRateHz, List<ModalFeatures.Band> bands,
                        long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] out = new float[windows.length * count][];
        for (int j = 0; j < out.length; j++) {
            double shift = MIN_SHIFT + (MAX_SHIFT - MIN_SHIFT) * random.nextDouble();
            out[j] = of(windows[j / count], length, sampleRateHz, bands.get(j % bands.size()), shift);
        }
        return out;
    }

    /** The part of {@code x} in {@code band}, by masking its DFT (a plain O(n²) DFT: n is a few hundred). */
    static double[] bandPass(double[] x, double rate, ModalFeatures.Band band) {
        int n = x.length;
        double[] out = new double[n];
        for (int k = 1; k <= n / 2; k++) {
            double f = k * rate / n;
            if (f < band.lowHz() || f > band.highHz()) {
                continue;
            }
            double re = 0;
            double im = 0;
            for (int t = 0; t < n; t++) {
                double phase = 2 * Math.PI * k * t / n;
                re += x[t] * Math.cos(phase);
                im -= x[t] * Math.sin(phase);
            }
            // Each bin below Nyquist stands for itself and its mirror image.
            double weight = (2 * k == n ? 1.0 : 2.0) / n;
            for (int t = 0; t < n; t++) {
                double phase = 2 * Math.PI * k * t / n;
                out[t] += weight * (re * Math.cos(phase) - im * Math.sin(phase));
            }
        }
        return out;
    }

    /** Cubic (Catmull-Rom) interpolation of {@code y} at fractional index {@code at}, ends held. */
    static double interpolate(double[] y, double at) {
        int i = (int) Math.floor(at);
        double u = at - i;
        double p0 = y[clamp(i - 1, y.length)];
        double p1 = y[clamp(i, y.length)];
        double p2 = y[clamp(i + 1, y.length)];
        double p3 = y[clamp(i + 2, y.length)];
        return p1 + 0.5 * u * (p2 - p0 + u * (2 * p0 - 5 * p1 + 4 * p2 - p3 + u * (3 * (p1 - p2) + p3 - p0)));
    }

    private static int clamp(int i, int n) {
        return Math.max(0, Math.min(n - 1, i));
    }
}
