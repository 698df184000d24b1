package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.testing.GatedProxy;
import dev.plateau.testing.Mosquitto;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker dies (SIGKILL) and comes back with nothing: mosquitto without persistence, so no
 * session, no subscription, no retained status, and what was in flight is gone. The device must
 * resubscribe to its commands, republish its retained status, and deliver every event produced
 * before, while and after it was away (a duplicate only under the same eventId). A loopback
 * proxy lets the fleet side subscribe on the new broker before the device reaches it, so an
 * event missed is the device's fault, not the harness's.
 */
@Tag("interop")
class BrokerNewSessionTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final long EVERY_MS = 50;

    @TempDir
    Path tmp;

    /** eventIds received per event number {@code n}, and messages received in all. */
    private final Map<Integer, Set<String>> idsOfN = new ConcurrentHashMap<>();
    private final Set<String> ids = ConcurrentHashMap.newKeySet();
    private int messages;

    private Observer fleetSide(String uri, Topics topics) throws Exception {
        Observer o = new Observer(uri, topics.status(), "fleet/replies/new-session");
        o.client.subscribe(new MqttSubscription[] {new MqttSubscription(topics.root() + "event/#", 1)},
                new IMqttMessageListener[] {(topic, message) -> {
                    JsonNode e = Json.MAPPER.readTree(message.getPayload());
                    synchronized (this) {
                        messages++;
                    }
                    ids.add(e.get("eventId").asText());
                    idsOfN.computeIfAbsent(e.get("n").asInt(), n -> ConcurrentHashMap.newKeySet())
                            .add(e.get("eventId").asText());
                }});
        return o;
    }

    private int produce(Fleet fleet, int from, Duration during) throws InterruptedException {
        long end = System.nanoTime() + during.toNanos();
        int n = from;
        while (System.nanoTime() < end) {
            fleet.event("tick", Outbox.Kind.DECISION, Map.of("n", n++));
            Thread.sleep(EVERY_MS);
        }
        return n;
    }

    @Test
    void brokerRestartedWithoutSession_resubscribesRepublishesStatusAndDeliversEveryEvent() throws Exception {
        Topics topics = new Topics("test", "new-session");
        try (Mosquitto broker = Mosquitto.start(tmp, Broker.freePort());
             GatedProxy path = new GatedProxy(broker.port)) {
            Observer before = fleetSide(broker.uri(), topics);
            Observer after = null;
            FleetSettings settings = FleetTest.settings(path.uri(), "new-session", tmp.resolve("state"), 3600)
                    .withBackoff(Duration.ofMillis(200), Duration.ofSeconds(1));
            try (Fleet fleet = Fleet.start(settings, Map::of, Map.of())) {
                assertEquals(1, before.next(topics.status(), WAIT).json().get("session").asInt());
                int produced = produce(fleet, 0, Duration.ofSeconds(2));
                // A burst just before the kill: some of it is in flight when the broker dies.
                for (int i = 0; i < 40; i++) {
                    fleet.event("tick", Outbox.Kind.DECISION, Map.of("n", produced++));
                }
                broker.kill();
                path.cut();
                int beforeAway = produced;
                int queuedAtKill = fleet.outbox().size();
                // What the device still holds at the kill must arrive. What the old broker had acknowledged
                // but not yet passed on dies with it (it keeps no sessions): that is the broker's loss, which
                // a production broker's persistence prevents, not the device's.
                Set<Integer> heldAtKill = new java.util.HashSet<>();
                for (Outbox.Event e : fleet.outbox().pending()) {
                    try {
                        heldAtKill.add(Json.MAPPER.readTree(fleet.outbox().payload(e)).get("n").asInt());
                    } catch (FleetException gone) {
                        // Acknowledged by the broker between the listing and the read (its PUBACK was
                        // on the way at the kill): the broker's to deliver, not held by the device.
                        assertTrue(gone.getCause() instanceof java.nio.file.NoSuchFileException, gone.toString());
                    }
                }
                produced = produce(fleet, produced, Duration.ofSeconds(5));
                int whileAway = produced - beforeAway;

                broker.start();
                after = fleetSide(broker.uri(), topics);
                path.pass();
                long back = System.nanoTime();
                JsonNode status = after.next(topics.status(), WAIT).json();
                double reconnectSeconds = (System.nanoTime() - back) / 1e9;
                assertEquals("online", status.get("state").asText(), broker.log());
                assertEquals(2, status.get("session").asInt(), status.toString());
                produced = produce(fleet, produced, Duration.ofSeconds(2));

                long deadline = System.nanoTime() + WAIT.toNanos();
                while ((idsOfN.size() < produced || fleet.outbox().size() > 0) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                double drainedSeconds = (System.nanoTime() - back) / 1e9;
                assertEquals(0, fleet.outbox().size(), "every event acknowledged by the new broker");
                int lostWithBroker = 0;
                for (int n = 0; n < produced; n++) {
                    Set<String> of = idsOfN.get(n);
                    if (of == null && n < beforeAway && !heldAtKill.contains(n)) {
                        lostWithBroker++;
                        continue;
                    }
                    assertTrue(of != null, "event " + n + " of " + produced + " never arrived; broker log:\n"
                            + broker.log());
                    assertEquals(1, of.size(), "event " + n + " sent under " + of);
                }

                // Commands: the new broker only knows the subscription the device made again.
                after.request(topics.command("ping"), "{\"v\":1,\"cmdId\":\"ns-1\"}", "fleet/replies/new-session",
                        new byte[] {1});
                assertEquals("accepted", after.next("fleet/replies/new-session", WAIT).json().get("state").asText());
                assertEquals("succeeded", after.next("fleet/replies/new-session", WAIT).json().get("state").asText());
                // The retained status is back: a fleet side that subscribes later sees it at once.
                try (Observer late = new Observer(broker.uri(), topics.status())) {
                    JsonNode retained = late.next(topics.status(), WAIT).json();
                    assertEquals("online", retained.get("state").asText());
                    assertEquals(2, retained.get("session").asInt());
                }
                System.out.printf("broker back with a new session: %d events produced (%d before the kill, %d in "
                        + "the outbox at the kill, %d while away), %d distinct received, %d messages (%d duplicates "
                        + "under the same eventId); online again %.1f s after the broker was reachable, all delivered "
                        + "after %.1f s; %d acknowledged by the killed broker before it passed them on%n", produced,
                        beforeAway, queuedAtKill, whileAway, ids.size(), messages, messages - ids.size(),
                        reconnectSeconds, drainedSeconds, lostWithBroker);
            } finally {
                before.client.disconnectForcibly(0, 1000, false);
                before.client.close(true);
                if (after != null) {
                    after.close();
                }
            }
        }
    }
}
