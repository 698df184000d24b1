package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.daemon.AlarmWindow.Change;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The sliding mean and its hysteresis, score by score. */
class AlarmWindowTest {
    private int seq;

    private AlarmWindow.Score score(double v) {
        seq++;
        return new AlarmWindow.Score(v, "w" + seq + ".csv", Optional.empty(), Instant.EPOCH.plusSeconds(5L * seq));
    }

    private List<Change> feed(AlarmWindow w, double... scores) {
        List<Change> out = new ArrayList<>();
        for (double s : scores) {
            out.add(w.add(score(s)));
        }
        return out;
    }

    @Test
    void add_fewerThanNScores_neverRaises() {
        AlarmWindow w = new AlarmWindow(4, 0.0, 1);
        assertEquals(List.of(Change.NONE, Change.NONE, Change.NONE), feed(w, 10, 10, 10));
        assertTrue(w.fullMean().isEmpty());
        assertEquals(Change.RAISED, w.add(score(10)));
    }

    @Test
    void add_meanEqualToThreshold_doesNotRaise() {
        AlarmWindow w = new AlarmWindow(2, 1.0, 1);
        assertEquals(List.of(Change.NONE, Change.NONE, Change.NONE), feed(w, 0.5, 1.5, 0.5));
        assertFalse(w.raised());
        assertEquals(Change.RAISED, w.add(score(1.75)), "mean 1.125 > 1");
    }

    @Test
    void add_meanOfTheLastNAboveThreshold_raisesOnceNotAgain() {
        AlarmWindow w = new AlarmWindow(3, 0.0, 5);
        // Means of the last 3: -3, -1/3 (-5,3,1), 7/3 (3,1,3): raises at the 5th window, then stays raised.
        assertEquals(List.of(Change.NONE, Change.NONE, Change.NONE, Change.NONE, Change.RAISED, Change.NONE, Change.NONE),
                feed(w, -3, -3, -3, 3, 1, 3, 4));
        assertEquals(List.of(1.0, 3.0, 4.0), w.scores().stream().map(AlarmWindow.Score::value).toList());
    }

    @Test
    void add_raised_clearsOnlyAfterClearWindowsConsecutiveMeansAtOrBelow() {
        AlarmWindow w = new AlarmWindow(1, 0.0, 3);
        assertEquals(Change.RAISED, w.add(score(2)));
        assertEquals(List.of(Change.NONE, Change.NONE, Change.CLEARED), feed(w, -1, 0, -1));
        assertFalse(w.raised());
    }

    @Test
    void add_oneWindowAboveWhileClearing_startsTheCountAgain() {
        AlarmWindow w = new AlarmWindow(1, 0.0, 3);
        w.add(score(2));
        assertEquals(List.of(Change.NONE, Change.NONE, Change.NONE, Change.NONE, Change.NONE, Change.CLEARED),
                feed(w, -1, -1, 0.5, -1, -1, -1));
    }

    @Test
    void add_scoresFlappingAroundTheThreshold_hysteresisRaisesOnceInsteadOfEveryOtherWindow() {
        double[] flapping = new double[40];
        for (int i = 0; i < flapping.length; i++) {
            flapping[i] = i % 4 < 2 ? 1 : -1; // two windows above, two below
        }
        long withoutHysteresis = feed(new AlarmWindow(1, 0.0, 1), flapping).stream()
                .filter(c -> c != Change.NONE).count();
        long withHysteresis = feed(new AlarmWindow(1, 0.0, 3), flapping).stream()
                .filter(c -> c != Change.NONE).count();
        assertEquals(20, withoutHysteresis, "a raise and a clear every 4 windows");
        assertEquals(1, withHysteresis, "raised once, never 3 windows below in a row");
    }

    @Test
    void reset_raised_staysRaisedAndNeedsNFreshScoresBeforeClearing() {
        AlarmWindow w = new AlarmWindow(2, 0.0, 1);
        feed(w, 5, 5);
        assertTrue(w.raised());
        w.reset();
        assertTrue(w.raised());
        assertEquals(0, w.scores().size());
        assertEquals(Change.NONE, w.add(score(-5)), "one score of the new version is not yet evidence");
        assertTrue(w.raised());
        assertEquals(Change.CLEARED, w.add(score(-5)));
    }

    @Test
    void restored_keepsTheLastNScoresAndTheClearCount() {
        AlarmWindow was = new AlarmWindow(3, 0.0, 4);
        feed(was, 9, 9, 9, -9, -9, -9);
        assertTrue(was.raised());
        assertEquals(2, was.below(), "means -3 and -9 of the last 3 after the raise");
        AlarmWindow back = AlarmWindow.restored(3, 0.0, 4, true, was.scores(), was.below());
        assertEquals(was.scores(), back.scores());
        assertEquals(List.of(Change.NONE, Change.CLEARED), feed(back, -9, -9));
    }

    @Test
    void restored_moreScoresThanN_keepsTheNewest() {
        List<AlarmWindow.Score> scores = List.of(score(1), score(2), score(3), score(4));
        AlarmWindow back = AlarmWindow.restored(2, 0.0, 1, false, scores, 0);
        assertEquals(List.of(3.0, 4.0), back.scores().stream().map(AlarmWindow.Score::value).toList());
    }
}
