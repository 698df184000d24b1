package dev.plateau.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.store.ModelStore;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mosquitto;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker is killed for good, the device makes decisions meanwhile, then systemd stops it: a
 * real {@code plateau run} under the unit's JVM flags must exit 0 within {@link #STOP_BOUND_S},
 * say that events remain queued, leave every one of them whole in the outbox, and deliver each
 * after the next start once a broker is there.
 */
@Tag("interop")
class BrokerGoneAtShutdownTest {
    /** systemd's TimeoutStopSec is 40 s; a stop with no broker to say goodbye to must not come near it. */
    static final int STOP_BOUND_S = 10;
    private static final String MODEL = "tiny-gray";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** eventId to file name of every event in the outbox, each checked to be whole JSON naming that eventId. */
    private static Map<String, String> outbox(Path state) throws Exception {
        Map<String, String> events = new TreeMap<>();
        try (var files = Files.list(state.resolve("outbox"))) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                assertTrue(name.endsWith(".json"), "a stray file in the outbox: " + name);
                String eventId = JSON.readTree(f.toFile()).get("eventId").asText();
                assertTrue(name.endsWith("-" + eventId + ".json"), name + " holds " + eventId);
                events.put(eventId, name);
            }
        }
        return events;
    }

    /** The outbox once it holds {@code n} events and no write is under way. */
    private static Map<String, String> awaitOutbox(Path state, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (var files = Files.list(state.resolve("outbox"))) {
                List<String> names = files.map(f -> f.getFileName().toString()).toList();
                if (names.size() >= n && names.stream().noneMatch(f -> f.startsWith("."))) {
                    return outbox(state);
                }
                assertTrue(System.nanoTime() < deadline, "outbox: " + names);
            }
            Thread.sleep(20);
        }
    }

    /** How the broker goes away. */
    private interface Gone {
        void apply(Mosquitto broker, ChildJvm child) throws Exception;
    }

    @Test
    void run_brokerKilledThenSigterm_exitsPromptlyWithEventsQueuedAndDeliversThemAfterRestart() throws Exception {
        brokerGoneThenStop("killed", (broker, child) -> {
            broker.kill();
            assertTrue(child.awaitLine("fleet: disconnected from", 10), String.join("\n", child.lines()));
        });
    }

    /** A hung broker: the connection looks alive until the keep-alive runs out, and nothing is acknowledged. */
    @Test
    void run_brokerFrozenThenSigterm_exitsPromptlyWithEventsQueuedAndDeliversThemAfterRestart() throws Exception {
        brokerGoneThenStop("frozen", (broker, child) -> broker.freeze());
    }

    private void brokerGoneThenStop(String how, Gone gone) throws Exception {
        Path config = TinyDevice.config(tmp, null);
        Path state = tmp.resolve("state");
        ModelStore store = ModelStore.signedByDevice(state, Clock.systemUTC(), 5);
        store.open(MODEL, tmp.resolve("gray"));
        for (int v = 1; v <= 2; v++) {
            store.write(MODEL, v, dir -> TinyModels.bundle(dir, TinyModels.gray4x4()));
        }
        try (Mosquitto broker = Mosquitto.start(tmp, Fleets.freePort())) {
            Files.writeString(config, Files.readString(config)
                    + "mqtt: {broker: \"" + broker.uri() + "\", keepalive_s: 5}\n");
            ChildJvm child = Daemons.startReady(config);
            Map<String, String> queued;
            long stopMillis;
            try {
                assertTrue(child.awaitLine("fleet: connected to", 20), String.join("\n", child.lines()));
                gone.apply(broker, child);

                // Decisions while the broker is gone: three swaps, three events for the outbox.
                int[] versions = {1, 2, 0};
                int previous = 0;
                for (int v : versions) {
                    store.activate(MODEL, v, "broker gone test");
                    assertTrue(child.awaitLine("now serving version " + v + " (was " + previous + ")", 15),
                            String.join("\n", Daemons.tail(child.lines(), 30)));
                    previous = v;
                }
                queued = awaitOutbox(state, versions.length);

                long begin = System.nanoTime();
                child.signal("TERM");
                assertTrue(child.process().waitFor(40, TimeUnit.SECONDS), "did not stop: " + child.lines());
                stopMillis = (System.nanoTime() - begin) / 1_000_000;
                assertTrue(child.awaitOutputEnd(10));
                assertEquals(0, child.process().exitValue(), String.join("\n", child.lines()));
            } finally {
                child.process().destroyForcibly();
            }
            String log = String.join("\n", child.lines());
            assertTrue(stopMillis <= STOP_BOUND_S * 1000L, "stopped after " + stopMillis + " ms:\n" + log);
            // The daemon may decide more while the broker is away (under load a probation can roll a
            // version back): those events are queued too, and none of the earlier ones is lost or changed.
            Map<String, String> atStop = outbox(state);
            queued.forEach((id, event) -> assertEquals(event, atStop.get(id), "event " + id + " kept whole"));
            assertTrue(log.contains("fleet: " + atStop.size() + " event(s) remain queued in " + state.resolve("outbox")),
                    log);

            // The next start, with a broker (fresh: it knows nothing of the device) to deliver to.
            broker.kill();
            broker.start();
            Map<String, Integer> received = new ConcurrentHashMap<>();
            MqttClient fleetSide = new MqttClient(broker.uri(), "fleet-" + UUID.randomUUID(), new MemoryPersistence());
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setCleanStart(true);
            fleetSide.connect(o);
            // Paho 1.2.5's subscribe(String, int, listener) recurses into itself; the array form works.
            fleetSide.subscribe(new MqttSubscription[] {new MqttSubscription("plateau/v1/test/child/event/#", 1)},
                    new IMqttMessageListener[] {(topic, message) -> received.merge(
                            JSON.readTree(message.getPayload()).get("eventId").asText(), 1, Integer::sum)});
            ChildJvm again = Daemons.startReady(config);
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!received.keySet().containsAll(atStop.keySet()) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertEquals(atStop.keySet(), Set.copyOf(received.keySet().stream()
                        .filter(atStop::containsKey).toList()), "every atStop event delivered after the restart");
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!outbox(state).isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertEquals(Map.of(), outbox(state), "acknowledged events leave the outbox");
                Daemons.stop(again);
            } finally {
                again.process().destroyForcibly();
                fleetSide.disconnectForcibly(0, 1000, false);
                fleetSide.close(true);
            }
            Map<String, Integer> duplicates = new HashMap<>(received);
            duplicates.values().removeIf(n -> n == 1);
            System.out.printf("broker %s at shutdown: %d events atStop, SIGTERM to exit %d ms (bound %d s), exit 0; "
                    + "after the restart %d of %d delivered, %d received twice%n", how, atStop.size(), stopMillis,
                    STOP_BOUND_S, atStop.keySet().stream().filter(received::containsKey).count(), atStop.size(),
                    duplicates.size());
        }
    }
}
