package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.cli.Main;
import dev.plateau.config.MqttConfig;
import dev.plateau.store.SigningKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 4 (authorisation): with {@code mqtt.command_keys}, only commands signed by a
 * trusted operator key, for this node, fresh, run; everything else is rejected with the reason.
 */
class CommandSigningTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int MAX_AGE = 300;

    @TempDir
    Path tmp;

    final Broker broker = Broker.get();
    final String node = "signed-" + UUID.randomUUID().toString().substring(0, 8);
    final Topics topics = new Topics("test", node);
    final String replies = "fleet/replies/" + node;
    final AtomicInteger counted = new AtomicInteger();
    final AtomicInteger ids = new AtomicInteger();
    SigningKey operator;
    Path operatorKey;
    Fleet fleet;
    Observer fleetSide;

    @BeforeEach
    void setUp() throws Exception {
        Path keys = Files.createDirectories(tmp.resolve("operators"));
        operator = SigningKey.generate();
        operatorKey = operator.save(tmp.resolve("private"), "alice");
        Files.copy(tmp.resolve("private/alice.pub"), keys.resolve("alice.pub"));
        MqttConfig.Commands limits = new MqttConfig.Commands(Optional.of(keys), MAX_AGE, 3600, 100, 100, 32);
        CommandHandler count = command -> () -> Map.of("count", counted.incrementAndGet());
        fleet = Fleet.start(FleetTest.settings(broker.uri(), node, tmp.resolve("state"), limits, Clock.systemUTC()),
                Map::of, Map.of("count", count));
        fleetSide = new Observer(broker, replies, topics.status());
        fleetSide.next(topics.status(), WAIT);
    }

    @AfterEach
    void tearDown() throws Exception {
        fleet.close();
        fleetSide.close();
    }

    private ObjectNode request(String cmdId) {
        ObjectNode r = Json.MAPPER.createObjectNode().put("v", 1).put("cmdId", cmdId);
        r.putObject("args");
        return r;
    }

    private ObjectNode signed(String name, String cmdId, SigningKey key, String forNode, Clock clock) {
        ObjectNode r = request(cmdId);
        CommandSignature.sign(r, "test", forNode, name, key, clock);
        return r;
    }

    /** Sends and returns the final reply for its cmdId. */
    private JsonNode send(String name, ObjectNode request) throws Exception {
        String cmdId = request.get("cmdId").asText();
        fleetSide.request(topics.command(name), Json.bytes(request), replies, new byte[] {(byte) ids.incrementAndGet()});
        while (true) {
            JsonNode r = fleetSide.next(replies, WAIT).json();
            if (r.path("cmdId").asText().equals(cmdId) && !r.path("state").asText().equals("accepted")) {
                return r;
            }
        }
    }

    private static String rejection(JsonNode reply) {
        assertEquals("rejected", reply.path("state").asText(), reply.toString());
        return reply.path("reason").asText();
    }

    @Test
    void signedByTrustedKey_runs() throws Exception {
        JsonNode reply = send("count", signed("count", "s-1", operator, node, Clock.systemUTC()));

        assertEquals("succeeded", reply.path("state").asText(), reply.toString());
        assertEquals(1, counted.get());
    }

    @Test
    void unsigned_rejectedAndNotRun() throws Exception {
        String reason = rejection(send("count", request("u-1")));

        assertTrue(reason.startsWith("unsigned: this device runs only commands signed by a trusted operator key"),
                reason);
        assertEquals(0, counted.get());
    }

    @Test
    void argumentsChangedAfterSigning_rejectedBadSignature() throws Exception {
        ObjectNode r = signed("count", "t-1", operator, node, Clock.systemUTC());
        ((ObjectNode) r.get("args")).put("by", 9);

        String reason = rejection(send("count", r));

        assertTrue(reason.startsWith("signature does not verify with key " + operator.keyId()), reason);
        assertEquals(0, counted.get());
    }

    @Test
    void signedForAnotherNode_rejectedBadSignature() throws Exception {
        String reason = rejection(send("count", signed("count", "o-1", operator, "other-node", Clock.systemUTC())));

        assertTrue(reason.startsWith("signature does not verify"), reason);
        assertEquals(0, counted.get());
    }

    @Test
    void signedAsAnotherCommand_rejectedBadSignature() throws Exception {
        String reason = rejection(send("count", signed("ping", "n-1", operator, node, Clock.systemUTC())));

        assertTrue(reason.startsWith("signature does not verify"), reason);
        assertEquals(0, counted.get());
    }

    @Test
    void untrustedKey_rejectedNamingTheTrustedOnes() throws Exception {
        SigningKey mallory = SigningKey.generate();

        String reason = rejection(send("count", signed("count", "m-1", mallory, node, Clock.systemUTC())));

        assertEquals("signed by untrusted key " + mallory.keyId() + "; trusted operator keys: [" + operator.keyId()
                + "]", reason);
        assertEquals(0, counted.get());
    }

    @Test
    void olderThanMaxAge_rejectedStale() throws Exception {
        Clock past = Clock.offset(Clock.systemUTC(), Duration.ofSeconds(-(MAX_AGE + 60)));

        String reason = rejection(send("count", signed("count", "st-1", operator, node, past)));

        assertTrue(reason.startsWith("stale: signed at "), reason);
        assertTrue(reason.endsWith("commands older than 300 s are refused (mqtt.command_max_age_seconds)"), reason);
        assertEquals(0, counted.get());
    }

    @Test
    void tooFarInTheFuture_rejected() throws Exception {
        Clock ahead = Clock.offset(Clock.systemUTC().withZone(ZoneOffset.UTC), Duration.ofMinutes(5));

        String reason = rejection(send("count", signed("count", "f-1", operator, node, ahead)));

        assertTrue(reason.contains("s ahead of this device's clock; at most 30 s are allowed"), reason);
        assertEquals(0, counted.get());
    }

    @Test
    void replayOfASignedCommand_answeredWithTheFirstOutcomeAndNotRunAgain() throws Exception {
        ObjectNode r = signed("count", "r-1", operator, node, Clock.systemUTC());
        assertEquals("succeeded", send("count", r).path("state").asText());

        JsonNode replay = send("count", r);

        assertTrue(replay.path("duplicate").asBoolean(), replay.toString());
        assertEquals(1, counted.get(), "ran once");
    }

    @Test
    void unsignedRequestUnderAUsedCmdId_rejectedWithoutTheFirstOutcome() throws Exception {
        assertEquals("succeeded", send("count", signed("count", "r-2", operator, node, Clock.systemUTC()))
                .path("state").asText());

        JsonNode probe = send("count", request("r-2"));

        assertTrue(rejection(probe).startsWith("unsigned:"), probe.toString());
        assertTrue(probe.path("result").isMissingNode(), probe.toString());
    }

    @Test
    void fleetSendWithKey_signsSoTheDeviceRunsIt() {
        assertEquals(0, Main.execute("fleet", "send", "--broker", broker.uri(), "--group", "test", "--key",
                operatorKey.toString(), node, "count", "--timeout", "15"));
        assertEquals(2, Main.execute("fleet", "send", "--broker", broker.uri(), "--group", "test", node, "count",
                "--timeout", "15"), "unsigned: rejected by the device");
        assertEquals(1, counted.get());
    }
}
