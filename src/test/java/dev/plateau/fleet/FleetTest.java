package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.config.MqttConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet link against a real broker (HiveMQ CE embedded on loopback). */
class FleetTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path state;

    final Broker broker = Broker.get();
    final String node = "n-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    Fleet fleet;
    Observer observer;

    @AfterEach
    void tearDown() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
        if (observer != null) {
            observer.close();
        }
    }

    static FleetSettings settings(String uri, String node, Path state, int healthPeriod) {
        MqttConfig mqtt = new MqttConfig(URI.create(uri), "plateau-test-" + node, Optional.empty(), Optional.empty(),
                Optional.empty(), 30, 3600, healthPeriod, false);
        return FleetSettings.of(mqtt, "test", node, state, Clock.systemUTC())
                .withBackoff(Duration.ofMillis(50), Duration.ofMillis(200));
    }

    /** As {@link #settings(String, String, Path, int)} with these command settings and {@code clock}. */
    static FleetSettings settings(String uri, String node, Path state, MqttConfig.Commands commands, Clock clock) {
        FleetSettings s = settings(uri, node, state, 3600);
        return new FleetSettings(s.mqtt().withCommands(commands), s.group(), s.node(), s.stateDir(),
                s.outboxCapacity(), s.backoffMin(), s.backoffMax(), clock, s.random());
    }

    Fleet start() {
        return Fleet.start(settings(broker.uri(), node, state, 3600), Map::of, Map.of());
    }

    static void awaitConnected(Fleet fleet) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!fleet.connected()) {
            assertTrue(System.nanoTime() < deadline, "not connected within " + WAIT);
            Thread.sleep(20);
        }
    }

    @Test
    void start_brokerUp_publishesRetainedOnlineWithSession() throws Exception {
        observer = new Observer(broker, topics.status());
        fleet = start();

        Observer.Received status = observer.next(topics.status(), WAIT);

        JsonNode json = status.json();
        assertEquals("online", json.get("state").asText());
        assertEquals(1, json.get("session").asLong());
        assertEquals(1, json.get("v").asInt());
        assertEquals(1, status.message().getQos());
        try (Observer late = new Observer(broker, topics.status())) {
            Observer.Received retained = late.next(topics.status(), WAIT);
            assertTrue(retained.message().isRetained());
            assertEquals("online", retained.json().get("state").asText());
        }
    }

    @Test
    void abort_connected_lastWillMakesRetainedStatusOffline() throws Exception {
        observer = new Observer(broker, topics.status());
        fleet = start();
        assertEquals("online", observer.next(topics.status(), WAIT).json().get("state").asText());

        fleet.abort();

        JsonNode will = observer.next(topics.status(), WAIT).json();
        assertEquals("offline", will.get("state").asText());
        assertEquals("connection lost", will.get("reason").asText());
        try (Observer late = new Observer(broker, topics.status())) {
            assertEquals("offline", late.next(topics.status(), WAIT).json().get("state").asText());
        }
    }

    @Test
    void close_connected_publishesOfflineItself() throws Exception {
        observer = new Observer(broker, topics.status());
        fleet = start();
        observer.next(topics.status(), WAIT);

        fleet.close();

        JsonNode offline = observer.next(topics.status(), WAIT).json();
        assertEquals("offline", offline.get("state").asText());
        assertEquals("shutdown", offline.get("reason").asText());
    }

    @Test
    void start_secondRun_sessionCounterContinues() throws Exception {
        observer = new Observer(broker, topics.status());
        fleet = start();
        assertEquals(1, observer.next(topics.status(), WAIT).json().get("session").asLong());
        fleet.close();
        observer.next(topics.status(), WAIT);

        fleet = start();

        assertEquals(2, observer.next(topics.status(), WAIT).json().get("session").asLong());
    }

    @Test
    void event_connected_deliveredThenFileDeleted() throws Exception {
        observer = new Observer(broker, topics.event("rollback"));
        fleet = start();
        awaitConnected(fleet);

        Outbox.Event event = fleet.event("rollback", Outbox.Kind.DECISION, Map.of("model", "m", "to", 3))
                .stored().orElseThrow();

        JsonNode json = observer.next(topics.event("rollback"), WAIT).json();
        assertEquals(event.eventId(), json.get("eventId").asText());
        assertEquals("m", json.get("model").asText());
        assertEquals(3, json.get("to").asInt());
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (Files.exists(event.file())) {
            assertTrue(System.nanoTime() < deadline, "event file still there after " + WAIT);
            Thread.sleep(20);
        }
        assertEquals(0, fleet.outbox().size());
    }

    @Test
    void event_noBrokerThenRestart_deliveredEachOnceAfterRestart() throws Exception {
        String nowhere = "tcp://127.0.0.1:" + Broker.freePort();
        fleet = Fleet.start(settings(nowhere, node, state, 3600), Map::of, Map.of());
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 12; i++) {
            ids.add(fleet.event("input-rejected", Outbox.Kind.HEALTH, Map.of("i", i)).stored().orElseThrow().eventId());
        }
        fleet.close();
        fleet = null;
        observer = new Observer(broker, topics.event("input-rejected"));

        fleet = start();

        Set<String> seen = new HashSet<>();
        while (seen.size() < ids.size()) {
            seen.add(observer.next(topics.event("input-rejected"), WAIT).json().get("eventId").asText());
        }
        assertEquals(ids, seen);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (fleet.outbox().size() > 0) {
            assertTrue(System.nanoTime() < deadline, fleet.outbox().size() + " event(s) still queued after " + WAIT);
            Thread.sleep(20);
        }
    }

    @Test
    void health_connected_publishedWithExpiryOfTwoPeriods() throws Exception {
        observer = new Observer(broker, topics.health());
        fleet = Fleet.start(settings(broker.uri(), node, state, 1), () -> Map.of("m", Map.of("inferences", 7)),
                Map.of());

        Observer.Received health = observer.next(topics.health(), WAIT);

        assertEquals(0, health.message().getQos());
        assertEquals(2L, health.message().getProperties().getMessageExpiryInterval());
        JsonNode json = health.json();
        assertEquals(7, json.at("/models/m/inferences").asInt());
        assertTrue(json.at("/memory/heap_used_bytes").asLong() > 0);
        assertTrue(json.at("/disk/state_free_bytes").asLong() > 0);
        assertTrue(json.has("uptime_s"));
    }
}
