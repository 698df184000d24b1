package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.inference.GraphRunner;
import dev.plateau.model.ModalFeatures;
import dev.plateau.model.ModelBundle;
import dev.plateau.model.NoveltyGraph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The modal front end and the synthetic damage on windows whose physics is known: a decaying
 * sinusoid at a given frequency, in given axes, with an offset and gravity. Run through ONNX
 * Runtime on the shipped bridge graph, as calibration runs it.
 */
class ModalPhysicsTest {
    private static final Path BRIDGE = Path.of("models/bridge-vibration");
    private static final int LENGTH = 256;
    private static final double RATE = 50.0;
    private static final List<ModalFeatures.Band> BANDS = List.of(new ModalFeatures.Band(2.5, 3.5),
            new ModalFeatures.Band(6.0, 8.0));

    /** {@code amplitude[c]} of a 3.1 Hz and a 7.0 Hz mode per axis, plus {@code offset[c]}. */
    private static float[] window(double f1, double[] first, double[] second, double[] offset) {
        float[] w = new float[3 * LENGTH];
        for (int c = 0; c < 3; c++) {
            for (int t = 0; t < LENGTH; t++) {
                double s = t / RATE;
                w[c * LENGTH + t] = (float) (offset[c] + first[c] * Math.exp(-0.1 * s) * Math.sin(2 * Math.PI * f1 * s)
                        + second[c] * Math.exp(-0.2 * s) * Math.sin(2 * Math.PI * 7.0 * s + 0.3));
            }
        }
        return w;
    }

    private static float[] features(float[] window) throws Exception {
        ModelBundle bundle = ModelBundle.open(BRIDGE);
        NoveltyGraph.Modal modal = new NoveltyGraph.Modal("window", LENGTH, RATE, BANDS);
        try (GraphRunner runner = GraphRunner.open(bundle.manifest(), modal.exposedIn(Files.readAllBytes(
                bundle.modelFile())), "modal features")) {
            return runner.run(window, 1, ModalFeatures.OUTPUT);
        }
    }

    @Test
    void features_knownModes_giveTheirFrequenciesAndAxes() throws Exception {
        float[] f = features(window(3.1, new double[] {0, 0, 0.05}, new double[] {0, 0.03, 0}, new double[] {0, 0, 9.81}));

        assertEquals(ModalFeatures.width(2), f.length);
        // [log f1, log f2, share x (2), share y (2), share z (2)]
        assertEquals(3.1, Math.exp(f[0]), 0.03, "first mode's frequency");
        assertEquals(7.0, Math.exp(f[1]), 0.07, "second mode's frequency");
        assertTrue(f[6] > Math.log(0.99), "the first mode is in az: share " + Math.exp(f[6]));
        assertTrue(f[5] > Math.log(0.99), "the second mode is in ay: share " + Math.exp(f[5]));
        assertTrue(f[2] < Math.log(0.01) && f[4] < Math.log(0.01), "nothing of the first mode in ax or ay");
    }

    @Test
    void features_offsetGravityAndSign_changeNothing() throws Exception {
        double[] first = {0.01, 0.02, 0.05};
        double[] second = {0.0, 0.03, 0.01};
        float[] plain = features(window(3.1, first, second, new double[] {0, 0, 0}));
        float[] mounted = features(window(3.1, first, second, new double[] {0.3, -0.2, 9.81}));
        float[] flipped = features(window(3.1, new double[] {-0.01, -0.02, 0.05}, new double[] {0.0, -0.03, 0.01},
                new double[] {0, 0, 0}));
        for (int i = 0; i < plain.length; i++) {
            assertEquals(plain[i], mounted[i], 1e-3, "feature " + i + " with DC offsets and gravity");
            assertEquals(plain[i], flipped[i], 1e-3, "feature " + i + " with ax and ay mounted the other way");
        }
    }

    @Test
    void proxy_slowsOnlyItsBand() throws Exception {
        float[] healthy = window(3.1, new double[] {0, 0, 0.05}, new double[] {0, 0.03, 0}, new double[] {0, 0, 9.81});
        ModalFeatures.Band first = ModalBands.proxyBand(BANDS, 0);
        float[] proxy = Proxies.of(healthy, LENGTH, RATE, first, 0.04);

        float[] before = features(healthy);
        float[] after = features(proxy);
        double shift = Math.exp(after[0] - before[0]) - 1;
        assertEquals(-0.04, shift, 0.01, "the first mode slowed by 4 %: measured " + shift);
        assertEquals(before[1], after[1], 2e-3, "the second mode as it was");
    }
}
