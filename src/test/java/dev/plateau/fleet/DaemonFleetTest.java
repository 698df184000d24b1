package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.cli.Main;
import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import dev.plateau.daemon.Daemon;
import dev.plateau.store.ModelStore;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon on a real broker: online, commands through the store, decisions as events, offline at stop. */
class DaemonFleetTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path tmp;

    /** The tiny device as {@code node}, with the test broker and any further {@code mqtt} settings. */
    private DeviceConfig device(Broker broker, String node, String mqttExtra) throws IOException {
        Path configFile = TinyDevice.config(tmp, null);
        Files.writeString(configFile, Files.readString(configFile).replace("node: child", "node: " + node)
                + "mqtt: {broker: \"" + broker.uri() + "\"" + mqttExtra + "}\n");
        return ConfigLoader.load(configFile);
    }

    @Test
    void daemon_activateCommand_swapsModelAndReportsIt() throws Exception {
        Broker broker = Broker.get();
        String node = "daemon-" + Broker.freePort();
        DeviceConfig config = device(broker, node, ", health_period_s: 1");
        Topics topics = new Topics("test", node);
        String replies = "fleet/replies/" + node;
        try (Observer fleetSide = new Observer(broker, replies, topics.status(), topics.event("model-activated"),
                topics.health())) {
            try (Daemon daemon = new Daemon(config, Clock.systemUTC())) {
                daemon.start();
                assertEquals("online", fleetSide.next(topics.status(), WAIT).json().get("state").asText());
                JsonNode health = fleetSide.next(topics.health(), WAIT).json();
                assertTrue(health.toString().contains("tiny-gray"), health.toString());

                new ModelStore(tmp.resolve("state")).write("tiny-gray", 1, dir -> TinyModels.bundle(dir,
                        TinyModels.gray4x4()));
                fleetSide.request(topics.command("activate"),
                        "{\"v\":1,\"cmdId\":\"a-1\",\"args\":{\"model\":\"tiny\",\"version\":7}}", replies, new byte[] {1});
                JsonNode rejected = fleetSide.next(replies, WAIT).json();
                assertEquals("rejected", rejected.get("state").asText());
                assertTrue(rejected.get("reason").asText().startsWith("version: expected one of [0, 1], found 7"),
                        rejected.toString());

                fleetSide.request(topics.command("activate"),
                        "{\"v\":1,\"cmdId\":\"a-2\",\"args\":{\"model\":\"tiny\",\"version\":1}}", replies, new byte[] {2});
                assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
                assertEquals("succeeded", fleetSide.next(replies, WAIT).json().get("state").asText());
                JsonNode event = fleetSide.next(topics.event("model-activated"), WAIT).json();
                assertTrue(event.toString().contains("\"version\":1"), event.toString());

                // The operator's CLI: a ping answered, a bad argument refused by the device.
                assertEquals(0, Main.execute("fleet", "send", "--broker", broker.uri(), "--group", "test", node,
                        "ping", "echo=hello", "--timeout", "15"));
                assertEquals(2, Main.execute("fleet", "send", "--broker", broker.uri(), "--group", "test", node,
                        "rollback", "model=nope", "--timeout", "15"));
                assertEquals(1, Main.execute("fleet", "status", "--broker", "tcp://127.0.0.1:" + Broker.freePort(),
                        "--group", "test", "--seconds", "1"), "no broker there: exit 1 with the reason");
            }
            assertEquals("offline", fleetSide.next(topics.status(), WAIT).json().get("state").asText());
        }
    }

    @Test
    void daemon_labelThenFinetuneCommands_runTheGuardedFineTuneAndReportTheDecision() throws Exception {
        Broker broker = Broker.get();
        String node = "tuner-" + Broker.freePort();
        DeviceConfig config = device(broker, node, "");
        Topics topics = new Topics("test", node);
        String replies = "fleet/replies/" + node;
        try (Observer fleetSide = new Observer(broker, replies, topics.status());
             Observer events = new Observer(broker, topics.event("finetune-rejected"));
             Daemon daemon = new Daemon(config, Clock.systemUTC())) {
            daemon.start();
            assertEquals("online", fleetSide.next(topics.status(), WAIT).json().get("state").asText());
            Path samples = tmp.resolve("state/samples/tiny-gray");
            List<String> ids = List.of();
            for (int i = 0; i < 100 && ids.size() < 20; i++) {
                Thread.sleep(100);
                try (Stream<Path> files = Files.list(samples)) {
                    ids = files.map(f -> f.getFileName().toString())
                            .filter(n -> n.endsWith(".json") && !n.startsWith(".tmp-"))
                            .map(n -> n.substring(0, n.length() - 5)).sorted().limit(20).toList();
                }
            }
            assertEquals(20, ids.size());
            String top = String.join("\",\"", ids.subList(0, 10));
            String middle = String.join("\",\"", ids.subList(10, 20));
            fleetSide.request(topics.command("label"), "{\"v\":1,\"cmdId\":\"l-1\",\"args\":{\"model\":\"tiny\","
                    + "\"label\":\"top\",\"ids\":[\"" + top + "\"]}}", replies, new byte[] {1});
            assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
            assertEquals("succeeded", fleetSide.next(replies, WAIT).json().get("state").asText());
            fleetSide.request(topics.command("label"), "{\"v\":1,\"cmdId\":\"l-2\",\"args\":{\"model\":\"tiny\","
                    + "\"label\":\"middle\",\"ids\":[\"" + middle + "\"]}}", replies, new byte[] {2});
            assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
            assertEquals("succeeded", fleetSide.next(replies, WAIT).json().get("state").asText());

            // The same image under two labels cannot make a better model: data hygiene finds the
            // byte-identical files, keeps one, and the fine-tune is refused saying why.
            fleetSide.request(topics.command("finetune"), "{\"v\":1,\"cmdId\":\"f-1\",\"args\":{\"model\":\"tiny\","
                    + "\"set\":{\"rehearsal_ratio\":0,\"max_epochs\":5}}}", replies, new byte[] {3});
            assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
            JsonNode done = fleetSide.next(replies, Duration.ofSeconds(60)).json();
            assertEquals("failed", done.get("state").asText(), done.toString());
            assertTrue(done.get("reason").asText().contains("byte-identical duplicates within the training data"),
                    done.toString());
            JsonNode event = events.next(topics.event("finetune-rejected"), WAIT).json();
            assertTrue(event.toString().contains("byte-identical"), event.toString());
            assertEquals(List.of(), new ModelStore(tmp.resolve("state")).versions("tiny-gray"));
        }
    }

    @Test
    void daemon_setConfig_publishesResultsReportsRejectionsAndKeepsTheChange() throws Exception {
        Broker broker = Broker.get();
        String node = "setter-" + Broker.freePort();
        DeviceConfig config = device(broker, node, ", health_period_s: 3600");
        Topics topics = new Topics("test", node);
        String replies = "fleet/replies/" + node;
        try (Observer fleetSide = new Observer(broker, replies, topics.status(), topics.result("tiny-gray"),
                topics.health(), topics.event("input-rejected"))) {
            try (Daemon daemon = new Daemon(config, Clock.systemUTC())) {
                daemon.start();
                assertEquals("online", fleetSide.next(topics.status(), WAIT).json().get("state").asText());

                fleetSide.request(topics.command("set-config"), "{\"v\":1,\"cmdId\":\"s-1\",\"args\":"
                        + "{\"mqtt.health_period_s\":0,\"sources\":[]}}", replies, new byte[] {1});
                JsonNode refused = fleetSide.next(replies, WAIT).json();
                assertEquals("rejected", refused.get("state").asText());
                assertTrue(refused.get("reason").asText().contains("mqtt.health_period_s: expected an integer 1..86400, "
                        + "found 0"), refused.toString());
                assertTrue(refused.get("reason").asText().contains("sources: not a setting that can change while "
                        + "running"), refused.toString());
                assertTrue(Files.notExists(tmp.resolve("state/fleet-settings.json")), "a refused change stores nothing");

                fleetSide.request(topics.command("set-config"), "{\"v\":1,\"cmdId\":\"s-2\",\"args\":"
                        + "{\"mqtt.health_period_s\":1,\"mqtt.publish_results\":true}}", replies, new byte[] {2});
                assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
                JsonNode done = fleetSide.next(replies, WAIT).json();
                assertEquals("succeeded", done.get("state").asText(), done.toString());
                assertEquals("[\"mqtt.health_period_s=1\",\"mqtt.publish_results=true\"]",
                        done.path("result").path("applied").toString());

                JsonNode result = fleetSide.next(topics.result("tiny-gray"), WAIT).json();
                assertEquals("middle", result.get("label").asText(), result.toString());
                assertEquals("cam", result.get("source").asText());
                fleetSide.next(topics.health(), Duration.ofSeconds(5));

                Files.writeString(tmp.resolve("inbox/broken.png"), "not a png");
                JsonNode rejected = fleetSide.next(topics.event("input-rejected"), WAIT).json();
                assertEquals("inbox", rejected.get("source").asText(), rejected.toString());
                assertEquals(1, rejected.path("reasons").path("unsupported-format").asInt(), rejected.toString());
            }

            // A restart keeps the fleet's change: results flow again without a new command.
            try (Daemon daemon = new Daemon(config, Clock.systemUTC())) {
                daemon.start();
                fleetSide.next(topics.result("tiny-gray"), WAIT);
                fleetSide.request(topics.command("set-config"), "{\"v\":1,\"cmdId\":\"s-3\",\"args\":"
                        + "{\"reset\":true}}", replies, new byte[] {3});
                assertEquals("accepted", fleetSide.next(replies, WAIT).json().get("state").asText());
                JsonNode reset = fleetSide.next(replies, WAIT).json();
                assertEquals("false", reset.path("result").path("settings").path("mqtt.publish_results").asText(),
                        reset.toString());
                assertTrue(Files.notExists(tmp.resolve("state/fleet-settings.json")));
            }
        }
    }

    @Test
    void daemon_mqttSource_infersPublishedFramesAndRejectsBrokenOnes() throws Exception {
        Broker broker = Broker.get();
        String node = "gateway-" + Broker.freePort();
        Path configFile = TinyDevice.config(tmp, null);
        String frames = "gateway/" + node + "/frames";
        Files.writeString(configFile, Files.readString(configFile).replace("node: child", "node: " + node)
                .replace("  - {name: inbox,", "  - {name: gw, type: mqtt, model: tiny, topic: \"gateway/+/frames\", "
                        + "qos: 1}\n  - {name: inbox,")
                + "mqtt: {broker: \"" + broker.uri() + "\", publish_results: true}\n");
        DeviceConfig config = ConfigLoader.load(configFile);
        Topics topics = new Topics("test", node);
        int[][] px = new int[4][4];
        px[2] = new int[] {255, 255, 255, 255};
        byte[] bottomRow = Files2.grayPng(px);
        try (Observer fleetSide = new Observer(broker, topics.status(), topics.result("tiny-gray"),
                topics.event("input-rejected"));
             Daemon daemon = new Daemon(config, Clock.systemUTC())) {
            daemon.start();
            assertEquals("online", fleetSide.next(topics.status(), WAIT).json().get("state").asText());
            JsonNode result = null;
            // The source subscribes in the background: publish until a result from it comes back.
            for (int i = 0; i < 50 && result == null; i++) {
                fleetSide.client.publish(frames, bottomRow, 1, false);
                long deadline = System.nanoTime() + 200_000_000L;
                while (result == null && System.nanoTime() < deadline) {
                    Observer.Received r = fleetSide.received.poll(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                    if (r != null && r.topic().equals(topics.result("tiny-gray"))
                            && r.json().get("source").asText().equals("gw")) {
                        result = r.json();
                    }
                }
            }
            assertTrue(result != null, "no result from the mqtt source");
            assertEquals("lower", result.get("label").asText(), result.toString());

            fleetSide.client.publish(frames, "ax,ay\n1,2\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), 1, false);
            JsonNode rejected;
            do {
                rejected = fleetSide.next(topics.event("input-rejected"), WAIT).json();
            } while (!rejected.get("source").asText().equals("gw"));
            assertTrue(rejected.get("count").asInt() >= 1, rejected.toString());
        }
    }
}
