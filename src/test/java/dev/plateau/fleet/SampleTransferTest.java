package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.cli.Main;
import dev.plateau.config.ConfigLoader;
import dev.plateau.daemon.Daemon;
import dev.plateau.store.SigningKey;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device's {@code samples} and the operator's pull on a real broker and a real daemon (the
 * tiny device, replaying at 100 Hz, every input kept as a sample): a pull cut short goes on from
 * the chunks on disk; every bound refuses with its reason; an unsigned request is refused where
 * commands must be signed.
 */
class SampleTransferTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int PULLED = 300;

    @TempDir
    Path tmp;

    private Daemon daemon(Broker broker, String node, String mqttExtra) throws Exception {
        Fleets.fleetKey(tmp);
        Path config = Fleets.device(tmp, node, broker.uri());
        Files.writeString(config, Files.readString(config).replace("health_period_s: 1", "health_period_s: 1"
                + mqttExtra));
        return new Daemon(ConfigLoader.load(config), Clock.systemUTC());
    }

    private void awaitSamples(String node, int n) throws InterruptedException {
        Path dir = tmp.resolve(node).resolve("state/samples/tiny-gray");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (count(dir, ".json") < n) {
            assertTrue(System.nanoTime() < deadline, "samples kept: " + count(dir, ".json"));
            Thread.sleep(50);
        }
    }

    private static long count(Path dir, String suffix) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private static ObjectNode args(String json) throws Exception {
        return (ObjectNode) Json.MAPPER.readTree(json);
    }

    @Test
    void pull_cutShortAndRunAgain_resumesFromTheChunksOnDiskAndEveryFileMatches() throws Exception {
        Broker broker = Broker.get();
        String node = "pull-" + Broker.freePort();
        Topics topics = new Topics("test", node);
        try (Daemon d = daemon(broker, node, "");
             Observer needs = new Observer(broker, topics.fromNodeNeeds());
             FleetClient client = FleetClient.connect(broker.uri(), "test", null, null)) {
            d.start();
            awaitSamples(node, PULLED);
            // What a pull cut short leaves: the device's offer, and the first two chunks of its archive on disk.
            JsonNode reply = client.send(node, "samples", args("{\"model\":\"tiny\",\"limit\":" + PULLED + "}"), WAIT,
                    r -> { });
            assertEquals("succeeded", reply.path("state").asText(), reply.toString());
            TransferOffer offer = TransferOffer.parse(reply.path("result").path("transfer"));
            assertTrue(offer.count() >= 3, "chunks: " + offer.count());
            byte[] archive = Files.readAllBytes(tmp.resolve(node).resolve("state/outgoing").resolve(offer.id())
                    .resolve("samples.zip"));
            Path out = tmp.resolve("labelling");
            Path partial = Files.createDirectories(out.resolve(SampleExchange.PARTIAL));
            ObjectNode saved = Json.MAPPER.createObjectNode();
            saved.set("offer", offer.toJson());
            saved.put("deadline", Instant.now().plusSeconds(3600).toString());
            saved.putObject("context").put("node", node).put("model", "tiny");
            Files.write(partial.resolve(ChunkReceiver.OFFER_FILE), Json.bytes(saved));
            Files.write(partial.resolve(ChunkReceiver.PART_FILE), Arrays.copyOf(archive, 2 * offer.chunkSize()));

            SampleExchange.Pulled p = SampleExchange.pull(client, node, "tiny", Json.MAPPER.createObjectNode(), out,
                    Optional.empty(), WAIT, line -> { });

            assertTrue(p.resumed(), p.toString());
            assertEquals(offer.id(), p.transfer());
            assertEquals(PULLED, p.samples());
            JsonNode ask = needs.next(topics.fromNode(offer.id()).need(), WAIT).json();
            assertEquals(2, ask.path("have").asInt(), "the first ask counts the two chunks on disk: " + ask);
            for (JsonNode w : ask.path("want")) {
                assertTrue(w.asInt() >= 2, "asks again for a chunk it has: " + ask);
            }
            List<String> index = Files.readAllLines(out.resolve(SampleExchange.INDEX));
            assertEquals(PULLED, index.size());
            Path kept = tmp.resolve(node).resolve("state/samples/tiny-gray");
            for (String line : index) {
                String file = Json.MAPPER.readTree(line).path("file").asText();
                assertArrayEquals(Files.readAllBytes(kept.resolve(file)),
                        Files.readAllBytes(out.resolve(SampleExchange.UNLABELLED).resolve(file)), file);
            }
            assertFalse(Files.exists(partial), "the partial transfer is removed once unpacked");
        }
    }

    @Test
    void samples_outOfBoundsOrUnknownArguments_rejectedNamingWhatWasWrong() throws Exception {
        Broker broker = Broker.get();
        String node = "bounds-" + Broker.freePort();
        try (Daemon d = daemon(broker, node, "");
             Observer status = new Observer(broker, new Topics("test", node).status());
             FleetClient client = FleetClient.connect(broker.uri(), "test", null, null)) {
            d.start();
            status.next(new Topics("test", node).status(), WAIT);
            List<String> reasons = new ArrayList<>();
            for (String a : List.of("{\"model\":\"tiny\",\"limit\":1001}", "{\"model\":\"tiny\",\"limit\":0}",
                    "{\"model\":\"tiny\",\"drifted\":\"yes\"}", "{\"model\":\"tiny\",\"colour\":\"red\"}",
                    "{\"model\":\"nope\"}", "{\"model\":\"tiny\",\"resume\":\"s-0123456789abcdef\"}",
                    "{\"model\":\"tiny\",\"resume\":\"s-1\",\"limit\":5}")) {
                JsonNode reply = client.send(node, "samples", args(a), WAIT, r -> { });
                assertEquals("rejected", reply.path("state").asText(), reply.toString());
                reasons.add(reply.path("reason").asText());
            }
            assertEquals(List.of("limit: expected 1..1000 samples, found 1001",
                    "limit: expected 1..1000 samples, found 0",
                    "drifted: expected true or false, found \"yes\"",
                    "samples: unknown argument 'colour', expected one of [drifted, limit, model, resume, unlabelled]",
                    "model: expected one of [tiny], found \"nope\"",
                    "resume: transfer 's-0123456789abcdef' of tiny is not kept on this device (kept 60 min, at most 4); "
                            + "ask again without resume",
                    "resume: only with model (the transfer's own selection stands)"), reasons);
        }
    }

    @Test
    void sender_askedForMoreThanItsRate_publishesOnlyWhatTheRateAllowsAndTheRestLater() throws Exception {
        byte[] data = new byte[8 * TransferOffer.MIN_CHUNK];
        new java.util.Random(1).nextBytes(data);
        Path file = Files.write(tmp.resolve("data"), data);
        TransferOffer offer = TransferOffer.of(file, "t", TransferOffer.MIN_CHUNK);
        ManualClock clock = new ManualClock();
        List<String> published = new ArrayList<>();
        Topics.Transfer topics = new Topics("test", "n").fromNode(offer.id());
        JsonNode all = Json.MAPPER.readTree("{\"id\":\"" + offer.id() + "\",\"want\":[0,1,2,3,4,5,6,7]}");
        // One chunk a second: the device's bound, whatever the receiver asks.
        try (ChunkSender sender = new ChunkSender(offer, file, (t, p) -> published.add(t), TransferOffer.MIN_CHUNK,
                clock)) {
            sender.serve(topics, all);
            assertEquals(List.of(topics.chunk(0)), published);
            assertEquals(7, sender.chunksDeferred());
            clock.advance(Duration.ofMillis(2500));
            sender.serve(topics, all);
            assertEquals(2, published.size(), "a second's worth at most, however long it waited: " + published);
        }
    }

    @Test
    void pull_unsignedWhereCommandsMustBeSigned_refusedWithTheReasonAndNothingWritten() throws Exception {
        Broker broker = Broker.get();
        String node = "signed-" + Broker.freePort();
        SigningKey.generate().save(tmp.resolve("operator"), "alice");
        Files.copy(tmp.resolve("operator/alice.pub"), Files.createDirectories(tmp.resolve("trusted"))
                .resolve("alice.pub"));
        try (Daemon d = daemon(broker, node, ", command_keys: " + tmp.resolve("trusted"))) {
            d.start();
            awaitSamples(node, 10);
            Path out = tmp.resolve("out");
            Fleets.Printed unsigned = Fleets.capture(() -> Main.execute("fleet", "samples", "--broker", broker.uri(),
                    "--group", "test", node, "--model", "tiny", "--limit", "10", "--out", out.toString()));
            assertEquals(2, unsigned.exit(), unsigned.out());
            assertTrue(unsigned.out().contains("samples rejected: unsigned: this device runs only commands signed by "
                    + "a trusted operator key"), unsigned.out());
            assertFalse(Files.exists(out.resolve(SampleExchange.UNLABELLED)), "nothing pulled");

            Fleets.Printed signed = Fleets.capture(() -> Main.execute("fleet", "samples", "--broker", broker.uri(),
                    "--group", "test", "--key", tmp.resolve("operator/alice.key").toString(), node, "--model", "tiny",
                    "--limit", "10", "--out", out.toString()));
            assertEquals(0, signed.exit(), signed.out());
            assertEquals(10, count(out.resolve(SampleExchange.UNLABELLED), ".png"));
        }
    }
}
