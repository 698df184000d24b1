package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void percentile_uniformLatencies_withinBucketResolution() {
        LatencyHistogram h = new LatencyHistogram();
        for (int us = 1; us <= 10_000; us++) {
            h.record(us);
        }
        assertEquals(10_000, h.count());
        for (double q : new double[] {0.5, 0.9, 0.99}) {
            double truth = q * 10_000;
            long got = h.percentile(q);
            assertTrue(got >= truth && got <= truth * 1.13, "q=" + q + " got " + got + " truth " + truth);
        }
    }

    @Test
    void percentile_empty_isZero() {
        assertEquals(0, new LatencyHistogram().percentile(0.99));
    }

    @Test
    void bucket_upperBoundCoversEveryValue() {
        Random random = new Random(1);
        for (int i = 0; i < 100_000; i++) {
            long v = 1 + (long) Math.floor(Math.exp(random.nextDouble() * Math.log(1e9)));
            long upper = LatencyHistogram.upperBound(LatencyHistogram.bucket(v));
            assertTrue(upper >= v && upper <= v * 1.13 + 1, v + " -> " + upper);
        }
    }

    @Test
    void rocAuc_knownRanking_matchesHandCount() {
        // Positives 0.9, 0.4; negatives 0.5, 0.1: 3 of 4 pairs ranked right.
        List<double[]> scored = new ArrayList<>(List.of(
                new double[] {0.9, 1}, new double[] {0.4, 1}, new double[] {0.5, 0}, new double[] {0.1, 0}));
        assertEquals(0.75, Evaluation.rocAuc(scored), 1e-12);
        // A tied negative at 0.4 counts half: 4.5 of 6 pairs.
        scored.add(new double[] {0.4, 0});
        assertEquals(4.5 / 6.0, Evaluation.rocAuc(scored), 1e-12);
    }
}
