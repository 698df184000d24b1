package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.cli.Main;
import dev.plateau.config.ConfigLoader;
import dev.plateau.daemon.Daemon;
import dev.plateau.store.ModelStore;
import dev.plateau.store.SigningKey;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mounts;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device's {@code deploy} and {@code cancel} on a real broker: every refusal names what was
 * wrong and what is allowed, before any chunk moves; a cancel discards what arrived.
 */
class DeployCommandTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path tmp;

    private Daemon daemon(Broker broker, String node, String mqttExtra) throws Exception {
        Fleets.fleetKey(tmp);
        Path config = Fleets.device(tmp, node, broker.uri());
        Files.writeString(config, Files.readString(config).replace("health_period_s: 1", "health_period_s: 1"
                + mqttExtra));
        return new Daemon(ConfigLoader.load(config), Clock.systemUTC());
    }

    private static String offer(String id, long size, int chunkSize, int chunks) {
        List<String> hashes = new ArrayList<>();
        for (int i = 0; i < chunks; i++) {
            hashes.add("\"" + "ab".repeat(32) + "\"");
        }
        return "{\"id\":\"" + id + "\",\"size\":" + size + ",\"sha256\":\"" + "cd".repeat(32) + "\",\"chunk_size\":"
                + chunkSize + ",\"chunks\":[" + String.join(",", hashes) + "]}";
    }

    private JsonNode ask(Observer o, Topics topics, String replies, String cmd, String cmdId, String args)
            throws Exception {
        o.request(topics.command(cmd), "{\"v\":1,\"cmdId\":\"" + cmdId + "\",\"args\":" + args + "}", replies,
                cmdId.getBytes());
        JsonNode first = o.next(replies, WAIT).json();
        return first.get("state").asText().equals("accepted") ? o.next(replies, WAIT).json() : first;
    }

    @Test
    void deploy_badOffersBusyAndCancel_refusedWithReasonsAndCancelDiscardsTheChunks() throws Exception {
        Broker broker = Broker.get();
        String node = "deployer-" + Broker.freePort();
        Topics topics = new Topics("test", node);
        String replies = "fleet/replies/" + node;
        try (Observer o = new Observer(broker, replies);
             Observer events = new Observer(broker, topics.event("deploy-cancelled"));
             Observer needs = new Observer(broker, topics.need("held-1"));
             Daemon d = daemon(broker, node, "")) {
            d.start();
            Thread.sleep(500);
            JsonNode r = ask(o, topics, replies, "deploy", "d-1", "{\"transfer\":" + offer("big", 300L << 20, 1 << 20, 300)
                    + "}");
            assertEquals("rejected", r.get("state").asText());
            assertEquals("transfer.size: 314572800 bytes, expected at most 268435456 (the largest bundle this device "
                    + "takes)", r.get("reason").asText());
            r = ask(o, topics, replies, "deploy", "d-2", "{\"transfer\":" + offer("short", 9000, 4096, 2) + "}");
            assertEquals("transfer: chunks: expected 3 hashes for 9000 bytes in chunks of 4096, found 2",
                    r.get("reason").asText());
            r = ask(o, topics, replies, "deploy", "d-3", "{\"transfer\":" + offer("m", 4096, 4096, 1)
                    + ",\"model\":\"nope\",\"version\":3}");
            assertEquals("model: expected one of [tiny-gray], found 'nope'", r.get("reason").asText());
            r = ask(o, topics, replies, "deploy", "d-4", "{\"transfer\":" + offer("m", 4096, 4096, 1)
                    + ",\"deadline_s\":0}");
            assertEquals("deadline_s: expected 1..604800, found 0", r.get("reason").asText());

            // A deploy whose chunks nobody sends: the device asks, saying what it has.
            r = ask(o, topics, replies, "deploy", "d-5", "{\"transfer\":" + offer("held-1", 8 * 4096, 4096, 8) + "}");
            assertEquals("succeeded", r.get("state").asText(), r.toString());
            assertEquals("{\"deploy\":\"held-1\",\"state\":\"receiving\",\"have\":0,\"of\":8}", r.get("result").toString());
            JsonNode need = needs.next(topics.need("held-1"), WAIT).json();
            assertEquals(0, need.get("have").asInt());
            assertEquals(8, need.get("of").asInt());
            assertTrue(need.get("want").size() >= 1, need.toString());
            // A chunk with the wrong hash is refused and counts for nothing.
            o.client.publish(topics.chunk("held-1", 0), new byte[4096], 1, false);

            r = ask(o, topics, replies, "deploy", "d-6", "{\"transfer\":" + offer("other", 4096, 4096, 1) + "}");
            assertEquals("busy: deploy held-1 is receiving (0 of 8 chunks); cancel it first (cancel deploy=held-1) "
                    + "or wait for its end", r.get("reason").asText());
            r = ask(o, topics, replies, "cancel", "c-1", "{\"deploy\":\"zzz\"}");
            assertEquals("deploy: expected one in progress [held-1], found 'zzz'", r.get("reason").asText());
            Path staging = tmp.resolve(node).resolve("state/deploy/held-1");
            assertTrue(Files.exists(staging.resolve("offer.json")));
            r = ask(o, topics, replies, "cancel", "c-2", "{\"deploy\":\"held-1\"}");
            assertEquals("succeeded", r.get("state").asText(), r.toString());
            JsonNode event = events.next(topics.event("deploy-cancelled"), WAIT).json();
            assertEquals("held-1", event.get("deploy").asText());
            assertEquals(0, event.get("have").asInt());
            assertTrue(Files.notExists(staging), "the chunks are discarded");
            r = ask(o, topics, replies, "cancel", "c-3", "{}");
            assertEquals("deploy: expected one in progress [], found none", r.get("reason").asText());
            assertEquals(List.of(), new ModelStore(tmp.resolve(node).resolve("state")).versions("tiny-gray"));
        }
    }

    @Test
    void deploy_archiveWithDotDotEntry_failsOnTheDeviceNamingThePath() throws Exception {
        Broker broker = Broker.get();
        String node = "slip-" + Broker.freePort();
        try (Daemon d = daemon(broker, node, "")) {
            d.start();
            Path zip = tmp.resolve("slip.zip");
            try (OutputStream raw = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(raw)) {
                out.putNextEntry(new ZipEntry("manifest.yaml"));
                out.write("name: tiny-gray\nversion: 5\n".getBytes());
                out.closeEntry();
                out.putNextEntry(new ZipEntry("../../outside.txt"));
                out.write("escape".getBytes());
                out.closeEntry();
            }
            Fleets.Printed run = Fleets.capture(() -> Main.execute("fleet", "deploy", "--broker", broker.uri(),
                    "--group", "test", "--nodes", node, "--deadline", "60", zip.toString()));
            assertEquals(3, run.exit(), run.out());
            assertTrue(run.out().contains("failed                import refused: unsafe path '../../outside.txt': "
                    + "contains .."), run.out());
            assertTrue(Files.notExists(tmp.resolve(node).resolve("outside.txt")));
            assertTrue(Files.notExists(tmp.resolve(node).resolve("state/outside.txt")));
        }
    }

    @Test
    void deploy_withCommandKeys_unsignedRefusedAndSignedByTheOperatorInstalled() throws Exception {
        Broker broker = Broker.get();
        String node = "keyed-" + Broker.freePort();
        SigningKey operator = SigningKey.generate();
        operator.save(tmp.resolve("operator"), "alice");
        Path trusted = Files.createDirectories(tmp.resolve("operators"));
        Files.copy(tmp.resolve("operator/alice.pub"), trusted.resolve("alice.pub"));
        try (Daemon d = daemon(broker, node, ", command_keys: \"" + trusted + "\"")) {
            d.start();
            Path bundle = Fleets.bundle(tmp, "v2", 2, 1f, SigningKey.load(tmp.resolve("keys/fleet.key")), 0);
            Fleets.Printed run = Fleets.capture(() -> Main.execute("fleet", "deploy", "--broker", broker.uri(),
                    "--group", "test", "--nodes", node, "--deadline", "30", bundle.toString()));
            assertEquals(3, run.exit(), run.out());
            assertTrue(run.out().contains("rejected              unsigned: this device runs only commands signed"),
                    run.out());
            run = Fleets.capture(() -> Main.execute("fleet", "deploy", "--broker", broker.uri(), "--group", "test",
                    "--nodes", node, "--deadline", "30", "--key", tmp.resolve("operator/alice.key").toString(),
                    bundle.toString()));
            assertEquals(0, run.exit(), run.out());
            assertEquals(2, new ModelStore(tmp.resolve(node).resolve("state")).active("tiny-gray"));
        }
    }

    @Test
    void deploy_notEnoughDisk_refusedBeforeTheFirstChunkWithNeedAndHave() throws Exception {
        try (Mounts mounts = new Mounts()) {
            Broker broker = Broker.get();
            String node = "small-" + Broker.freePort();
            mounts.tmpfs(tmp.resolve(node).resolve("state"), "24m");
            Topics topics = new Topics("test", node);
            String replies = "fleet/replies/" + node;
            try (Observer o = new Observer(broker, replies); Daemon d = daemon(broker, node, "")) {
            d.start();
                Thread.sleep(500);
                JsonNode r = ask(o, topics, replies, "deploy", "s-1", "{\"transfer\":" + offer("fat", 4L << 20,
                        32 * 1024, 128) + "}");
                assertEquals("rejected", r.get("state").asText());
                assertTrue(r.get("reason").asText().matches("disk: a bundle of 4194304 bytes needs 29360128 bytes free "
                        + "in the state directory \\(3x for the archive, its unpacked copy and the stored version, plus "
                        + "16 MiB\\), found \\d+"), r.get("reason").asText());
                assertTrue(Files.notExists(tmp.resolve(node).resolve("state/deploy/fat")));
            }
        }
    }
}
