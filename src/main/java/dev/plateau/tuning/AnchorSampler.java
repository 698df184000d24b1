package dev.plateau.tuning;

import java.util.SplittableRandom;

/**
 * Draws the rehearsal samples of one epoch: {@code k} anchor indices, every anchor
 * {@code floor(k / A)} times and the remaining {@code k mod A} distinct anchors at random, so
 * that no anchor is over-represented and, across epochs, all of them get used.
 */
final class AnchorSampler {
    private final int[] pool;
    private final SplittableRandom random;

    AnchorSampler(int anchors, SplittableRandom random) {
        this.pool = new int[anchors];
        for (int i = 0; i < anchors; i++) {
            pool[i] = i;
        }
        this.random = random;
    }

    /** Writes {@code k} anchor indices, each plus {@code base}, to {@code dst[from..from+k)}. */
    void sample(int k, int[] dst, int from, int base) {
        int a = pool.length;
        int w = from;
        for (int full = k / a; full > 0; full--) {
            for (int i = 0; i < a; i++) {
                dst[w++] = base + i;
            }
        }
        // Partial Fisher-Yates: the first r slots of the pool become a uniform random subset.
        for (int i = 0, r = k % a; i < r; i++) {
            int j = i + random.nextInt(a - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
            dst[w++] = base + pool[i];
        }
    }
}
