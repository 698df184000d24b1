package dev.plateau.tuning;

import dev.plateau.model.HeadLayer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Small seeded heads and data for the tuning tests. */
final class TestHeads {
    private TestHeads() {}

    /** Dense layers of the given widths with ReLU between them, weights uniform in +-scale/sqrt(in). */
    static List<HeadLayer> random(long seed, int... widths) {
        SplittableRandom r = new SplittableRandom(seed);
        List<HeadLayer> layers = new ArrayList<>();
        for (int l = 0; l + 1 < widths.length; l++) {
            int in = widths[l];
            int out = widths[l + 1];
            double scale = 1.0 / Math.sqrt(in);
            float[] w = new float[in * out];
            float[] b = new float[out];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextDouble(-1, 1) * scale);
            }
            for (int i = 0; i < out; i++) {
                b[i] = (float) r.nextDouble(-0.1, 0.1);
            }
            layers.add(new HeadLayer.Dense("dense" + l, in, out, w, b));
            if (l + 2 < widths.length) {
                layers.add(new HeadLayer.Relu("relu" + l, out));
            }
        }
        return layers;
    }

    static float[][] rows(long seed, int n, int dim) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] x = new float[n][dim];
        for (float[] row : x) {
            for (int i = 0; i < dim; i++) {
                row[i] = (float) r.nextDouble(-1, 1);
            }
        }
        return x;
    }

    /**
     * {@code classes} Gaussian blobs in {@code dim} dimensions, centres on distinct axes at
     * distance 3, spread 0.5: linearly separable with overwhelming probability.
     */
    static Samples blobs(long seed, int n, int dim, int classes) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] x = new float[n][dim];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % classes;
            for (int d = 0; d < dim; d++) {
                x[i][d] = (float) (gaussian(r) * 0.5 + (d == y[i] ? 3 : 0));
            }
        }
        return Samples.classification(x, y);
    }

    static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
