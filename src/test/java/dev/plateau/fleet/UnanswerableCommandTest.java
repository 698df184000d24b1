package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands that name no MQTT 5 response topic, through a real broker: every refusal reaches the
 * fleet as a {@code command-rejected} event with its reason, the topic and the cmdId, never the
 * payload; a name the topic scheme refuses, which has no reply topic at all, included.
 */
class UnanswerableCommandTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path state;

    final Broker broker = Broker.get();
    final String node = "u-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    final String replies = "fleet/replies/" + node;
    Fleet fleet;
    Observer fleetSide;

    @BeforeEach
    void setUp() throws Exception {
        fleetSide = new Observer(broker, replies, topics.status(), topics.event(UnansweredRefusals.EVENT),
                topics.root() + "reply/#");
        fleet = Fleet.start(FleetTest.settings(broker.uri(), node, state, 3600), Map::of, Map.of());
        fleetSide.next(topics.status(), WAIT);
    }

    @AfterEach
    void tearDown() throws Exception {
        fleet.close();
        fleetSide.close();
    }

    private void publishWithoutResponseTopic(String topic, String payload) throws Exception {
        fleetSide.client.publish(topic, new MqttMessage(payload.getBytes(StandardCharsets.UTF_8), 1, false, null));
    }

    @Test
    void command_nonAsciiNameWithoutResponseTopic_refusalSentAsEventAndCommandsStillServed() throws Exception {
        String topic = topics.root() + "cmd/p\u00efng";

        publishWithoutResponseTopic(topic, "{\"v\":1,\"cmdId\":\"u-1\",\"args\":{\"echo\":\"secret-xyz\"}}");

        JsonNode event = fleetSide.next(topics.event(UnansweredRefusals.EVENT), WAIT).json();
        assertEquals(topic, event.get("topic").asText());
        assertEquals("u-1", event.get("cmdId").asText());
        assertTrue(event.get("reason").asText().startsWith("unknown command 'p\u00efng', expected one of [ping]"),
                event.toString());
        assertEquals(1, event.get("count").asInt());
        assertTrue(event.hasNonNull("eventId"), event.toString());
        assertFalse(event.toString().contains("secret-xyz"), "no payload content: " + event);
        // The link is still serving commands.
        fleetSide.request(topics.command("ping"), "{\"v\":1,\"cmdId\":\"u-2\"}", replies, new byte[] {2});
        assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
        assertEquals("succeeded", fleetSide.next(replies, WAIT).json().get("state").asText());
        assertTrue(fleetSide.received.stream().noneMatch(r -> r.topic().startsWith(topics.root() + "reply/")),
                "a name that makes no topic level has no reply topic: " + fleetSide.received);
    }

    @Test
    void command_malformedJsonWithoutResponseTopic_repliedOnReplyTopicAndSentAsEventWithoutContent() throws Exception {
        publishWithoutResponseTopic(topics.command("ping"), "{\"cmdId\": \"u-3\", secret-xyz}");

        JsonNode reply = fleetSide.next(topics.reply("ping"), WAIT).json();
        JsonNode event = fleetSide.next(topics.event(UnansweredRefusals.EVENT), WAIT).json();
        assertEquals("rejected", reply.get("state").asText());
        assertEquals("malformed JSON at line 1, column 18", reply.get("reason").asText());
        assertEquals(reply.get("reason").asText(), event.get("reason").asText());
        assertEquals(topics.command("ping"), event.get("topic").asText());
        assertFalse(event.has("cmdId"), "a payload that does not parse yields no cmdId: " + event);
        assertFalse(reply.toString().contains("secret") || event.toString().contains("secret"),
                "no payload content: " + reply + " " + event);
    }
}
