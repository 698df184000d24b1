package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.config.MqttConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 6 (load): a burst of 1,000 commands through a real broker. Every one is
 * answered: accepted and succeeded, or rejected with the reason (rate limited, queue full).
 * The issue saw 579 of 1,100 ping replies lost to the client's in-flight window.
 */
class CommandLoadTest {
    private static final int BURST = 1000;
    private static final Duration ALL_ANSWERED = Duration.ofSeconds(90);

    @TempDir
    Path state;

    final Broker broker = Broker.get();
    final String node = "load-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    final String replies = "fleet/replies/" + node;
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

    /** Per final state (and reason kind), how many of the burst's cmdIds ended so; fails unless all did. */
    private Map<String, Integer> burst(String command, String args) throws Exception {
        fleetSide = new Observer(broker, replies, topics.status());
        fleetSide.next(topics.status(), FleetTest.WAIT);
        // A client of its own sends, so that taking in replies does not slow the burst down.
        Observer sender = new Observer(broker);
        long start = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sender.request(topics.command(command), "{\"v\":1,\"cmdId\":\"b-" + i + "\",\"args\":" + args + "}",
                    replies, new byte[] {(byte) i});
        }
        double sentIn = (System.nanoTime() - start) / 1e9;
        sender.close();
        Map<String, JsonNode> finals = new ConcurrentHashMap<>();
        AtomicInteger accepted = new AtomicInteger();
        long deadline = System.nanoTime() + ALL_ANSWERED.toNanos();
        while (finals.size() < BURST && System.nanoTime() < deadline) {
            Observer.Received r = fleetSide.received.poll(100, TimeUnit.MILLISECONDS);
            if (r == null || !r.topic().equals(replies)) {
                continue;
            }
            JsonNode reply = r.json();
            if (reply.path("state").asText().equals("accepted")) {
                accepted.incrementAndGet();
            } else {
                JsonNode before = finals.put(reply.path("cmdId").asText(), reply);
                assertEquals(null, before, "two final replies for " + reply);
            }
        }
        Map<String, Integer> byOutcome = new TreeMap<>();
        finals.values().forEach(f -> byOutcome.merge(outcome(f), 1, Integer::sum));
        System.out.printf("burst of %d %s sent in %.2f s: %d answered (%d accepted), %s%n", BURST, command, sentIn,
                finals.size(), accepted.get(), byOutcome);
        assertEquals(BURST, finals.size(), "commands without a final reply; outcomes " + byOutcome);
        assertEquals(byOutcome.getOrDefault("succeeded", 0), accepted.get(), "every accepted command succeeded");
        return byOutcome;
    }

    private static String outcome(JsonNode reply) {
        String state = reply.path("state").asText();
        if (!state.equals("rejected")) {
            return state;
        }
        String reason = reply.path("reason").asText();
        return reason.startsWith("rate limited") ? "rate limited" : reason.startsWith("queue full") ? "queue full"
                : "rejected: " + reason;
    }

    @Test
    void burstOf1000Pings_defaultLimits_everyOneAnsweredSucceededOrRateLimited() throws Exception {
        fleet = Fleet.start(FleetTest.settings(broker.uri(), node, state, 3600), Map::of, Map.of());

        Map<String, Integer> outcomes = burst("ping", "{}");

        assertEquals(BURST, outcomes.getOrDefault("succeeded", 0) + outcomes.getOrDefault("rate limited", 0),
                outcomes.toString());
        assertTrue(outcomes.getOrDefault("succeeded", 0) >= MqttConfig.Commands.DEFAULT_BURST, outcomes.toString());
        assertTrue(outcomes.getOrDefault("rate limited", 0) > 0, outcomes.toString());
    }

    @Test
    void burstOf1000SlowCommands_pastTheQueueBound_everyOneAnsweredSucceededOrQueueFull() throws Exception {
        int queue = 16;
        MqttConfig.Commands limits = new MqttConfig.Commands(Optional.empty(), 300, 3600, 10_000, 10_000, queue);
        CommandHandler slow = command -> () -> {
            Thread.sleep(20);
            return Map.of();
        };
        fleet = Fleet.start(FleetTest.settings(broker.uri(), node, state, limits, Clock.systemUTC()), Map::of,
                Map.of("slow", slow));

        Map<String, Integer> outcomes = burst("slow", "{}");

        assertEquals(BURST, outcomes.getOrDefault("succeeded", 0) + outcomes.getOrDefault("queue full", 0),
                outcomes.toString());
        assertTrue(outcomes.getOrDefault("queue full", 0) > 0, outcomes.toString());
        assertTrue(outcomes.getOrDefault("succeeded", 0) > queue, outcomes.toString());
    }
}
