package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.plateau.model.HeadLayer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeadMetricsTest {
    private static final HeadNetwork IDENTITY = new HeadNetwork(
            List.of(new HeadLayer.Dense("fc", 2, 2, new float[] {1, 0, 0, 1}, new float[2])));

    @Test
    void accuracy_identityHead_countsArgmaxHits() {
        // argmax of (1,0), (0,1), (2,1), (1,3) is 0, 1, 0, 1; labels 0, 1, 1, 1 -> 3 of 4.
        float[][] x = {{1, 0}, {0, 1}, {2, 1}, {1, 3}};
        assertEquals(0.75, HeadMetrics.accuracy(IDENTITY, x, new int[] {0, 1, 1, 1}), 0);
    }

    @Test
    void meanLoss_equalLogits_isLogTwo() {
        Samples s = Samples.classification(new float[][] {{0, 0}, {3, 3}}, new int[] {0, 1});
        assertEquals(Math.log(2), HeadMetrics.meanLoss(IDENTITY, s), 1e-12);
    }

    @Test
    void evaluate_overflowingOutput_countsItNonFiniteAndWrong() {
        HeadNetwork huge = new HeadNetwork(
                List.of(new HeadLayer.Dense("fc", 1, 2, new float[] {3e38f, 0}, new float[2])));
        Samples s = Samples.classification(new float[][] {{10}, {-1e-30f}}, new int[] {0, 1});
        HeadMetrics.Evaluation e = HeadMetrics.evaluate(huge, s);
        assertEquals(1, e.nonFiniteOutputs());
        assertEquals(0.5, e.accuracy(), 0);
    }

    @Test
    void evaluate_moreRowsThanOneChunk_matchesOneByOne() {
        HeadNetwork net = new HeadNetwork(TestHeads.random(2, 6, 5, 4));
        Samples s = TestHeads.blobs(3, 600, 6, 4);
        double sum = 0;
        int right = 0;
        for (int i = 0; i < s.size(); i++) {
            float[] row = Arrays.copyOfRange(s.data(), i * 6, i * 6 + 6);
            float[] z = net.logits(row);
            double max = Math.max(Math.max(z[0], z[1]), Math.max(z[2], z[3]));
            double lse = max + Math.log(Math.exp(z[0] - max) + Math.exp(z[1] - max) + Math.exp(z[2] - max)
                    + Math.exp(z[3] - max));
            sum += lse - z[s.label(i)];
            int arg = 0;
            for (int c = 1; c < 4; c++) {
                arg = z[c] > z[arg] ? c : arg;
            }
            right += arg == s.label(i) ? 1 : 0;
        }
        HeadMetrics.Evaluation e = HeadMetrics.evaluate(net, s);
        assertEquals(sum / 600, e.meanLoss(), 1e-6); // batches sum in float
        assertEquals(right / 600.0, e.accuracy(), 0);
    }

    @Test
    void evaluate_labelBeyondOutputs_throws() {
        Samples s = Samples.classification(new float[][] {{0, 0}}, new int[] {2});
        assertThrows(IllegalArgumentException.class, () -> HeadMetrics.evaluate(IDENTITY, s));
    }
}
