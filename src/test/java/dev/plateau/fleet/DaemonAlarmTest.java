package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.config.ConfigLoader;
import dev.plateau.daemon.Daemon;
import dev.plateau.testing.DeckWindows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deck-level alarm in a real daemon on a real broker: the shipped bridge model on an inbox
 * fed with windows of one simulated deck (site seed 13), as fast as the daemon takes them.
 */
class DaemonAlarmTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** The one-minute block: 12 windows of 5.12 s. */
    private static final String ALARM = "{windows: 12, clear_windows: 60}";
    /**
     * At most this many damaged windows before alarm-raised: one block. Measured 2026-12-02 on
     * this deck: raised at the 5th damaged window.
     */
    private static final int RAISE_WITHIN = 12;

    @TempDir
    Path tmp;

    private Daemon daemon(Broker broker, String node) throws Exception {
        Path config = DeckWindows.config(tmp, node, ALARM, "mqtt: {broker: \"" + broker.uri() + "\", health_period_s: 1}\n");
        return new Daemon(ConfigLoader.load(config), Clock.systemUTC());
    }

    /** Waits until {@code n} inputs were filed into processed/. */
    private void awaitProcessed(int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (DeckWindows.names(tmp.resolve("inbox/processed")).size() < n) {
            assertTrue(System.nanoTime() < deadline, "processed " + DeckWindows.names(tmp.resolve("inbox/processed"))
                    .size() + " of " + n);
            Thread.sleep(50);
        }
    }

    /** The next health report whose alarm of source deck has seen {@code scores} scores. */
    private static JsonNode alarmInHealth(Observer fleet, Topics topics, int scores) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            JsonNode alarm = fleet.next(topics.health(), WAIT).json().path("models").path("bridge-vibration")
                    .path("alarms").path("deck");
            if (alarm.path("scores").asInt() >= scores || System.nanoTime() > deadline) {
                return alarm;
            }
        }
    }

    @Test
    void daemon_deckTurnsDamaged_raisesAlarmWithinOneBlockWithTheEvidenceAndHealthShowsIt() throws Exception {
        Broker broker = Broker.get();
        String node = "deck-" + Broker.freePort();
        Topics topics = new Topics("test", node);
        List<Path> healthy = DeckWindows.stage(tmp.resolve("staging"), "a-healthy", 36, 31, false);
        List<Path> damaged = DeckWindows.stage(tmp.resolve("staging"), "b-damaged", 24, 32, true);
        try (Observer events = new Observer(broker, topics.event("alarm-raised"), topics.event("alarm-cleared"));
             Observer fleet = new Observer(broker, topics.health());
             Daemon d = daemon(broker, node)) {
            d.start();
            List<Path> all = new ArrayList<>(healthy);
            all.addAll(damaged);
            DeckWindows.feed(tmp.resolve("inbox"), all, Instant.now().minusSeconds(3600));

            JsonNode raised = events.next(topics.event("alarm-raised"), WAIT).json();
            awaitProcessed(all.size());

            JsonNode scores = raised.get("scores");
            assertEquals(12, scores.size(), raised.toString());
            List<String> files = new ArrayList<>();
            scores.forEach(s -> files.add(s.get("file").asText()));
            long damagedSeen = files.stream().filter(f -> f.startsWith("b-damaged")).count();
            String last = files.get(files.size() - 1);
            assertTrue(last.startsWith("b-damaged"), "raised on a healthy window: " + files);
            int at = damaged.stream().map(p -> p.getFileName().toString()).toList().indexOf(last) + 1;
            System.out.println("alarm-raised at damaged window " + at + " (mean " + raised.get("mean").asDouble()
                    + ", " + damagedSeen + " of the 12 windows damaged)");
            assertTrue(at >= 1 && at <= RAISE_WITHIN, "raised at damaged window " + at + ": " + files);
            assertEquals("deck", raised.get("source").asText());
            assertEquals("bridge-vibration", raised.get("model").asText());
            assertEquals(0, raised.get("version").asInt());
            assertEquals(0.0, raised.get("threshold").asDouble());
            assertEquals(12, raised.get("windows").asInt());
            assertTrue(raised.get("mean").asDouble() > 0, raised.toString());
            assertTrue(scores.get(0).has("sample") && raised.has("first_window_at") && raised.has("alarm_id"),
                    raised.toString());

            JsonNode health = alarmInHealth(fleet, topics, 12);
            assertEquals("raised", health.path("state").asText(), health.toString());
            assertEquals(raised.get("alarm_id").asText(), health.path("alarm_id").asText());
            assertEquals(List.of(), events.received.stream().map(Observer.Received::topic).toList(),
                    "one raise, and no clear while the deck stays damaged");
            JsonNode state = Json.MAPPER.readTree(tmp.resolve("state/alarms/deck.json").toFile());
            assertEquals("raised", state.get("state").asText());
        }
    }

    @Test
    void daemon_thirtyMinutesOfHealthyWindows_raisesNoAlarm() throws Exception {
        Broker broker = Broker.get();
        String node = "calm-" + Broker.freePort();
        Topics topics = new Topics("test", node);
        // 360 windows of 5.12 s: half an hour of one healthy deck, fed as fast as the daemon takes them.
        List<Path> healthy = DeckWindows.stage(tmp.resolve("staging"), "healthy", 360, 33, false);
        try (Observer events = new Observer(broker, topics.event("alarm-raised"));
             Observer fleet = new Observer(broker, topics.health());
             Daemon d = daemon(broker, node)) {
            d.start();
            long started = System.nanoTime();
            DeckWindows.feed(tmp.resolve("inbox"), healthy, Instant.now().minusSeconds(3600));
            awaitProcessed(healthy.size());
            System.out.println("360 healthy windows in " + (System.nanoTime() - started) / 1_000_000 + " ms");

            JsonNode health = alarmInHealth(fleet, topics, 12);
            assertEquals("clear", health.path("state").asText(), health.toString());
            assertEquals(List.of(), DeckWindows.names(tmp.resolve("inbox/rejected")));
            assertTrue(health.path("mean").asDouble() < 0, health.toString());
            assertEquals(List.of(), events.received.stream().map(r -> r.json().toString()).toList(),
                    "an alarm on a healthy deck");
            assertTrue(Files.readString(tmp.resolve("state/alarms/deck.json")).contains("\"state\":\"clear\""));
        }
    }
}
