package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.tuning.TuneReport.SiteReport.Alarm;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The deck-level threshold holds its block false-alarm rate on minutes it never saw. */
class BlockAlarmTest {
    @Test
    void threshold_minutesOfOneLevelEach_thresholdHoldsItsBlockFalseAlarmRateOnUnseenMinutes() {
        // Six held-out minutes (72 windows) whose windows share a level per minute, as a deck's share
        // their weather; then a minute nobody saw. Over 4,000 such calibrations the new minute's mean
        // is over the threshold at the stated rate: a bound from single windows would be crossed by
        // about a third of them (sd of a block mean 1.0, not 1/sqrt(12)).
        Random random = new Random(3);
        int trials = 4_000;
        int crossed = 0;
        double effects = 0;
        for (int trial = 0; trial < trials; trial++) {
            double[] heldOut = new double[72];
            double[] levels = new double[6];
            for (int t = 0; t < heldOut.length; t++) {
                levels[t / 12] = t % 12 == 0 ? random.nextGaussian() : levels[t / 12];
                heldOut[t] = levels[t / 12] + 0.2 * random.nextGaussian();
            }
            Alarm alarm = BlockAlarm.threshold(heldOut);
            assertEquals(6, alarm.blocks());
            effects += alarm.designEffect() / trials;
            double next = random.nextGaussian();
            double sum = 0;
            for (int k = 0; k < 12; k++) {
                sum += next + 0.2 * random.nextGaussian();
            }
            crossed += sum / 12 > alarm.threshold() ? 1 : 0;
        }
        double rate = (double) crossed / trials;
        // 0.01 +- 3 binomial standard deviations (0.0016 each).
        assertTrue(rate > 0.005 && rate < 0.015, "block false alarms on unseen minutes: " + rate);
        assertTrue(effects > 5, "design effect of minutes of one level: " + effects);
    }

    @Test
    void threshold_independentWindowsOrTooFewForTwoBlocks_spreadOfSingleWindows() {
        Random random = new Random(5);
        double[] independent = new double[12_000];
        for (int t = 0; t < independent.length; t++) {
            independent[t] = random.nextGaussian();
        }
        Alarm many = BlockAlarm.threshold(independent);
        assertEquals(1000, many.blocks());
        assertEquals(1.0, many.designEffect(), 0.1);
        // 2.33 standard deviations of a 12-window mean of unit windows.
        assertEquals(2.33 / Math.sqrt(12), many.threshold(), 0.05);
        Alarm few = BlockAlarm.threshold(Arrays.copyOf(independent, 20));
        assertEquals(1, few.blocks());
        assertEquals(1.0, few.designEffect());
        assertEquals(20, few.healthyWindows());
    }
}
