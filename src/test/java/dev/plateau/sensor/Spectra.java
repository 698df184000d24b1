package dev.plateau.sensor;

/** Test helper: where a signal's spectrum peaks, by a direct DFT over a frequency band. */
final class Spectra {
    private Spectra() {}

    /** Power at each frequency of {@code frequenciesHz}, after removing the mean and a Hann taper. */
    static double[] power(double[] signal, double sampleRateHz, double[] frequenciesHz) {
        int n = signal.length;
        double mean = 0.0;
        for (double v : signal) {
            mean += v / n;
        }
        double[] power = new double[frequenciesHz.length];
        for (int k = 0; k < frequenciesHz.length; k++) {
            double re = 0.0;
            double im = 0.0;
            double w = 2.0 * Math.PI * frequenciesHz[k] / sampleRateHz;
            for (int i = 0; i < n; i++) {
                double taper = 0.5 - 0.5 * Math.cos(2.0 * Math.PI * i / (n - 1));
                double v = (signal[i] - mean) * taper;
                re += v * Math.cos(w * i);
                im -= v * Math.sin(w * i);
            }
            power[k] = re * re + im * im;
        }
        return power;
    }

    /** Frequencies from {@code lowHz} to {@code highHz} in steps of {@code stepHz}. */
    static double[] grid(double lowHz, double highHz, double stepHz) {
        int count = (int) Math.floor((highHz - lowHz) / stepHz) + 1;
        double[] grid = new double[count];
        for (int i = 0; i < count; i++) {
            grid[i] = lowHz + i * stepHz;
        }
        return grid;
    }

    /** The grid frequency of the strongest power, refined by a parabola through its neighbours. */
    static double peakHz(double[] frequenciesHz, double[] power) {
        int best = 0;
        for (int k = 1; k < power.length; k++) {
            if (power[k] > power[best]) {
                best = k;
            }
        }
        if (best == 0 || best == power.length - 1) {
            return frequenciesHz[best];
        }
        double left = power[best - 1];
        double mid = power[best];
        double right = power[best + 1];
        double offset = 0.5 * (left - right) / (left - 2.0 * mid + right);
        return frequenciesHz[best] + offset * (frequenciesHz[1] - frequenciesHz[0]);
    }
}
