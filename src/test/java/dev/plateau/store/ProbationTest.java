package dev.plateau.store;

import dev.plateau.testing.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Probation on a hand-moved clock: a version whose confidence collapses goes back, a good one is kept. */
class ProbationTest {
    private static final Figures BASELINE = new Figures(500, 0.90, 0.35, new double[] {0.4, 0.3, 0.3}, 0.0, 2000);
    private static final ProbationPolicy POLICY =
            new ProbationPolicy(Duration.ofMinutes(10), 0, 20, 0.15, 0.3, 0.3, 0.05, 3.0);

    @TempDir
    java.nio.file.Path tmp;

    private final ManualClock clock = new ManualClock();
    private final List<Probation.Decision> decisions = new ArrayList<>();
    private ModelStore store;

    @BeforeEach
    void setUp() throws Exception {
        store = new ModelStore(tmp.resolve("state"), clock, 3, null);
        store.open(Bundles.MODEL, Bundles.bundle(tmp.resolve("shipped"), 1));
        Bundles.write(store, 2);
        store.recordFigures(Bundles.MODEL, 0, BASELINE);
    }

    private Probation start() {
        ModelStore.Activation a = store.activate(Bundles.MODEL, 2, "fine-tune accepted");
        return new Probation(store, a, store.figures(Bundles.MODEL, 0).orElseThrow(), POLICY, clock, decisions::add);
    }

    /** Class {@code c} with probability {@code p}, the rest spread evenly over the other two. */
    private static float[] probs(int c, float p) {
        float[] out = {(1 - p) / 2, (1 - p) / 2, (1 - p) / 2};
        out[c] = p;
        return out;
    }

    @Test
    void collapsingConfidence_rollsBackAtOnceWithReason() {
        Probation probation = start();
        Probation.State state = Probation.State.RUNNING;
        int fed = 0;
        while (state == Probation.State.RUNNING && fed < 100) {
            clock.advance(Duration.ofSeconds(1));
            state = probation.record(probs(fed % 3, 0.40f), 2100);
            fed++;
        }
        assertEquals(Probation.State.ROLLED_BACK, state);
        assertEquals(POLICY.minSamples(), fed, "decided at the first comparison");
        assertEquals(0, store.active(Bundles.MODEL));
        Map<String, Object> last = store.journalEntries(Bundles.MODEL).get(store.journalEntries(Bundles.MODEL).size() - 1);
        assertEquals("rollback", last.get("event"));
        assertTrue(((String) last.get("reason")).contains("mean top-1 confidence 0.4000 fell"), last.toString());
        assertEquals(1, decisions.size());
    }

    @Test
    void healthyVersion_survivingTheWindow_isKeptWithItsFigures() {
        Probation probation = start();
        for (int i = 0; i < 300; i++) {
            clock.advance(Duration.ofSeconds(1));
            assertEquals(Probation.State.RUNNING, probation.record(probs(i % 10 < 4 ? 0 : i % 2 + 1, 0.92f), 1900));
        }
        clock.advance(Duration.ofMinutes(5));
        assertEquals(Probation.State.KEPT, probation.tick());
        assertEquals(2, store.active(Bundles.MODEL));
        assertTrue(store.kept(Bundles.MODEL).contains(2));
        assertEquals(300, store.figures(Bundles.MODEL, 2).orElseThrow().samples());
        assertEquals(Probation.State.KEPT, decisions.get(0).state());
    }

    @Test
    void shiftedClassDistribution_rollsBack() {
        Probation probation = start();
        Probation.State state = Probation.State.RUNNING;
        for (int i = 0; i < 40 && state == Probation.State.RUNNING; i++) {
            state = probation.record(probs(2, 0.92f), 1900);
        }
        assertEquals(Probation.State.ROLLED_BACK, state);
        assertTrue(decisions.get(0).reason().contains("total variation"), decisions.get(0).reason());
    }

    @Test
    void errorRate_aboveThreshold_rollsBack() {
        Probation probation = start();
        for (int i = 0; i < 18; i++) {
            probation.record(probs(i % 3, 0.92f), 1900);
        }
        probation.recordError();
        assertEquals(Probation.State.ROLLED_BACK, probation.recordError());
        assertTrue(decisions.get(0).reason().contains("error rate"), decisions.get(0).reason());
    }

    @Test
    void activationByCommandDuringProbation_supersedesWithoutRollingBack() {
        Probation probation = start();
        store.rollback(Bundles.MODEL, 0, -1, "by command");
        Bundles.write(store, 3);
        store.activate(Bundles.MODEL, 3, "by command");
        Probation.State state = Probation.State.RUNNING;
        for (int i = 0; i < 40 && state == Probation.State.RUNNING; i++) {
            state = probation.record(probs(i % 3, 0.40f), 2100);
        }
        assertEquals(Probation.State.SUPERSEDED, state);
        assertEquals(3, store.active(Bundles.MODEL));
    }

    @Test
    void policy_withoutAnyWindow_isRefusedWithTheValuesSeen() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ProbationPolicy(Duration.ZERO, 0, 20, 0.15, 0.3, 0.3, 0.05, 3.0));
        assertTrue(e.getMessage().contains("0 s and 0 samples"), e.getMessage());
    }
}
