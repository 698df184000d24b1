package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.config.MqttConfig;
import dev.plateau.testing.ManualClock;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 6 (idempotency): a cmdId is remembered for a time window, not a count, and
 * across restarts; a repeat is answered with the first outcome and does not run again. The issue
 * saw a cmdId repeated after 1,024 others run again.
 */
class CommandIdempotencyTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    /** Limits that let a test send thousands of commands quickly; the window is the default hour. */
    private static final MqttConfig.Commands ROOMY = new MqttConfig.Commands(Optional.empty(), 300, 3600, 10_000,
            10_000, 10_000);

    @TempDir
    Path state;

    final Broker broker = Broker.get();
    final String node = "idem-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    final String replies = "fleet/replies/" + node;
    final AtomicInteger counted = new AtomicInteger();
    final CommandHandler count = command -> () -> Map.of("count", counted.incrementAndGet());
    Fleet fleet;
    Observer fleetSide;

    @AfterEach
    void tearDown() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
        if (fleetSide != null) {
            fleetSide.close();
        }
    }

    private void start(MqttConfig.Commands limits, Clock clock) throws Exception {
        fleet = Fleet.start(FleetTest.settings(broker.uri(), node, state, limits, clock), Map::of,
                Map.of("count", count));
        if (fleetSide == null) {
            fleetSide = new Observer(broker, replies, topics.status());
        }
        // After a restart the retained offline of the last run comes first.
        while (!fleetSide.next(topics.status(), WAIT).json().path("state").asText().equals("online")) {
            continue;
        }
    }

    private void request(String name, String cmdId) throws Exception {
        fleetSide.request(topics.command(name), "{\"v\":1,\"cmdId\":\"" + cmdId + "\"}", replies, new byte[] {1});
    }

    /** The next final reply (not {@code accepted}) for {@code cmdId}. */
    private JsonNode finalReply(String cmdId) throws Exception {
        while (true) {
            JsonNode r = fleetSide.next(replies, WAIT).json();
            if (r.path("cmdId").asText().equals(cmdId) && !r.path("state").asText().equals("accepted")) {
                return r;
            }
        }
    }

    @Test
    void repeatedCmdId_after1100Others_answeredWithFirstOutcomeNotRunAgain() throws Exception {
        start(ROOMY, Clock.systemUTC());
        request("count", "first");
        assertEquals(1, finalReply("first").at("/result/count").asInt());
        int others = 1100;
        for (int i = 0; i < others; i++) {
            request("ping", "other-" + i);
        }
        Set<String> done = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (done.size() < others && System.nanoTime() < deadline) {
            Observer.Received r = fleetSide.received.poll(100, TimeUnit.MILLISECONDS);
            if (r != null && r.json().path("state").asText().equals("succeeded")) {
                done.add(r.json().path("cmdId").asText());
            }
        }
        assertEquals(others, done.size(), "pings answered");

        request("count", "first");

        JsonNode again = finalReply("first");
        assertEquals("succeeded", again.path("state").asText(), again.toString());
        assertTrue(again.path("duplicate").asBoolean(), again.toString());
        assertEquals(1, again.at("/result/count").asInt(), again.toString());
        assertEquals(1, counted.get(), "ran once");
    }

    @Test
    void repeatedCmdId_afterRestart_answeredWithFirstOutcomeNotRunAgain() throws Exception {
        start(ROOMY, Clock.systemUTC());
        request("count", "c-1");
        assertEquals(1, finalReply("c-1").at("/result/count").asInt());
        fleet.close();

        start(ROOMY, Clock.systemUTC());
        request("count", "c-1");

        JsonNode again = finalReply("c-1");
        assertEquals("succeeded", again.path("state").asText(), again.toString());
        assertTrue(again.path("duplicate").asBoolean(), again.toString());
        assertEquals(1, counted.get(), "ran once across the restart");
    }

    @Test
    void repeatedCmdId_afterTheWindow_runsAgain() throws Exception {
        ManualClock clock = new ManualClock();
        MqttConfig.Commands minute = new MqttConfig.Commands(Optional.empty(), 30, 60, 10, 10, 10);
        start(minute, clock);
        request("count", "c-1");
        assertEquals(1, finalReply("c-1").at("/result/count").asInt());
        clock.advance(Duration.ofSeconds(59));
        request("count", "c-1");
        assertTrue(finalReply("c-1").path("duplicate").asBoolean(), "still within the window");

        clock.advance(Duration.ofSeconds(2));
        request("count", "c-1");

        JsonNode later = finalReply("c-1");
        assertFalse(later.has("duplicate"), later.toString());
        assertEquals(2, later.at("/result/count").asInt(), later.toString());
    }

    @Test
    void sameCmdId_otherArguments_rejectedAndNotRun() throws Exception {
        start(ROOMY, Clock.systemUTC());
        request("count", "c-1");
        assertEquals(1, finalReply("c-1").at("/result/count").asInt());

        fleetSide.request(topics.command("ping"), "{\"v\":1,\"cmdId\":\"c-1\",\"args\":{\"echo\":\"x\"}}", replies,
                new byte[] {2});

        JsonNode reply = finalReply("c-1");
        assertEquals("rejected", reply.path("state").asText(), reply.toString());
        assertTrue(reply.path("reason").asText().contains("was used at"), reply.toString());
    }
}
