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
        assertEquals(4 * 15 * 4, m.parameters());            // 240: weights, gradients, best, start
        assertEquals(2 * 15 * 4, m.optimizerState());        // 120: m and v
        // batch x (x 4 + dLogits 3 + targets 3 + activations 3 + 2 deltas of width 4) floats,
        // plus epoch order (10 + 5 rehearsal) and anchor pool (4) ints: 168 + 76
        assertEquals(244, m.work());
        assertEquals(1136, m.total());
    }

    @Test
    void estimate_sgd_hasNoOptimizerState() {
        HeadNetwork net = new HeadNetwork(TestHeads.random(1, 4, 3));
        TuningConfig c = TuningConfig.fromOverrides(Map.of("optimizer", "sgd"));
        assertEquals(0, MemoryBudget.estimate(net, c, 10, 5, 0).optimizerState());
    }
}
