package dev.plateau.sensor;

/**
 * Derives independent seeds from a base seed and an index.
 *
 * <p>{@code new SplittableRandom(s)} and {@code new SplittableRandom(s + k)} walk the same
 * sequence shifted by a multiple of the generator's increment, so consecutive seeds would give
 * correlated windows and sites. Two rounds of a 64-bit finalizer make neighbouring inputs
 * unrelated.
 */
final class Seeds {
    private Seeds() {}

    static long mix(long seed, long index) {
        return fmix64(fmix64(seed ^ 0x5DEECE66DL) + 0x9E3779B97F4A7C15L * (index + 1));
    }

    private static long fmix64(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }
}
