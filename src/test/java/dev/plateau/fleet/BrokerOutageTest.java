package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker goes away for 30 s while the device keeps producing events: every event must arrive
 * once it is back, and after de-duplication on {@code eventId} each exactly once. Debian's
 * mosquitto, with persistence on, so the fleet side's session (and what was queued for it)
 * survives the broker's restart as it would on a production broker.
 */
@Tag("interop")
class BrokerOutageTest {
    private static final Duration OUTAGE = Duration.ofSeconds(30);
    private static final long EVERY_MS = 250;

    @TempDir
    Path tmp;

    private Process startMosquitto(Path conf) throws Exception {
        Process p = new ProcessBuilder("mosquitto", "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("mosquitto.log").toFile())).start();
        Thread.sleep(300);
        assertTrue(p.isAlive(), Files.readString(tmp.resolve("mosquitto.log")));
        return p;
    }

    private static boolean installed(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin";
        return Arrays.stream(path.split(File.pathSeparator))
                .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, tool)));
    }

    @Test
    void brokerDown30s_eventsProducedMeanwhile_allArriveOnceAfterDeduplication() throws Exception {
        assumeTrue(installed("mosquitto"), "mosquitto not installed");
        int port = Broker.freePort();
        // Started as root, mosquitto drops to its own user, which must still be able to write here.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Path db = Files.createDirectories(tmp.resolve("db"));
        Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path conf = Files.writeString(tmp.resolve("mosquitto.conf"), "listener " + port + " 127.0.0.1\n"
                + "allow_anonymous true\npersistence true\npersistence_location " + db + "/\n");
        Process broker = startMosquitto(conf);
        String uri = "tcp://127.0.0.1:" + port;
        Topics topics = new Topics("test", "outage");

        // The fleet side: a persistent session that resumes after the broker's restart.
        Map<String, JsonNode> byEventId = new ConcurrentHashMap<>();
        Map<Integer, Set<String>> idsOfN = new ConcurrentHashMap<>();
        int[] received = new int[1];
        long[] lastArrival = new long[1];
        MqttClient fleetSide = new MqttClient(uri, "fleet-side-outage", new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        // A fresh broker has no session to resume; false keeps the session over Paho's reconnect.
        o.setCleanStart(false);
        o.setSessionExpiryInterval(3600L);
        o.setAutomaticReconnect(true);
        o.setMaxReconnectDelay(2_000);
        // One callback for the client rather than a listener per subscription: it also serves
        // what the resumed session delivers right after a reconnect.
        fleetSide.setCallback(new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage message) throws Exception {
                JsonNode e = Json.MAPPER.readTree(message.getPayload());
                synchronized (received) {
                    received[0]++;
                    lastArrival[0] = System.nanoTime();
                }
                byEventId.put(e.get("eventId").asText(), e);
                idsOfN.computeIfAbsent(e.get("n").asInt(), n -> ConcurrentHashMap.newKeySet())
                        .add(e.get("eventId").asText());
            }

            @Override
            public void disconnected(MqttDisconnectResponse response) {
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {
            }

            @Override
            public void deliveryComplete(IMqttToken token) {
            }

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {
                System.out.println("fleet side " + (reconnect ? "reconnected" : "connected"));
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {
            }
        });
        fleetSide.connect(o);
        fleetSide.subscribe(topics.root() + "event/#", 1);

        FleetSettings settings = FleetTest.settings(uri, "outage", tmp.resolve("state"), 3600)
                .withBackoff(Duration.ofMillis(200), Duration.ofSeconds(2));
        int produced = 0;
        long returned = 0;
        try (Fleet fleet = Fleet.start(settings, Map::of, Map.of())) {
            long start = System.nanoTime();
            long outageAt = TimeUnit.SECONDS.toNanos(3);
            long backAt = outageAt + OUTAGE.toNanos();
            long endAt = backAt + TimeUnit.SECONDS.toNanos(3);
            boolean down = false;
            boolean back = false;
            while (System.nanoTime() - start < endAt) {
                long t = System.nanoTime() - start;
                if (!down && t >= outageAt) {
                    broker.destroy(); // SIGTERM: mosquitto saves its sessions and queued messages
                    assertTrue(broker.waitFor(10, TimeUnit.SECONDS));
                    down = true;
                }
                if (!back && t >= backAt) {
                    broker = startMosquitto(conf);
                    returned = System.nanoTime();
                    back = true;
                }
                fleet.event("tick", Outbox.Kind.DECISION, Map.of("n", produced++));
                Thread.sleep(EVERY_MS);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (byEventId.size() < produced && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertEquals(0, fleet.outbox().size(), "every event acknowledged and deleted");
        } finally {
            fleetSide.disconnectForcibly(0, 1000, false);
            fleetSide.close(true);
            broker.destroy();
            broker.waitFor(10, TimeUnit.SECONDS);
        }
        assertTrue(produced > 120, "produced " + produced);
        assertEquals(produced, byEventId.size(), "distinct eventIds received; broker log:\n"
                + Files.readString(tmp.resolve("mosquitto.log")));
        TreeMap<Integer, Set<String>> sorted = new TreeMap<>(idsOfN);
        assertEquals(produced, sorted.size(), "every event arrived");
        assertEquals(0, sorted.firstKey());
        assertEquals(produced - 1, sorted.lastKey());
        sorted.forEach((n, ids) -> assertEquals(1, ids.size(), "event " + n + " sent under " + ids));
        // The backlog drains soon after the broker returns, not after a long reconnect back-off.
        double drainedAfter = (lastArrival[0] - returned) / 1e9;
        assertTrue(drainedAfter < 10, "last event arrived " + drainedAfter + " s after the broker returned");
        System.out.printf("broker outage %d s: %d events produced, %d messages received, %d distinct eventIds, "
                + "last one %.1f s after the broker returned%n", OUTAGE.toSeconds(), produced, received[0],
                byEventId.size(), drainedAfter);
    }
}
