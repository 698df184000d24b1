package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.HeadLayer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeadNetworkTest {

    /** 2 -> 2 dense, ReLU, 2 -> 1 dense, small enough to work out by hand. */
    private static List<HeadLayer> tiny() {
        return List.of(
                new HeadLayer.Dense("fc1", 2, 2, new float[] {1, -1, 2, 0.5f}, new float[] {0, -3}),
                new HeadLayer.Relu("relu", 2),
                new HeadLayer.Dense("fc2", 2, 1, new float[] {1, 2}, new float[] {0.5f}));
    }

    @Test
    void logits_tinyHead_matchesHandComputation() {
        // fc1: [1*3 - 1*1 + 0, 2*3 + 0.5*1 - 3] = [2, 3.5]; relu keeps both; fc2: 2 + 7 + 0.5 = 9.5.
        // With x = (1, 3): fc1 = [-2, 2 + 1.5 - 3 = 0.5]; relu: [0, 0.5]; fc2: 0 + 1 + 0.5 = 1.5.
        HeadNetwork net = new HeadNetwork(tiny());
        assertArrayEquals(new float[] {9.5f}, net.logits(new float[] {3, 1}), 1e-6f);
        assertArrayEquals(new float[] {1.5f}, net.logits(new float[] {1, 3}), 1e-6f);
    }

    @Test
    void layers_untrained_roundTripsNamesOrderAndWeights() {
        assertEquals(tiny(), new HeadNetwork(tiny()).layers());
    }

    @Test
    void layers_afterWeightChange_exportsCurrentWeights() {
        HeadNetwork net = new HeadNetwork(tiny());
        net.parameters()[0] = 7;
        HeadLayer.Dense fc1 = (HeadLayer.Dense) net.layers().get(0);
        assertEquals(7f, fc1.weight()[0], 0f);
    }

    @Test
    void constructor_copiesWeights_laterChangesDoNotLeakBack() {
        List<HeadLayer> given = tiny();
        HeadNetwork net = new HeadNetwork(given);
        net.parameters()[0] = 7;
        assertEquals(1f, ((HeadLayer.Dense) given.get(0)).weight()[0], 0f);
    }

    @Test
    void parameterCount_twoDenseLayers_countsWeightsAndBiases() {
        // 2x2 + 2 + 2x1 + 1
        assertEquals(9, new HeadNetwork(tiny()).parameterCount());
    }

    @Test
    void shape_tinyHead_reportsInputsAndOutputs() {
        HeadNetwork net = new HeadNetwork(tiny());
        assertEquals(2, net.inputs());
        assertEquals(1, net.outputs());
    }

    @Test
    void constructor_mismatchedWidths_namesBothLayers() {
        List<HeadLayer> bad = List.of(new HeadLayer.Dense("fc1", 2, 3, new float[6], new float[3]),
                new HeadLayer.Dense("fc2", 2, 1, new float[2], new float[1]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new HeadNetwork(bad));
        assertTrue(e.getMessage().contains("fc1") && e.getMessage().contains("fc2"), e.getMessage());
    }

    @Test
    void constructor_noDenseLayer_throws() {
        assertThrows(IllegalArgumentException.class, () -> new HeadNetwork(List.of(new HeadLayer.Relu("r", 3))));
    }

    @Test
    void constructor_nonFiniteWeight_throws() {
        List<HeadLayer> bad = List.of(new HeadLayer.Dense("fc", 1, 1, new float[] {Float.NaN}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> new HeadNetwork(bad));
    }

    @Test
    void logits_wrongEmbeddingWidth_throws() {
        HeadNetwork net = new HeadNetwork(tiny());
        assertThrows(IllegalArgumentException.class, () -> net.logits(new float[3]));
    }

    @Test
    void logits_batch_matchesOneSampleAtATime() {
        HeadNetwork net = new HeadNetwork(TestHeads.random(3, 5, 4, 3));
        float[][] rows = TestHeads.rows(4, 6, 5);
        float[] flat = new float[30];
        for (int r = 0; r < 6; r++) {
            System.arraycopy(rows[r], 0, flat, r * 5, 5);
        }
        float[] batch = net.logits(flat, 6);
        for (int r = 0; r < 6; r++) {
            // One row sums in double, a batch in float (vectorised): equal to float rounding.
            assertArrayEquals(net.logits(rows[r]), Arrays.copyOfRange(batch, r * 3, r * 3 + 3), 1e-6f);
        }
    }

    @Test
    void forward_sameBatchSizeTwice_reusesWorkBuffers() {
        HeadNetwork net = new HeadNetwork(TestHeads.random(3, 5, 4, 3));
        float[] x = new float[9 * 5];
        float[] first = net.forward(x, 0, 4);
        float[] second = net.forward(x, 0, 4);
        assertEquals(first, second);
        assertNotSame(first, net.forward(x, 0, 9));
    }
}
