package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Losing the connection after it was made: Paho reconnects, and the session carries commands across. */
class ReconnectTest {
    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path state;

    final Broker broker = Broker.get();
    final String node = "r-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    Fleet fleet;
    Observer fleetSide;

    @AfterEach
    void tearDown() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
        fleetSide.close();
    }

    /** Another connection under the device's client id: the broker drops the device's one (session takeover). */
    void takeOver(String clientId) throws Exception {
        MqttClient intruder = new MqttClient(broker.uri(), clientId, new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(false);
        options.setSessionExpiryInterval(3600L);
        intruder.connect(options);
        intruder.disconnect();
        intruder.close();
    }

    @Test
    void connectionLost_reconnects_onlineAgainWithNextSession() throws Exception {
        fleetSide = new Observer(broker, topics.status());
        FleetSettings settings = FleetTest.settings(broker.uri(), node, state, 3600);
        fleet = Fleet.start(settings, Map::of, Map.of());
        assertEquals(1, fleetSide.next(topics.status(), WAIT).json().get("session").asLong());

        takeOver(settings.mqtt().clientId());

        JsonNode status;
        do {
            status = fleetSide.next(topics.status(), WAIT).json();
        } while (!status.get("state").asText().equals("online"));
        assertEquals(2, status.get("session").asLong());
    }

    @Test
    void commandSentWhileAway_deliveredWhenDeviceReturns() throws Exception {
        String replies = "fleet/replies/" + node;
        fleetSide = new Observer(broker, topics.status(), replies);
        FleetSettings settings = FleetTest.settings(broker.uri(), node, state, 3600);
        fleet = Fleet.start(settings, Map::of, Map.of());
        fleetSide.next(topics.status(), WAIT);
        fleet.abort();
        assertEquals("offline", fleetSide.next(topics.status(), WAIT).json().get("state").asText());

        fleetSide.request(topics.command("ping"), "{\"cmdId\":\"away-1\"}", replies, new byte[] {9});
        fleet = Fleet.start(settings, Map::of, Map.of());

        JsonNode accepted = fleetSide.next(replies, WAIT).json();
        assertEquals("away-1", accepted.get("cmdId").asText());
        assertEquals("accepted", accepted.get("state").asText());
    }
}
