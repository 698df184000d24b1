package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MemoryBudgetTest {

    @Test
    void estimate_smallHead_matchesHandCount() {
        // Dense 4 -> 3: 15 parameters. Adam (2 slots), batch 2, rehearsal 0.5; 10 train, 5 val, 4 anchors.
        HeadNetwork net = new HeadNetwork(TestHeads.random(1, 4, 3));
        TuningConfig c = TuningConfig.fromOverrides(Map.of("batch_size", "2", "rehearsal_ratio", "0.5"));
        MemoryBudget m = MemoryBudget.estimate(net, c, 10, 5, 4);
        assertEquals(19 * (4 + 3) * 4, m.embeddings());      // 532: rows x (embedding + targets) floats
        assertEquals(6 * 15 * 4, m.parameters());            // 360: weights, gradients, best, start, previous, transposed
        assertEquals(2 * 15 * 4, m.optimizerState());        // 120: m and v
        // batch x (x and input rows 2 x 4 + dLogits 3 + targets 3 + activations 3 + 2 deltas and a
        // row buffer of width 4) floats, plus epoch order (10 + 5 rehearsal) and anchor pool (4) ints: 232 + 76
        assertEquals(308, m.work());
        assertEquals(1320, m.total());
    }

    @Test
    void estimate_sgd_hasNoOptimizerState() {
        HeadNetwork net = new HeadNetwork(TestHeads.random(1, 4, 3));
        TuningConfig c = TuningConfig.fromOverrides(Map.of("optimizer", "sgd"));
        assertEquals(0, MemoryBudget.estimate(net, c, 10, 5, 0).optimizerState());
    }
}
