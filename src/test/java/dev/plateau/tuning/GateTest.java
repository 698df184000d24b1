package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.tuning.TuneReport.GateDecision;
import dev.plateau.tuning.TuneReport.Verdict;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The gate's decisions on paired answers built by hand: what each verdict needs and says. */
class GateTest {
    private static final List<String> LABELS = List.of("a", "b");
    private static final TuningConfig DEFAULTS = TuningConfig.defaults();

    /** n samples (labels alternate); {@code rightBoth} right before and after, then {@code gained}, then {@code lost}. */
    private static Scored[] pair(int n, int rightBoth, int gained, int lost) {
        boolean[] before = new boolean[n];
        boolean[] after = new boolean[n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            boolean both = i < rightBoth;
            boolean gain = i >= rightBoth && i < rightBoth + gained;
            boolean loss = i >= rightBoth + gained && i < rightBoth + gained + lost;
            before[i] = both || loss;
            after[i] = both || gain;
        }
        return new Scored[] {new Scored(n, 1, before, labels, 0), new Scored(n, 1, after, labels, 0)};
    }

    private static GateDecision decide(Scored[] val, Scored[] guard, TuningConfig config) {
        return Gate.decide(val[0], val[1], guard == null ? null : guard[0], guard == null ? null : guard[1], LABELS,
                -1, config);
    }

    @Test
    void decide_noiseSizedGain_notShownBetterWithTheFigures() {
        GateDecision d = decide(pair(100, 10, 12, 9), pair(500, 470, 2, 2), DEFAULTS);
        assertEquals(Verdict.CANNOT_TELL, d.verdict());
        assertTrue(d.reason().contains("gain +0.030 on 100 validation samples (12 improved, 9 worsened) is not "
                + "significant"), d.reason());
        assertEquals(12, d.better().gained());
        assertEquals(9, d.better().lost());
        assertTrue(d.better().pValue() > 0.05);
    }

    @Test
    void decide_noGain_notBetter() {
        GateDecision d = decide(pair(100, 10, 5, 6), pair(500, 470, 2, 2), DEFAULTS);
        assertEquals(Verdict.NOT_BETTER, d.verdict());
        assertTrue(d.reason().startsWith("not shown to be better: gain -0.010"), d.reason());
    }

    @Test
    void decide_largeGainAndKeptGuard_acceptedWithBounds() {
        GateDecision d = decide(pair(100, 20, 41, 3), pair(500, 470, 4, 5), DEFAULTS);
        assertEquals(Verdict.ACCEPTED, d.verdict(), d.reason());
        assertTrue(d.better().lowerBound() > 0.25, "lower bound " + d.better().lowerBound());
        assertTrue(d.kept().upperBound() < 0.04, "forgetting bound " + d.kept().upperBound());
        assertTrue(d.reason().contains("right on 41 the current model gets wrong and wrong on 3"), d.reason());
    }

    @Test
    void decide_guardLosesFivePercent_forgotWithTheFigures() {
        GateDecision d = decide(pair(100, 20, 41, 3), pair(500, 440, 5, 30), DEFAULTS);
        assertEquals(Verdict.FORGOT, d.verdict());
        assertTrue(d.reason().contains("a loss of 0.050 (30 lost, 5 gained) above max_forgetting 0.040"), d.reason());
    }

    @Test
    void decide_smallGuardOneLost_cannotTellWhetherItForgot() {
        GateDecision d = decide(pair(100, 20, 41, 3), pair(40, 35, 0, 1), DEFAULTS);
        assertEquals(Verdict.CANNOT_TELL, d.verdict());
        assertTrue(d.reason().startsWith("cannot tell with this little data whether it forgot"), d.reason());
        assertFalse(d.accepted());
    }

    @Test
    void decide_oneClassLosesAThird_forgotThatClass() {
        // Class "a" (even indices) loses 40 of its 250: a loss of 0.16 overall is what a collapse looks like
        // from afar; max_forgetting raised so only the class bound can refuse.
        boolean[] before = new boolean[500];
        boolean[] after = new boolean[500];
        int[] labels = new int[500];
        for (int i = 0; i < 500; i++) {
            labels[i] = i % 2;
            before[i] = true;
            after[i] = !(i % 2 == 0 && i < 200);
        }
        TuningConfig loose = TuningConfig.fromOverrides(Map.of("max_forgetting", "0.5"));
        GateDecision d = Gate.decide(pair(100, 20, 41, 3)[0], pair(100, 20, 41, 3)[1],
                new Scored(500, 1, before, labels, 0), new Scored(500, 1, after, labels, 0), LABELS, -1, loose);
        assertEquals(Verdict.FORGOT, d.verdict());
        assertTrue(d.reason().startsWith("forgot class 'a': its anchor accuracy fell 1.000 -> 0.600"), d.reason());
        assertTrue(d.perClass().get(0).collapsed());
        assertFalse(d.perClass().get(1).collapsed());
    }

    @Test
    void decide_gainOnlyFromLabelFrequencies_notBetterThanTheConstantAnswer() {
        // 100 samples, 30 of label 1. The current model gets 10 right; the candidate answers label 1
        // on almost all: 28 right, a significant gain over the current model, but no better than
        // always answering label 1.
        boolean[] before = new boolean[100];
        boolean[] after = new boolean[100];
        int[] labels = new int[100];
        for (int i = 0; i < 100; i++) {
            labels[i] = i < 30 ? 1 : 0;
            before[i] = i >= 90;
            after[i] = i < 28;
        }
        GateDecision d = Gate.decide(new Scored(100, 1, before, labels, 0), new Scored(100, 1, after, labels, 0),
                null, null, LABELS, 1, DEFAULTS);
        assertTrue(d.better().pValue() < 0.05, "significant over the current model");
        assertEquals(Verdict.NOT_BETTER, d.verdict());
        assertTrue(d.reason().startsWith("not shown to be better than always answering 'b'"), d.reason());
    }

    @Test
    void decide_nonFiniteOutputs_refused() {
        Scored[] val = pair(100, 20, 41, 3);
        Scored broken = new Scored(100, 1, val[1].correct(), val[1].labels(), 2);
        GateDecision d = Gate.decide(val[0], broken, null, null, LABELS, -1, DEFAULTS);
        assertEquals(Verdict.NON_FINITE, d.verdict());
    }
}
