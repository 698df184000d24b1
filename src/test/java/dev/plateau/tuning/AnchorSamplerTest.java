package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AnchorSamplerTest {

    @Test
    void sample_fewerThanAnchors_drawsDistinctAnchorsOffsetByBase() {
        int[] dst = new int[7];
        new AnchorSampler(10, new SplittableRandom(1)).sample(5, dst, 2, 100);
        int[] drawn = Arrays.copyOfRange(dst, 2, 7);
        assertEquals(5, Arrays.stream(drawn).distinct().count());
        assertTrue(Arrays.stream(drawn).allMatch(i -> i >= 100 && i < 110), Arrays.toString(drawn));
    }

    @Test
    void sample_moreThanAnchors_usesEveryAnchorEvenly() {
        // k = 10 from 4 anchors: two full passes plus 2 distinct extras -> each 2 or 3 times.
        int[] dst = new int[10];
        new AnchorSampler(4, new SplittableRandom(1)).sample(10, dst, 0, 0);
        int[] counts = new int[4];
        for (int i : dst) {
            counts[i]++;
        }
        assertTrue(Arrays.stream(counts).allMatch(c -> c == 2 || c == 3), Arrays.toString(counts));
        assertEquals(10, Arrays.stream(counts).sum());
    }

    @Test
    void sample_sameSeed_drawsTheSame() {
        int[] a = new int[6];
        int[] b = new int[6];
        new AnchorSampler(20, new SplittableRandom(9)).sample(6, a, 0, 0);
        new AnchorSampler(20, new SplittableRandom(9)).sample(6, b, 0, 0);
        assertArrayEquals(a, b);
    }
}
