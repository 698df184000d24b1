package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.config.ConfigLoader;
import dev.plateau.daemon.Daemon;
import dev.plateau.testing.TinyDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, findings 4 and 5, on a real daemon and broker: {@code finetune} reads data only under
 * {@code tuning.data_roots} and says nothing about other paths; every command refuses unknown
 * arguments.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DaemonCommandGuardsTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    static Path tmp;

    final Broker broker = Broker.get();
    final String node = "guard-" + Broker.freePort();
    final Topics topics = new Topics("test", node);
    final String replies = "fleet/replies/" + node;
    final AtomicInteger ids = new AtomicInteger();
    Path root;
    Observer fleetSide;
    Daemon daemon;

    @BeforeAll
    void start() throws Exception {
        root = Files.createDirectories(tmp.resolve("tuning-data"));
        Path configFile = TinyDevice.config(tmp, null);
        Files.writeString(configFile, Files.readString(configFile).replace("node: child", "node: " + node)
                + "mqtt: {broker: \"" + broker.uri() + "\"}\n"
                + "tuning: {data_roots: [\"" + root + "\"]}\n");
        fleetSide = new Observer(broker, replies, topics.status());
        daemon = new Daemon(ConfigLoader.load(configFile), Clock.systemUTC());
        daemon.start();
        assertEquals("online", fleetSide.next(topics.status(), WAIT).json().get("state").asText());
    }

    @AfterAll
    void stop() throws Exception {
        daemon.close();
        fleetSide.close();
    }

    /** Sends {@code name} with {@code args} (a JSON object) and returns the first reply. */
    private JsonNode send(String name, String args) throws Exception {
        String cmdId = "g-" + ids.incrementAndGet();
        fleetSide.request(topics.command(name), "{\"v\":1,\"cmdId\":\"" + cmdId + "\",\"args\":" + args + "}",
                replies, new byte[] {1});
        JsonNode reply;
        do {
            reply = fleetSide.next(replies, WAIT).json();
        } while (!reply.path("cmdId").asText().equals(cmdId));
        return reply;
    }

    private static String reason(JsonNode reply) {
        assertEquals("rejected", reply.path("state").asText(), reply.toString());
        return reply.path("reason").asText();
    }

    @Test
    void finetune_dataOutsideRoots_refusedWithoutNamingAnyEntry() throws Exception {
        String reason = reason(send("finetune", "{\"model\":\"tiny\",\"data\":\"/etc\"}"));

        assertEquals("data: expected an existing directory under tuning.data_roots [" + root + "], found '/etc'",
                reason);
        try (Stream<Path> etc = Files.list(Path.of("/etc"))) {
            for (Path entry : etc.toList()) {
                assertFalse(reason.contains(entry.toString()), "reply names " + entry + ": " + reason);
            }
        }
    }

    @Test
    void finetune_missingAndExistingPathOutsideRoots_refusedAlike() throws Exception {
        String existing = reason(send("finetune", "{\"model\":\"tiny\",\"data\":\"/usr\"}"));
        String missing = reason(send("finetune", "{\"model\":\"tiny\",\"data\":\"/usq\"}"));

        assertEquals(existing.replace("'/usr'", "'?'"), missing.replace("'/usq'", "'?'"));
    }

    @Test
    void finetune_symlinkUnderRootLeadingOut_refused() throws Exception {
        Path link = Files.createSymbolicLink(root.resolve("escape"), Path.of("/etc"));

        String reason = reason(send("finetune", "{\"model\":\"tiny\",\"data\":\"" + link + "\"}"));

        assertEquals("data: expected an existing directory under tuning.data_roots [" + root + "], found '" + link
                + "'", reason);
    }

    @Test
    void finetune_dotDotOutOfRoot_refused() throws Exception {
        String reason = reason(send("finetune", "{\"model\":\"tiny\",\"data\":\"" + root + "/../..\"}"));

        assertTrue(reason.startsWith("data: expected an existing directory under tuning.data_roots"), reason);
    }

    @Test
    void finetune_directoryUnderRoot_accepted() throws Exception {
        Path data = Files.createDirectories(root.resolve("deck-7"));

        JsonNode reply = send("finetune", "{\"model\":\"tiny\",\"data\":\"" + data + "\"}");

        assertEquals("accepted", reply.path("state").asText(), reply.toString());
        JsonNode done = fleetSide.next(replies, Duration.ofSeconds(60)).json();
        assertEquals("failed", done.path("state").asText(), "an empty directory has nothing to learn: " + done);
    }

    @Test
    void finetune_misspeltSetKey_rejectedNamingItAndTheTuningKeys() throws Exception {
        String reason = reason(send("finetune", "{\"model\":\"tiny\",\"set.novelti\":\"off\"}"));

        assertTrue(reason.startsWith("set.novelti: unknown tuning setting 'novelti', expected one of [optimizer, lr,"),
                reason);
        assertTrue(reason.contains("novelty"), reason);
    }

    @Test
    void finetune_misspeltKeyInsideSet_rejectedNamingIt() throws Exception {
        String reason = reason(send("finetune", "{\"model\":\"tiny\",\"set\":{\"max_epoch\":3}}"));

        assertTrue(reason.startsWith("set.max_epoch: unknown tuning setting 'max_epoch', expected one of ["), reason);
    }

    @Test
    void finetune_setDotKey_appliedAsTheTuningSetting() throws Exception {
        // A value out of range proves the key is read: ignored, it would have run with the default.
        String reason = reason(send("finetune", "{\"model\":\"tiny\",\"set.max_epochs\":0}"));

        assertTrue(reason.contains("max_epochs"), reason);
    }

    @Test
    void everyCommand_unknownArgument_rejectedNamingItAndTheAllowedOnes() throws Exception {
        assertEquals("activate: unknown argument 'force', expected one of [model, version]",
                reason(send("activate", "{\"model\":\"tiny\",\"version\":0,\"force\":true}")));
        assertEquals("rollback: unknown argument 'versoin', expected one of [model, version]",
                reason(send("rollback", "{\"model\":\"tiny\",\"versoin\":0}")));
        assertEquals("label: unknown argument 'lable', expected one of [ids, label, model]",
                reason(send("label", "{\"model\":\"tiny\",\"ids\":[\"x\"],\"lable\":\"top\"}")));
        assertEquals("finetune: unknown argument 'epochs', expected one of [data, model, set, set.KEY, val]",
                reason(send("finetune", "{\"model\":\"tiny\",\"epochs\":3}")));
        assertEquals("ping: unknown argument 'ecko', expected one of [echo]",
                reason(send("ping", "{\"ecko\":\"x\"}")));
        assertTrue(reason(send("set-config", "{\"mqtt.health_period\":5}"))
                .startsWith("mqtt.health_period: not a setting that can change while running"));
        for (String name : List.of("activate", "rollback", "label", "finetune", "ping", "set-config")) {
            assertTrue(fleetSide.received.stream().noneMatch(r -> r.json().path("state").asText().equals("accepted")
                    && r.json().path("cmd").asText().equals(name)), name + " ran");
        }
    }
}
