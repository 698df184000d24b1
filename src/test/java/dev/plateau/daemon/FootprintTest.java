package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FootprintTest {
    /** One sample a second: {@code base} KiB, plus {@code slope} KiB a second, plus the spikes. */
    private static List<Footprint.Sample> series(int seconds, long base, double slope, int... spikesAt) {
        List<Footprint.Sample> out = new ArrayList<>();
        for (int t = 0; t < seconds; t++) {
            long kib = base + Math.round(slope * t);
            for (int s : spikesAt) {
                kib += t >= s && t < s + 4 ? 30 * 1024 : 0;
            }
            out.add(new Footprint.Sample(t, kib));
        }
        return out;
    }

    @Test
    void growth_flatWithCompilerSpikesAtTheMiddleAndTheEnd_none() {
        // The 30-minute run of 2026-12-06 ended in a 4 s spike of 30 MiB: by its last sample it
        // grew 12 % over its second half.
        assertEquals(0.0, Footprint.growth(series(1800, 110 * 1024, 0, 900, 1796)), 1e-9);
    }

    @Test
    void growth_steadyRise_isWhatTheMediansRose() {
        // 1 KiB a second; the medians of 900-1079 s and of 1620-1799 s (spike and all) are those of
        // 989.5 s and 1709.5 s: 720 KiB more, on 110 MiB + 989.5 KiB.
        double growth = Footprint.growth(series(1800, 110 * 1024, 1, 1796));
        assertEquals(720.0 * 100 / (110 * 1024 + 989.5), growth, 1e-9);
    }
}
