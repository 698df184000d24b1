package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.config.SourceConfig;
import dev.plateau.fleet.Outbox;
import dev.plateau.inference.Prediction;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.testing.ManualClock;
import dev.plateau.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One source's alarm with its state file and its events: what is written when, what survives a
 * restart, what a version change does. Scores are given as logits, so every mean is known.
 */
class AlarmTrackerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> LABELS = List.of("healthy", "damaged");

    @TempDir
    Path tmp;
    private final ManualClock clock = new ManualClock();
    private int seq;

    /** What the tracker sent, and what its state file said at that moment. */
    private record Sent(String type, String eventId, Map<String, Object> body, JsonNode stateThen) {}

    private final List<Sent> sent = new ArrayList<>();
    private boolean accepting = true;

    private final AlarmTracker.Events events = (type, eventId, body) -> {
        if (!accepting) {
            return false;
        }
        sent.add(new Sent(type, eventId, body, state()));
        return true;
    };

    private JsonNode state() {
        try {
            return JSON.readTree(tmp.resolve("state/alarms/deck.json").toFile());
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private Manifest manifest(String extra) throws Exception {
        TinyModels.Spec spec = TinyModels.window3x8();
        Path dir = tmp.resolve("bundle-" + Math.abs(extra.hashCode()));
        if (!Files.exists(dir)) {
            TinyModels.bundle(dir, spec, TinyModels.manifest(spec, "damaged") + extra);
        }
        return ModelBundle.open(dir).manifest();
    }

    private AlarmTracker open(SourceConfig.Alarm config, int version, Manifest m) {
        return AlarmTracker.open("deck", config, "tiny-window", version, m, tmp.resolve("state"), clock, events);
    }

    /** One window with log-odds {@code odds} of damaged, 5 s after the previous one. */
    private void window(AlarmTracker t, int version, Manifest m, double odds) {
        clock.advance(Duration.ofSeconds(5));
        seq++;
        Prediction p = new Prediction(odds > 0 ? "damaged" : "healthy", odds > 0 ? 1 : 0, 0.5f, LABELS,
                new float[] {0.5f, 0.5f}, new float[] {0f, (float) odds}, 1);
        t.observe(version, m, p, Path.of("inbox", String.format("%05d.csv", seq)), Optional.of("id-" + seq));
    }

    @Test
    void observe_raise_isWrittenBeforeItsEventAndTheEventCarriesTheEvidence() throws Exception {
        Manifest m = manifest("");
        AlarmTracker t = open(new SourceConfig.Alarm(3, 10), 0, m);
        for (double odds : new double[] {-4, -4, -4, 6, 6}) {
            window(t, 0, m, odds);
        }
        assertEquals(1, sent.size(), sent.toString());
        Sent raise = sent.get(0);
        assertEquals("alarm-raised", raise.type());
        assertEquals("raised", raise.stateThen().get("state").asText(), "the state file said raised before the event");
        Map<String, Object> b = raise.body();
        assertEquals("deck", b.get("source"));
        assertEquals("tiny-window", b.get("model"));
        assertEquals(0, b.get("version"));
        assertEquals(0.0, b.get("threshold"));
        assertEquals("default", b.get("threshold_source"));
        assertEquals(3, b.get("windows"));
        assertEquals(8.0 / 3, (Double) b.get("mean"), 1e-6);
        assertEquals("2026-01-01T00:00:15Z", b.get("first_window_at"));
        assertEquals(List.of("00003.csv", "00004.csv", "00005.csv"), column(b, "file"));
        assertEquals(List.of("id-3", "id-4", "id-5"), column(b, "sample"));
        assertEquals(List.of(-4.0, 6.0, 6.0), column(b, "score"));
        assertEquals(raise.stateThen().get("alarm_id").asText(), b.get("alarm_id"));
        assertEquals("raised", t.view().get("state"));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> column(Map<String, Object> body, String key) {
        return ((List<Map<String, Object>>) body.get("scores")).stream().map(s -> s.get(key)).toList();
    }

    @Test
    void observe_clear_afterClearWindowsAtOrBelow_sendsClearedWithTheSameAlarmId() throws Exception {
        Manifest m = manifest("");
        AlarmTracker t = open(new SourceConfig.Alarm(1, 3), 0, m);
        window(t, 0, m, 2);
        window(t, 0, m, -1);
        window(t, 0, m, -1);
        assertEquals(1, sent.size());
        window(t, 0, m, -1);
        assertEquals(2, sent.size());
        Sent clear = sent.get(1);
        assertEquals("alarm-cleared", clear.type());
        assertEquals(sent.get(0).body().get("alarm_id"), clear.body().get("alarm_id"));
        assertEquals(sent.get(0).body().get("last_window_at"), clear.body().get("raised_at"));
        assertEquals(3, clear.body().get("clear_windows"));
        assertEquals("clear", clear.stateThen().get("state").asText());
        assertEquals("clear", t.view().get("state"));
    }

    @Test
    void open_afterARaise_restoresItRaisedWithItsScoresAndSendsNothingNew() throws Exception {
        Manifest m = manifest("");
        AlarmTracker before = open(new SourceConfig.Alarm(3, 10), 0, m);
        for (double odds : new double[] {5, 5, 5}) {
            window(before, 0, m, odds);
        }
        // No checkpoint: as after kill -9.
        AlarmTracker after = open(new SourceConfig.Alarm(3, 10), 0, m);
        assertEquals("raised", after.view().get("state"));
        assertEquals(3, after.view().get("scores"));
        assertEquals(sent.get(0).body().get("alarm_id"), after.view().get("alarm_id"));
        window(after, 0, m, 5);
        assertEquals(1, sent.size(), "still the one raise: " + sent);
    }

    @Test
    void observe_manyWindowsWithoutAChange_writesEveryCheckpointSoAKillLosesAtMostEleven() throws Exception {
        Manifest m = manifest("");
        AlarmTracker t = open(new SourceConfig.Alarm(100, 10), 0, m);
        for (int i = 0; i < AlarmTracker.CHECKPOINT_WINDOWS - 1; i++) {
            window(t, 0, m, -3);
        }
        assertFalse(Files.exists(tmp.resolve("state/alarms/deck.json")), "no write before the checkpoint");
        for (int i = 0; i < 6; i++) {
            window(t, 0, m, -3);
        }
        // 17 windows, written at the 12th: a restart finds 12 and has lost 5.
        assertEquals(12, open(new SourceConfig.Alarm(100, 10), 0, m).view().get("scores"));
        t.checkpoint();
        assertEquals(17, open(new SourceConfig.Alarm(100, 10), 0, m).view().get("scores"));
    }

    @Test
    void observe_newModelVersion_emptiesTheWindowAndKeepsTheAlarmRaised() throws Exception {
        Manifest m = manifest("");
        AlarmTracker t = open(new SourceConfig.Alarm(2, 1), 0, m);
        window(t, 0, m, 5);
        window(t, 0, m, 5);
        assertEquals("raised", t.view().get("state"));
        window(t, 1, m, -5);
        assertEquals("raised", t.view().get("state"), "one window of v1 is not yet evidence");
        assertEquals(1, t.view().get("scores"));
        assertEquals(1, t.view().get("version"));
        window(t, 1, m, -5);
        assertEquals("clear", t.view().get("state"));
        assertEquals(1, sent.get(1).body().get("version"));
        assertEquals(List.of(-5.0, -5.0), column(sent.get(1).body(), "score"), "evidence of v1 only");
    }

    @Test
    void open_stateOfAnotherVersion_keepsRaisedWithAnEmptyWindow() throws Exception {
        Manifest m = manifest("");
        AlarmTracker before = open(new SourceConfig.Alarm(2, 1), 0, m);
        window(before, 0, m, 5);
        window(before, 0, m, 5);
        AlarmTracker after = open(new SourceConfig.Alarm(2, 1), 3, m);
        assertEquals("raised", after.view().get("state"));
        assertEquals(0, after.view().get("scores"));
    }

    @Test
    void observe_eventNotTaken_staysInTheStateFileAndGoesOutAfterARestart() throws Exception {
        Manifest m = manifest("");
        accepting = false;
        AlarmTracker before = open(new SourceConfig.Alarm(1, 1), 0, m);
        window(before, 0, m, 5);
        assertEquals(1, state().get("pending").size());
        String eventId = state().get("pending").get(0).get("event_id").asText();
        accepting = true;
        AlarmTracker after = open(new SourceConfig.Alarm(1, 1), 0, m);
        assertEquals(1, after.view().get("events_pending"));
        after.announcePending();
        assertEquals(1, sent.size());
        assertEquals("alarm-raised", sent.get(0).type());
        assertEquals(state().get("alarm_id").asText(), sent.get(0).body().get("alarm_id"));
        assertEquals(eventId, sent.get(0).eventId(), "handed over again under its first eventId");
        assertEquals(0, state().get("pending").size());
    }

    @Test
    void open_killedAfterTheOutboxTookTheEvent_handsItOverAgainAndTheOutboxKeepsOne() throws Exception {
        Manifest m = manifest("");
        Outbox outbox = Outbox.open(tmp.resolve("state"), 100, clock);
        Path file = tmp.resolve("state/alarms/deck.json");
        Path atKill = tmp.resolve("deck.json.at-kill");
        AlarmTracker.Events intoOutbox = (type, eventId, body) -> {
            outbox.add(type, Outbox.Kind.DECISION, body, eventId);
            try {
                // The power goes now: the outbox has the event, the state file still lists it as pending.
                Files.copy(file, atKill, StandardCopyOption.REPLACE_EXISTING);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return true;
        };
        AlarmTracker before = AlarmTracker.open("deck", new SourceConfig.Alarm(1, 1), "tiny-window", 0, m,
                tmp.resolve("state"), clock, intoOutbox);
        window(before, 0, m, 5);
        Files.move(atKill, file, StandardCopyOption.REPLACE_EXISTING);

        AlarmTracker after = AlarmTracker.open("deck", new SourceConfig.Alarm(1, 1), "tiny-window", 0, m,
                tmp.resolve("state"), clock, intoOutbox);
        assertEquals(1, after.view().get("events_pending"));
        after.announcePending();

        assertEquals(List.of("alarm-raised"), outbox.pending().stream().map(Outbox.Event::type).toList());
        assertEquals(0, state().get("pending").size());
    }

    @Test
    void observe_eventRefusedByAFullOutbox_isTriedAgainAtTheNextWindow() throws Exception {
        Manifest m = manifest("");
        int[] calls = {0};
        AlarmTracker t = AlarmTracker.open("deck", new SourceConfig.Alarm(1, 5), "tiny-window", 0, m,
                tmp.resolve("state"), clock, (type, eventId, body) -> {
                    if (calls[0]++ == 0) {
                        throw new IllegalStateException("outbox: no space left");
                    }
                    sent.add(new Sent(type, eventId, body, state()));
                    return true;
                });
        window(t, 0, m, 5);
        assertEquals(0, sent.size());
        window(t, 0, m, 5);
        assertEquals(1, sent.size());
        assertEquals(0, state().get("pending").size());
    }

    @Test
    void open_manifestAlarm_setsWindowsAndThresholdOverTheSourcesWindows() throws Exception {
        Manifest m = manifest("alarm: {windows: 2, threshold: 4.0, false_alarm_rate: 0.01}\n");
        AlarmTracker t = open(new SourceConfig.Alarm(12, 1), 0, m);
        assertEquals(2, t.view().get("windows"));
        assertEquals(4.0, t.view().get("threshold"));
        assertEquals("manifest", t.view().get("threshold_source"));
        window(t, 0, m, 4);
        window(t, 0, m, 4);
        assertEquals("clear", t.view().get("state"), "mean 4 is not above 4");
        window(t, 0, m, 4.5);
        assertEquals("raised", t.view().get("state"));
    }

    @Test
    void open_modelWithoutPositive_isRefusedSayingWhatItNeeds() throws Exception {
        TinyModels.Spec spec = TinyModels.gray4x4();
        Manifest m = ModelBundle.open(TinyModels.bundle(tmp.resolve("gray"), spec)).manifest();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> open(new SourceConfig.Alarm(12, 60), 0, m));
        assertEquals("source deck: alarm needs a two-class model with output.positive, found model tiny-window with "
                + "labels [top, middle, lower] and no output.positive", e.getMessage());
    }

    @Test
    void open_unreadableStateFile_startsClearAndKeepsTheFileAside() throws Exception {
        Path file = Files.createDirectories(tmp.resolve("state/alarms")).resolve("deck.json");
        Files.writeString(file, "{\"v\":1,\"state\":\"raised\",\"scores\":[{\"score\":");
        AlarmTracker t = open(new SourceConfig.Alarm(12, 60), 0, manifest(""));
        assertEquals("clear", t.view().get("state"));
        assertTrue(Files.exists(file.resolveSibling("deck.json.unreadable")));
    }
}
