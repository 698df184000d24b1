package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.inference.SampleDirectory.Sample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TuneDataTest {
    /** {@code n} files named in time order, listed in a scrambled order. */
    private static List<Sample> files(int n) {
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Sample(Path.of("healthy", String.format("%05d.csv", i)), 0));
        }
        Collections.shuffle(out, new Random(99));
        return out;
    }

    private static int index(Sample s) {
        return Integer.parseInt(s.file().getFileName().toString().substring(0, 5));
    }

    @Test
    void takeRuns_sensorWindows_holdsOutWholeMinutesInNameOrder() {
        List<List<Sample>> parts = TuneData.takeRuns(files(204), 41, 12, new Random(1));
        List<Sample> taken = parts.get(0);
        assertEquals(36, taken.size(), "runs are taken while more than half a run short of 41");
        assertEquals(204 - 36, parts.get(1).size());
        Set<Integer> runs = new HashSet<>();
        for (int i = 0; i < taken.size(); i += 12) {
            int first = index(taken.get(i));
            assertEquals(0, first % 12, "a run starts at a minute's first window: " + first);
            for (int k = 0; k < 12; k++) {
                assertEquals(first + k, index(taken.get(i + k)), "a run is 12 consecutive windows in name order");
            }
            runs.add(first / 12);
        }
        assertEquals(3, runs.size());
        for (Sample s : parts.get(1)) {
            assertTrue(!runs.contains(index(s) / 12), "a window of a held-out minute left in training: " + s);
        }
    }

    @Test
    void takeRuns_singleFilesOrTooFewForTwoRuns_theFirstOfASeededShuffle() {
        List<Sample> files = files(15);
        List<Sample> shuffled = new ArrayList<>(files);
        Collections.shuffle(shuffled, new Random(4));
        assertEquals(shuffled.subList(0, 5), TuneData.takeRuns(files, 5, 1, new Random(4)).get(0));
        assertEquals(shuffled.subList(0, 5), TuneData.takeRuns(files, 5, 12, new Random(4)).get(0));
        // Never the last run left: one of two runs at most.
        assertEquals(12, TuneData.takeRuns(files(24), 23, 12, new Random(4)).get(0).size());
    }
}
