package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cmd/*} through a real broker, with a second client as the fleet using MQTT 5 request/response. */
class CommandsTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path state;

    final Broker broker = Broker.get();
    final String node = "c-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    final String replies = "fleet/replies/" + node;
    final AtomicInteger counted = new AtomicInteger();
    Fleet fleet;
    Observer fleetSide;

    @BeforeEach
    void setUp() throws Exception {
        fleetSide = new Observer(broker, replies, topics.status());
        CommandHandler count = command -> {
            int by = command.args().path("by").asInt(1);
            if (by < 1 || by > 10) {
                throw new CommandRejectedException("by: expected 1..10, found " + by);
            }
            return () -> Map.of("count", counted.addAndGet(by));
        };
        CommandHandler broken = command -> () -> {
            throw new IllegalStateException("disk full");
        };
        fleet = Fleet.start(FleetTest.settings(broker.uri(), node, state, 3600), Map::of,
                Map.of("count", count, "broken", broken));
        // Online is published after the subscription is made: from then on commands are served.
        fleetSide.next(topics.status(), WAIT);
    }

    @AfterEach
    void tearDown() throws Exception {
        fleet.close();
        fleetSide.close();
    }

    JsonNode nextReply() throws InterruptedException {
        return fleetSide.next(replies, WAIT).json();
    }

    @Test
    void ping_withResponseTopic_repliesAcceptedThenSucceededWithCorrelationData() throws Exception {
        byte[] correlation = {1, 2, 3, 42};

        fleetSide.request(topics.command("ping"), "{\"v\":1,\"cmdId\":\"p-1\",\"args\":{\"echo\":\"hi\"}}", replies,
                correlation);

        Observer.Received accepted = fleetSide.next(replies, WAIT);
        Observer.Received succeeded = fleetSide.next(replies, WAIT);
        assertEquals("accepted", accepted.json().get("state").asText());
        assertEquals("p-1", accepted.json().get("cmdId").asText());
        assertArrayEquals(correlation, accepted.message().getProperties().getCorrelationData());
        assertEquals("succeeded", succeeded.json().get("state").asText());
        assertEquals("hi", succeeded.json().at("/result/echo").asText());
        assertTrue(succeeded.json().at("/result/pong").asBoolean());
        assertArrayEquals(correlation, succeeded.message().getProperties().getCorrelationData());
    }

    @Test
    void command_repeatedCmdId_answeredAgainWithoutRunningTwice() throws Exception {
        fleetSide.request(topics.command("count"), "{\"cmdId\":\"c-1\",\"args\":{\"by\":2}}", replies, new byte[] {1});
        assertEquals("accepted", nextReply().get("state").asText());
        assertEquals(2, nextReply().at("/result/count").asInt());

        fleetSide.request(topics.command("count"), "{\"cmdId\":\"c-1\",\"args\":{\"by\":2}}", replies, new byte[] {2});

        JsonNode again = nextReply();
        assertEquals("succeeded", again.get("state").asText());
        assertEquals(2, again.at("/result/count").asInt());
        assertTrue(again.get("duplicate").asBoolean());
        assertEquals(2, counted.get());
    }

    @Test
    void command_malformedJson_rejectedWithReason() throws Exception {
        fleetSide.request(topics.command("count"), "{\"cmdId\":", replies, new byte[] {1});

        JsonNode reply = nextReply();
        assertEquals("rejected", reply.get("state").asText());
        assertTrue(reply.get("reason").asText().startsWith("malformed JSON"), reply.toString());
        assertEquals(0, counted.get());
    }

    @Test
    void command_unknownName_rejectedListingKnownCommands() throws Exception {
        fleetSide.request(topics.command("reboot"), "{\"cmdId\":\"u-1\"}", replies, new byte[] {1});

        JsonNode reply = nextReply();
        assertEquals("rejected", reply.get("state").asText());
        assertEquals("unknown command 'reboot', expected one of [broken, count, ping]", reply.get("reason").asText());
    }

    @Test
    void command_oversizedPayload_rejectedBeforeParsing() throws Exception {
        byte[] big = new byte[CommandDispatcher.MAX_PAYLOAD + 1];
        java.util.Arrays.fill(big, (byte) ' ');

        fleetSide.request(topics.command("count"), big, replies, new byte[] {1});

        JsonNode reply = nextReply();
        assertEquals("rejected", reply.get("state").asText());
        assertEquals("payload of 65537 bytes exceeds the limit of 65536", reply.get("reason").asText());
        assertEquals(0, counted.get());
    }

    @Test
    void command_argumentOutOfRange_rejectedAndNothingRuns() throws Exception {
        fleetSide.request(topics.command("count"), "{\"cmdId\":\"r-1\",\"args\":{\"by\":500}}", replies, new byte[] {1});

        JsonNode reply = nextReply();
        assertEquals("rejected", reply.get("state").asText());
        assertEquals("by: expected 1..10, found 500", reply.get("reason").asText());
        assertEquals(0, counted.get());
    }

    @Test
    void command_missingCmdId_rejected() throws Exception {
        fleetSide.request(topics.command("ping"), "{}".getBytes(StandardCharsets.UTF_8), replies, new byte[] {1});

        JsonNode reply = nextReply();
        assertEquals("rejected", reply.get("state").asText());
        assertFalse(reply.has("cmdId"));
        assertTrue(reply.get("reason").asText().startsWith("cmdId:"), reply.toString());
    }

    @Test
    void command_workThrows_acceptedThenFailedWithReason() throws Exception {
        fleetSide.request(topics.command("broken"), "{\"cmdId\":\"b-1\"}", replies, new byte[] {1});

        assertEquals("accepted", nextReply().get("state").asText());
        JsonNode failed = nextReply();
        assertEquals("failed", failed.get("state").asText());
        assertEquals("disk full", failed.get("reason").asText());
    }
}
