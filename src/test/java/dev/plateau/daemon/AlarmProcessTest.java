package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.DeckWindows;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Scrape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deck-level alarm in a real {@code plateau run}. A raised alarm survives {@code kill -9}: the
 * daemon raises on a deck turning damaged, is killed, and comes back raised, without raising (or
 * telling the fleet) a second time; the broker is unreachable, so the fleet's events stay in the
 * durable outbox to be counted. An alarm on a model that is no detector is a configuration error.
 */
class AlarmProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private ChildJvm start(Path config) throws Exception {
        ChildJvm child = ChildJvm.start(Map.of(), "run", "-c", config.toString());
        assertTrue(child.awaitLine("plateau ready", 60), "not ready: " + child.lines());
        return child;
    }

    private static void await(BooleanSupplier condition, int seconds, ChildJvm child) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(child.process().isAlive(), "the daemon died: " + String.join("\n", child.lines()));
            assertTrue(System.nanoTime() < deadline, "not within " + seconds + " s: " + String.join("\n", child.lines()));
            Thread.sleep(20);
        }
    }

    private String state() {
        try {
            JsonNode s = JSON.readTree(tmp.resolve("state/alarms/deck.json").toFile());
            return s.get("state").asText();
        } catch (IOException e) {
            return "none";
        }
    }

    private List<String> raisedEvents() {
        try {
            return DeckWindows.names(tmp.resolve("state/outbox")).stream().filter(n -> n.contains("-d-alarm-raised-"))
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Inputs filed: processed, or rejected (the one in handling at the kill is quarantined unread). */
    private int filed() {
        try {
            return DeckWindows.names(tmp.resolve("inbox/processed")).size()
                    + (int) DeckWindows.names(tmp.resolve("inbox/rejected")).stream().filter(n -> n.endsWith(".csv")).count();
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void run_killedWhileRaised_restartsRaisedWithoutASecondRaise() throws Exception {
        Path config = DeckWindows.config(tmp, "restart", "{windows: 12, clear_windows: 60}",
                "mqtt: {broker: \"tcp://127.0.0.1:" + Fleets.freePort() + "\"}\nhttp: {listen: \"127.0.0.1:0\"}\n");
        List<Path> healthy = DeckWindows.stage(tmp.resolve("staging"), "a-healthy", 12, 41, false);
        List<Path> damaged = DeckWindows.stage(tmp.resolve("staging"), "b-damaged", 30, 42, true);
        Instant t = Instant.now().minusSeconds(3600);

        ChildJvm first = start(config);
        try {
            t = DeckWindows.feed(tmp.resolve("inbox"), healthy, t);
            t = DeckWindows.feed(tmp.resolve("inbox"), damaged.subList(0, 18), t);
            await(() -> state().equals("raised"), 60, first);
            List<String> raised = List.of("plateau_alarm_raised{model=\"bridge-vibration\",source=\"deck\"} 1.0");
            assertEquals(raised, Scrape.await(first, "plateau_alarm_raised{", raised, 5));
            // Killed at once, with damaged windows still coming in.
            first.signal("KILL");
            assertTrue(first.process().waitFor(30, TimeUnit.SECONDS));
        } finally {
            first.process().destroyForcibly();
        }
        assertEquals("raised", state());

        ChildJvm second = start(config);
        try {
            assertTrue(second.awaitLine("alarm deck: restored RAISED", 5), String.join("\n", second.lines()));
            int before = filed();
            DeckWindows.feed(tmp.resolve("inbox"), damaged.subList(18, damaged.size()), t);
            int inInbox = healthy.size() + damaged.size();
            await(() -> filed() == inInbox, 60, second);
            assertTrue(filed() > before, "the restarted daemon inferred");
            await(() -> raisedEvents().size() == 1, 30, second);
            second.signal("TERM");
            assertTrue(second.process().waitFor(40, TimeUnit.SECONDS), "did not stop: " + second.lines());
            assertEquals(0, second.process().exitValue(), String.join("\n", second.lines()));
        } finally {
            second.process().destroyForcibly();
        }
        assertEquals("raised", state());
        assertEquals(1, raisedEvents().size(), "the fleet hears of the raise once: " + raisedEvents());
        assertTrue(second.lines().stream().noneMatch(l -> l.contains("alarm-raised source=deck")),
                "raised again after the restart: " + String.join("\n", second.lines()));
    }

    @Test
    void run_alarmOnAModelWithoutPositive_exits78NamingTheSourceAndTheModel() throws Exception {
        Path config = tmp.resolve("device.yaml");
        Files.writeString(config, """
                device: {group: test, node: camera}
                state_dir: %s
                models:
                  - {name: fashion, bundle: %s}
                sources:
                  - {name: cam, type: replay, model: fashion, path: %s, rate_hz: 1, alarm: {windows: 12}}
                """.formatted(tmp.resolve("state"), Path.of("models/fashion-cnn").toAbsolutePath(),
                Path.of("models/fashion-cnn/anchor").toAbsolutePath()));
        ChildJvm child = ChildJvm.start(Map.of(), "run", "-c", config.toString());
        try {
            assertTrue(child.process().waitFor(60, TimeUnit.SECONDS), "still running: " + child.lines());
            assertEquals(78, child.process().exitValue(), String.join("\n", child.lines()));
            assertTrue(child.awaitOutputEnd(5));
            assertTrue(child.lines().stream().anyMatch(l -> l.contains("source cam: alarm needs a two-class model with "
                    + "output.positive, found model fashion-cnn with labels [t-shirt")), String.join("\n", child.lines()));
        } finally {
            child.process().destroyForcibly();
        }
    }
}
