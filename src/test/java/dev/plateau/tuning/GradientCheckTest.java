package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.HeadLayer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Back-propagated gradients against central finite differences on a small random head
 * (6 -> 5 -> ReLU -> 4 -> ReLU -> 3, batch of 4), for every weight and bias.
 *
 * <p>Tolerance: the forward pass is float, so a loss value carries a rounding error of a few
 * float ulps (~1e-7 relative); divided by the 2h = 2e-2 step that is up to ~5e-6. The truncation
 * error of a central difference is h^2/6 times a third derivative, ~1e-5 or less for these
 * smooth, small losses. Each check allows 2e-5 absolute plus 1e-4 relative; the worst error
 * observed is 1.5e-6. The step is the float difference actually applied, not h.
 */
class GradientCheckTest {
    private static final double H = 1e-2;
    private static final double ABS_TOL = 2e-5;
    private static final double REL_TOL = 1e-4;

    private final List<HeadLayer> layers = TestHeads.random(245, 6, 5, 4, 3);
    private final float[][] x = TestHeads.rows(246, 4, 6);
    private final int[] labels = {0, 2, 1, 2};
    private final float[][] targets = TestHeads.rows(13, 4, 3);

    @Test
    void reluInputs_testBatch_stayClearOfTheKink() {
        // Precondition of the checks below: a +-h step on one parameter must not move a ReLU
        // input across 0. Inputs are in (-1, 1) and weights below 1, so 4h is ample room.
        for (int cut : new int[] {1, 3}) {
            HeadNetwork partial = new HeadNetwork(layers.subList(0, cut));
            for (float[] row : x) {
                for (float z : partial.logits(row)) {
                    assertTrue(Math.abs(z) > 4 * H, "pre-activation " + z + " after " + cut + " layers");
                }
            }
        }
    }

    @Test
    void crossEntropy_outputWeights_matchCentralDifferences() {
        assertGradientsMatch(classification(), "dense2", true);
    }

    @Test
    void crossEntropy_outputBiases_matchCentralDifferences() {
        assertGradientsMatch(classification(), "dense2", false);
    }

    @Test
    void crossEntropy_weightsBehindOneRelu_matchCentralDifferences() {
        assertGradientsMatch(classification(), "dense1", true);
    }

    @Test
    void crossEntropy_biasesBehindOneRelu_matchCentralDifferences() {
        assertGradientsMatch(classification(), "dense1", false);
    }

    @Test
    void crossEntropy_weightsBehindTwoRelus_matchCentralDifferences() {
        assertGradientsMatch(classification(), "dense0", true);
    }

    @Test
    void crossEntropy_biasesBehindTwoRelus_matchCentralDifferences() {
        assertGradientsMatch(classification(), "dense0", false);
    }

    @Test
    void meanSquaredError_everyWeight_matchesCentralDifferences() {
        for (String layer : new String[] {"dense0", "dense1", "dense2"}) {
            assertGradientsMatch(regression(), layer, true);
        }
    }

    @Test
    void meanSquaredError_everyBias_matchesCentralDifferences() {
        for (String layer : new String[] {"dense0", "dense1", "dense2"}) {
            assertGradientsMatch(regression(), layer, false);
        }
    }

    @Test
    void backward_calledTwice_overwritesRatherThanAccumulates() {
        Samples s = classification();
        HeadNetwork net = new HeadNetwork(layers);
        float[] once = analytic(net, s).clone();
        float[] twice = analytic(net, s);
        for (int i = 0; i < once.length; i++) {
            assertEquals(once[i], twice[i], 0f, "parameter " + i);
        }
    }

    private Samples classification() {
        return Samples.classification(x, labels);
    }

    private Samples regression() {
        return Samples.regression(x, targets);
    }

    private void assertGradientsMatch(Samples samples, String layerName, boolean weights) {
        HeadNetwork net = new HeadNetwork(layers);
        float[] grads = analytic(net, samples).clone();
        int[] range = range(layerName, weights);
        float[] params = net.parameters();
        for (int i = range[0]; i < range[1]; i++) {
            float saved = params[i];
            float plus = (float) (saved + H);
            float minus = (float) (saved - H);
            params[i] = plus;
            double up = loss(net, samples);
            params[i] = minus;
            double down = loss(net, samples);
            params[i] = saved;
            double numeric = (up - down) / ((double) plus - minus);
            assertEquals(numeric, grads[i], ABS_TOL + REL_TOL * Math.abs(numeric),
                    layerName + (weights ? " weight " : " bias ") + (i - range[0]));
        }
    }

    /** {from, to} of a dense layer's weights or biases in the flat parameter array. */
    private int[] range(String name, boolean weights) {
        int offset = 0;
        for (HeadLayer l : layers) {
            if (l instanceof HeadLayer.Dense d) {
                int w = d.inputs() * d.outputs();
                if (d.name().equals(name)) {
                    return weights ? new int[] {offset, offset + w} : new int[] {offset + w, offset + w + d.outputs()};
                }
                offset += w + d.outputs();
            }
        }
        throw new AssertionError("no layer " + name);
    }

    private static float[] analytic(HeadNetwork net, Samples s) {
        Batch b = batch(net, s);
        float[] out = net.forward(s.data(), 0, b.n);
        Loss.of(s).compute(out, net.outputs(), b, b.dLogits);
        net.backward(b.dLogits, b.n);
        return net.gradients();
    }

    private static double loss(HeadNetwork net, Samples s) {
        Batch b = batch(net, s);
        return Loss.of(s).compute(net.forward(s.data(), 0, b.n), net.outputs(), b, null);
    }

    private static Batch batch(HeadNetwork net, Samples s) {
        Batch b = new Batch(s.size(), s.dim(), net.outputs(), s.isClassification());
        s.copyTargets(0, s.size(), b);
        return b;
    }
}
