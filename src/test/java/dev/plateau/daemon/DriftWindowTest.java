package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.DeviceConfig;
import dev.plateau.tuning.DriftReference;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sequential test's decisions on a synthetic reference: 16-wide embeddings, three classes. */
class DriftWindowTest {
    private static final DeviceConfig.Drift CONFIG = new DeviceConfig.Drift(40, 10, 1e-3, 3);
    private final Random random = new Random(2);

    private float[] embedding(double offset) {
        float[] e = new float[16];
        for (int i = 0; i < e.length; i++) {
            e[i] = (float) (random.nextGaussian() + offset);
        }
        return e;
    }

    private float[] probabilities() {
        float[] p = new float[3];
        int top = random.nextInt(3);
        for (int c = 0; c < 3; c++) {
            p[c] = c == top ? 0.8f : 0.1f;
        }
        return p;
    }

    private DriftReference reference() {
        List<float[]> e = new ArrayList<>();
        List<float[]> p = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            e.add(embedding(0));
            p.add(probabilities());
        }
        return DriftReference.fit("anchor", e, p);
    }

    private DriftWindow.Change add(DriftWindow w, DriftReference ref, double offset) {
        return w.add(new DriftWindow.Input(ref.row(embedding(offset), probabilities()), "f.png", Optional.of("id"),
                Instant.EPOCH));
    }

    @Test
    void add_shiftedEmbeddings_detectedAtTheFirstCheckOfAFullWindowNamingTheEmbedding() {
        DriftReference ref = reference();
        DriftWindow w = new DriftWindow(CONFIG, ref, false);
        for (int i = 0; i < 39; i++) {
            assertEquals(DriftWindow.Change.NONE, add(w, ref, 1.0), "no check before the window is full");
        }
        assertEquals(DriftWindow.Change.DETECTED, add(w, ref, 1.0));
        assertEquals(List.of("embedding"), w.lastCheck().orElseThrow().exceeded());
        assertTrue(w.detected());
    }

    @Test
    void add_cleanAfterDetection_clearsAfterClearChecksInARow() {
        DriftReference ref = reference();
        DriftWindow w = new DriftWindow(CONFIG, ref, true);
        int checks = 0;
        DriftWindow.Change change = DriftWindow.Change.NONE;
        for (int i = 0; i < 40 + 3 * 10 && change == DriftWindow.Change.NONE; i++) {
            change = add(w, ref, 0);
            if (w.lastCheck().isPresent() && i >= 39 && (i - 39) % 10 == 0) {
                checks++;
            }
        }
        assertEquals(DriftWindow.Change.CLEARED, change);
        assertEquals(3, checks, "cleared at the third clean check");
        assertFalse(w.detected());
    }

    @Test
    void reset_newReference_emptiesTheWindowAndKeepsADetection() {
        DriftReference ref = reference();
        DriftWindow w = new DriftWindow(CONFIG, ref, false);
        for (int i = 0; i < 40; i++) {
            add(w, ref, 1.0);
        }
        assertTrue(w.detected());
        w.reset(reference());
        assertEquals(0, w.size());
        assertTrue(w.detected(), "only evidence clears a detection");
        assertTrue(w.lastCheck().isEmpty());
    }
}
