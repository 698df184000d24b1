package dev.plateau.tuning;

import dev.plateau.model.ModalFeatures;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Finds a site's dominant modes in its own healthy windows: the highest peaks of the mean power
 * spectrum (all axes, zero-padded DFT), each with a band around it wide enough for the year's
 * temperature swing and split halfway (geometrically) from its neighbours.
 */
final class ModalBands {
    /** Modes the features follow: a deck's first few bending and torsion modes. */
    static final int MODES = 4;
    /** Lowest frequency searched: below it, drift and the window's own length dominate. */
    static final double MIN_HZ = 0.5;
    /** Highest share of the Nyquist frequency searched, clear of the decimation filter's roll-off. */
    static final double MAX_NYQUIST_SHARE = 0.88;
    /** Two peaks closer than this in relative frequency are one mode. */
    static final double MIN_SEPARATION = 0.12;
    /** Half-width of a band in relative frequency: temperature moves a deck's modes by several percent. */
    static final double HALF_WIDTH = 0.10;

    private ModalBands() {}

    /**
     * @param windows rows of {@code [3][length]} channel-major samples
     * @throws TuningDataException when the windows show no peak at all
     */
    static List<ModalFeatures.Band> find(float[][] windows, int length, double sampleRateHz) {
        double step = ModalFeatures.GRID_STEP_HZ;
        int from = (int) Math.ceil(MIN_HZ / step);
        int to = (int) Math.floor(sampleRateHz / 2 * MAX_NYQUIST_SHARE / step);
        int g = to - from + 1;
        double[] mean = meanPower(windows, length, sampleRateHz, from, g, step);
        List<Integer> peaks = new ArrayList<>();
        List<Integer> order = new ArrayList<>();
        for (int j = 1; j < g - 1; j++) {
            if (mean[j] >= mean[j - 1] && mean[j] > mean[j + 1]) {
                order.add(j);
            }
        }
        order.sort(Comparator.comparingDouble((Integer j) -> -mean[j]));
        for (int j : order) {
            double f = (from + j) * step;
            if (peaks.stream().allMatch(p -> Math.abs(Math.log(f / ((from + p) * step))) > MIN_SEPARATION)) {
                peaks.add(j);
            }
            if (peaks.size() == MODES) {
                break;
            }
        }
        if (peaks.isEmpty()) {
            throw new TuningDataException("site calibration: the " + windows.length + " windows' spectrum has no peak "
                    + "between " + MIN_HZ + " and " + to * step + " Hz");
        }
        double[] f = peaks.stream().mapToDouble(p -> (from + p) * step).sorted().toArray();
        List<ModalFeatures.Band> bands = new ArrayList<>();
        for (int k = 0; k < f.length; k++) {
            double low = f[k] * (1 - HALF_WIDTH);
            double high = f[k] * (1 + HALF_WIDTH);
            if (k > 0) {
                low = Math.max(low, Math.sqrt(f[k - 1] * f[k]));
            }
            if (k < f.length - 1) {
                high = Math.min(high, Math.sqrt(f[k] * f[k + 1]));
            }
            bands.add(new ModalFeatures.Band(Math.max(low, MIN_HZ), Math.min(high, to * step)));
        }
        return List.copyOf(bands);
    }

    /**
     * The band a proxy's shift is applied to for mode {@code k}: its feature band widened so that
     * the mode's leakage in a short window shifts with it, but not into a neighbour's band.
     */
    static ModalFeatures.Band proxyBand(List<ModalFeatures.Band> bands, int k) {
        ModalFeatures.Band band = bands.get(k);
        double low = band.lowHz() * (1 - 2 * HALF_WIDTH);
        double high = band.highHz() * (1 + 2 * HALF_WIDTH);
        if (k > 0) {
            low = Math.max(low, bands.get(k - 1).highHz());
        }
        if (k < bands.size() - 1) {
            high = Math.min(high, bands.get(k + 1).lowHz());
        }
        return new ModalFeatures.Band(Math.max(MIN_HZ / 2, low), high);
    }

    /** Mean over windows and axes of the Hann-windowed power at {@code g} grid frequencies from {@code from * step}. */
    private static double[] meanPower(float[][] windows, int length, double rate, int from, int g, double step) {
        double[] cos = new double[length * g];
        double[] sin = new double[length * g];
        double[] hann = new double[length];
        for (int t = 0; t < length; t++) {
            hann[t] = 0.5 - 0.5 * Math.cos(2 * Math.PI * t / (length - 1));
        }
        for (int j = 0; j < g; j++) {
            double w = 2 * Math.PI * (from + j) * step / rate;
            for (int t = 0; t < length; t++) {
                cos[j * length + t] = Math.cos(w * t) * hann[t];
                sin[j * length + t] = Math.sin(w * t) * hann[t];
            }
        }
        double[] mean = new double[g];
        double[] x = new double[length];
        for (float[] window : windows) {
            for (int c = 0; c < window.length / length; c++) {
                double dc = 0;
                for (int t = 0; t < length; t++) {
                    dc += window[c * length + t];
                }
                dc /= length;
                for (int t = 0; t < length; t++) {
                    x[t] = window[c * length + t] - dc;
                }
                for (int j = 0; j < g; j++) {
                    double re = 0;
                    double im = 0;
                    for (int t = 0; t < length; t++) {
                        re += x[t] * cos[j * length + t];
                        im += x[t] * sin[j * length + t];
                    }
                    mean[j] += re * re + im * im;
                }
            }
        }
        return mean;
    }
}
