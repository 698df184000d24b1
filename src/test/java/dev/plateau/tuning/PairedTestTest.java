package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PairedTestTest {

    @Test
    void signTestP_smallCounts_matchesTheBinomialByHand() {
        assertEquals(1.0 / 32, new PairedTest(100, 5, 0).signTestP(), 1e-12);
        assertEquals(42.0 / 64, new PairedTest(100, 3, 3).signTestP(), 1e-12);
        assertEquals(1.0, new PairedTest(100, 0, 0).signTestP(), 0);
        assertEquals(1.0, new PairedTest(100, 0, 7).signTestP(), 1e-12);
    }

    @Test
    void score_atZeroDifference_isMcNemarsStatistic() {
        PairedTest t = new PairedTest(200, 30, 12);
        assertEquals((30 - 12) / Math.sqrt(42), t.score(0), 1e-9);
    }

    @Test
    void bounds_zeroDiscordantPairs_stayOpenByTheSampleSize() {
        // With no discordant pair the score interval's bound solves x / (1 - x) = z^2 / n.
        double z = Normal.quantile(0.95);
        double expected = z * z / (150 + z * z);
        PairedTest t = new PairedTest(150, 0, 0);
        assertEquals(expected, t.upperBound(0.95), 1e-6);
        assertEquals(-expected, t.lowerBound(0.95), 1e-6);
    }

    @Test
    void bounds_anyCounts_encloseTheEstimate() {
        for (int[] c : new int[][] {{100, 41, 3}, {100, 12, 11}, {500, 9, 25}, {20, 20, 0}, {20, 0, 20}}) {
            PairedTest t = new PairedTest(c[0], c[1], c[2]);
            assertTrue(t.lowerBound(0.95) <= t.difference() + 1e-12, t.toString());
            assertTrue(t.upperBound(0.95) >= t.difference() - 1e-12, t.toString());
            assertTrue(t.lowerBound(0.99) <= t.lowerBound(0.95), t.toString());
        }
    }

    @Test
    void lowerBound_simulatedPairs_coversTheTrueDifferenceAtItsConfidence() {
        // 2,000 simulated paired evaluations of 100 samples each, true difference +0.05.
        SplittableRandom random = new SplittableRandom(7);
        int covered = 0;
        int runs = 2000;
        for (int k = 0; k < runs; k++) {
            covered += simulate(random, 0.10, 0.05).lowerBound(0.95) <= 0.05 ? 1 : 0;
        }
        // Nominal 0.95; the binomial error of 2,000 runs is about 0.005.
        assertTrue(covered >= 0.93 * runs, covered + " of " + runs + " covered");
    }

    @Test
    void signTest_randomLabelsSimulated_falselySignificantAtMostAlpha() {
        // A candidate that is no better: each discordant pair is as likely to go either way.
        SplittableRandom random = new SplittableRandom(11);
        int significant = 0;
        int runs = 2000;
        for (int k = 0; k < runs; k++) {
            significant += simulate(random, 0.4, 0.4).signTestP() <= 0.05 ? 1 : 0;
        }
        assertTrue(significant <= 0.06 * runs, significant + " of " + runs + " significant");
    }

    /** 100 paired samples, each improved with probability {@code up}, worsened with {@code down}. */
    private static PairedTest simulate(SplittableRandom random, double up, double down) {
        int improved = 0;
        int worsened = 0;
        for (int i = 0; i < 100; i++) {
            double u = random.nextDouble();
            improved += u < up ? 1 : 0;
            worsened += u >= up && u < up + down ? 1 : 0;
        }
        return new PairedTest(100, improved, worsened);
    }

    @Test
    void nonInferiorityP_agreesWithTheUpperBound() {
        PairedTest kept = new PairedTest(500, 5, 9);   // a loss of 0.008
        assertTrue(-kept.lowerBound(0.95) < 0.04);
        assertTrue(kept.nonInferiorityP(0.04) < 0.05);
        PairedTest unsure = new PairedTest(60, 0, 1);  // one lost on a small guard
        assertTrue(-unsure.lowerBound(0.95) >= 0.04);
        assertTrue(unsure.nonInferiorityP(0.04) >= 0.05);
    }

    @Test
    void normal_knownQuantiles_matchTables() {
        assertEquals(1.6448536, Normal.quantile(0.95), 1e-6);
        assertEquals(1.9599640, Normal.quantile(0.975), 1e-6);
        assertEquals(-2.3263479, Normal.quantile(0.01), 1e-6);
        assertEquals(0.975, Normal.cdf(1.959964), 1e-6);
    }

    @Test
    void clusteredSignP_gainsInFewMinutes_notProvenThoughWindowsCountedSinglyWouldBe() {
        // 48 windows in 4 minutes of 12; the candidate fixes 10 windows of each of the first three
        // minutes and none of the fourth. Counted singly: 30 improved, 0 worsened, p ~ 1e-9. By
        // minute: 3 minutes with a nonzero balance, all positive: p = 1/8.
        boolean[] before = new boolean[48];
        boolean[] after = new boolean[48];
        int[] minute = new int[48];
        for (int i = 0; i < 48; i++) {
            minute[i] = i / 12;
            before[i] = i % 12 >= 10;
            after[i] = minute[i] < 3 || before[i];
        }
        assertTrue(PairedTest.of(before, after).signTestP() < 1e-8);
        assertEquals(0.125, PairedTest.clusteredSignP(before, after, minute), 1e-12);
        // The gain 30/48 = 0.625 is certain counted singly; by minute (10, 10, 10, 0 of 12) its lower
        // bound is gain - t(3) * sqrt(4/3 * (3 * 2.5^2 + 7.5^2)) / 48 = 0.625 - 2.353 * 0.1804.
        assertTrue(PairedTest.of(before, after).lowerBound(0.95) > 0.45);
        assertEquals(0.625 - 2.353 * Math.sqrt(4.0 / 3 * (3 * 2.5 * 2.5 + 7.5 * 7.5)) / 48,
                PairedTest.clusteredLowerBound(before, after, minute, 0.95), 0.01);
    }

    @Test
    void clusteredSignP_independentSamplesAsTheirOwnClusters_isTheSignTest() {
        java.util.Random random = new java.util.Random(8);
        boolean[] before = new boolean[200];
        boolean[] after = new boolean[200];
        int[] own = new int[200];
        for (int i = 0; i < 200; i++) {
            before[i] = random.nextDouble() < 0.7;
            after[i] = random.nextDouble() < 0.75;
            own[i] = i;
        }
        PairedTest t = PairedTest.of(before, after);
        assertTrue(t.discordant() > PairedTest.EXACT_CLUSTERS, "the normal approximation is what is compared");
        // Continuity aside, the normal approximation of the exact sign test.
        assertEquals(t.signTestP(), PairedTest.clusteredSignP(before, after, own), 0.05);
        // Exact with few clusters: the sign test on single discordant pairs, ties to "at least".
        boolean[] b = {false, false, false, true, true};
        boolean[] a = {true, true, true, true, true};
        assertEquals(new PairedTest(5, 3, 0).signTestP(), PairedTest.clusteredSignP(b, a, new int[] {0, 1, 2, 3, 4}),
                1e-12);
    }
}
