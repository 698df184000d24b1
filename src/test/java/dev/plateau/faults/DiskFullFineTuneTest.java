package dev.plateau.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.store.ModelStore;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mosquitto;
import dev.plateau.testing.Mounts;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code plateau run} (the unit's JVM flags, the fashion-cnn bundle, a 5 Hz camera replay)
 * whose state directory, a small tmpfs, runs full while a fleet {@code finetune} it accepted is
 * running: the fine-tune fails with "no space left on DIR: need N bytes, have M" in its reply and
 * in a {@code finetune-failed} event, nothing is left half-written, the active model is unchanged,
 * the daemon goes on inferring, health names the full directory with the figures, warnings come
 * once per cause, and once space is freed the daemon writes again without a restart.
 */
@Tag("interop")
class DiskFullFineTuneTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FASHION = Path.of(System.getProperty("plateau.test.models", "models"), "fashion-cnn")
            .toAbsolutePath();
    private static final Path FIXTURE = Path.of("src/test/resources/fixtures/fashion-test");
    private static final String MODEL = "fashion-cnn";
    private static final String NODE = "plateau/v1/test/full/";

    @TempDir
    Path tmp;

    /** 50 images per class from a darker, noisier camera: a fine-tune the gate accepts (FineTuneAcceptanceTest). */
    private static Path shiftedCamera(Path dir) throws Exception {
        Random noise = new Random(0);
        try (Stream<Path> labels = Files.list(FIXTURE)) {
            for (Path label : labels.sorted().toList()) {
                List<Path> files;
                try (Stream<Path> s = Files.list(label)) {
                    files = s.sorted().limit(50).toList();
                }
                Path out = Files.createDirectories(dir.resolve(label.getFileName().toString()));
                for (Path f : files) {
                    BufferedImage in = ImageIO.read(f.toFile());
                    BufferedImage shifted = new BufferedImage(in.getWidth(), in.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
                    for (int y = 0; y < in.getHeight(); y++) {
                        for (int x = 0; x < in.getWidth(); x++) {
                            double v = in.getRaster().getSample(x, y, 0) * 0.25 + noise.nextGaussian() * 35;
                            shifted.getRaster().setSample(x, y, 0, (int) Math.max(0, Math.min(255, Math.round(v))));
                        }
                    }
                    ImageIO.write(shifted, "png", out.resolve(f.getFileName().toString()).toFile());
                }
            }
        }
        return dir;
    }

    private static long count(List<String> lines, String... parts) {
        return lines.stream().filter(l -> Stream.of(parts).allMatch(l::contains)).count();
    }

    private static List<String> leftovers(Path state) throws Exception {
        try (Stream<Path> all = Files.walk(state)) {
            return all.map(p -> state.relativize(p).toString()).filter(p -> p.contains(".tmp-")).toList();
        }
    }

    @Test
    void finetune_stateDiskFillsWhileItRuns_failsNamingNoSpaceKeepsTheActiveModelAndTheDaemonInfers() throws Exception {
        Path data = shiftedCamera(tmp.resolve("datasets/shift"));
        try (Mounts mounts = new Mounts(); Mosquitto broker = Mosquitto.start(tmp, Fleets.freePort())) {
            Path state = mounts.tmpfs(tmp.resolve("state"), "8m");
            Path config = Files.writeString(tmp.resolve("device.yaml"), """
                    device: {group: test, node: full}
                    state_dir: %s
                    models:
                      - {name: fashion, bundle: %s}
                    sources:
                      - {name: cam, type: replay, model: fashion, path: %s, rate_hz: 5}
                    samples: {max_per_model: 100}
                    tuning: {data_roots: [%s]}
                    mqtt: {broker: "%s", health_period_s: 1}
                    """.formatted(state, FASHION, FASHION.resolve("anchor"), tmp.resolve("datasets"), broker.uri()));
            AtomicReference<JsonNode> health = new AtomicReference<>();
            BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
            BlockingQueue<JsonNode> failedEvents = new LinkedBlockingQueue<>();
            MqttClient fleet = new MqttClient(broker.uri(), "fleet-" + UUID.randomUUID(), new MemoryPersistence());
            ChildJvm child = Daemons.startReady(config);
            try {
                MqttConnectionOptions o = new MqttConnectionOptions();
                o.setCleanStart(true);
                fleet.connect(o);
                // Paho 1.2.5's subscribe(String, int, listener) recurses into itself; the array form works.
                fleet.subscribe(new MqttSubscription[] {new MqttSubscription(NODE + "health", 0),
                    new MqttSubscription("fleet/full/replies", 1), new MqttSubscription(NODE + "event/finetune-failed", 1)},
                        new IMqttMessageListener[] {(t, m) -> health.set(JSON.readTree(m.getPayload())),
                            (t, m) -> replies.add(JSON.readTree(m.getPayload())),
                            (t, m) -> failedEvents.add(JSON.readTree(m.getPayload()))});
                assertTrue(child.awaitLine("fleet: connected to", 20), String.join("\n", child.lines()));
                assertTrue(child.awaitLine("result source=cam", 20), String.join("\n", child.lines()));
                awaitSubscribed(fleet, replies);

                MqttProperties p = new MqttProperties();
                p.setResponseTopic("fleet/full/replies");
                p.setCorrelationData(new byte[] {1});
                String request = "{\"v\":1,\"cmdId\":\"ft-1\",\"args\":{\"model\":\"fashion\",\"data\":\"" + data + "\"}}";
                fleet.publish(NODE + "cmd/finetune", new MqttMessage(request.getBytes(StandardCharsets.UTF_8), 1, false, p));
                JsonNode accepted = replies.poll(30, TimeUnit.SECONDS);
                assertTrue(accepted != null && accepted.path("state").asText().equals("accepted"), String.valueOf(accepted));
                long begin = System.nanoTime();

                // The disk fills while the fine-tune runs.
                Path filler = Mounts.fill(state);
                int linesAtFill = child.lines().size();
                long filled = System.nanoTime();

                JsonNode done = replies.poll(240, TimeUnit.SECONDS);
                double tuneSeconds = (System.nanoTime() - begin) / 1e9;
                assertTrue(done != null, "no final reply: " + String.join("\n", Daemons.tail(child.lines(), 30)));
                String noSpace = "cannot write model " + MODEL + " version \\d+: no space left on "
                        + state.resolve("models/" + MODEL + "/versions") + ": need \\d+ bytes, have \\d+";
                assertEquals("failed", done.path("state").asText(), done.toString());
                assertTrue(done.path("reason").asText().matches(noSpace), done.toString());
                JsonNode event = failedEvents.poll(15, TimeUnit.SECONDS);
                assertTrue(event != null, "no finetune-failed event");
                assertEquals(done.path("reason").asText(), event.path("reason").asText(), event.toString());
                assertEquals("failed", event.path("decision").asText());

                // Health names the full directories with the figures; the daemon infers on.
                JsonNode disk = awaitHealth(health, h -> h.path("disk").path("state").asText().equals("full")
                        && h.path("disk").toString().contains("finetune " + MODEL), child).path("disk");
                JsonNode tuneFull = null;
                for (JsonNode w : disk.path("full")) {
                    if (w.path("writer").asText().equals("finetune " + MODEL)) {
                        tuneFull = w;
                    }
                }
                assertEquals(state.resolve("models/" + MODEL + "/versions").toString(), tuneFull.path("dir").asText());
                assertTrue(tuneFull.path("need_bytes").asLong() > tuneFull.path("have_bytes").asLong(), disk.toString());
                Thread.sleep(3_000);
                List<String> now = List.copyOf(child.lines());
                List<String> sinceFill = now.subList(linesAtFill, now.size());
                double sinceFillSeconds = (System.nanoTime() - filled) / 1e9;
                assertTrue(count(sinceFill, "result source=cam") >= 10, "stopped inferring: " + Daemons.tail(sinceFill, 20));
                assertEquals(1, count(sinceFill, "sample store:", "no space left on"), String.join("\n", sinceFill));
                assertEquals(1, count(sinceFill, "fine-tune of " + MODEL + " (ft-1) failed:", "no space left on"),
                        String.join("\n", sinceFill));
                // The event itself found no room in the outbox: held in memory, delivered from there.
                assertEquals(1, count(sinceFill, "outbox: event", "(finetune-failed): no space left on "
                        + state.resolve("outbox"), "held in memory"), String.join("\n", sinceFill));
                assertEquals(List.of(), leftovers(state), "nothing half-written");
                ModelStore store = new ModelStore(state);
                assertEquals(0, store.active(MODEL), "the active model is unchanged");
                assertEquals(List.of(), store.versions(MODEL), "no version kept");

                // Space freed: writes resume, health says so, no restart.
                Files.delete(filler);
                awaitHealth(health, h -> h.path("disk").path("state").asText().equals("ok"), child);
                assertTrue(child.awaitLine("sample store: keeping samples of " + MODEL + " again", 10),
                        String.join("\n", Daemons.tail(child.lines(), 20)));
                long pid = child.process().pid();
                Daemons.stop(child);
                System.out.printf("disk full during a fine-tune: failed after %.1f s with \"%s\"; the daemon (pid %d, "
                        + "never restarted) inferred %d inputs in the %.0f s after the fill; %d sample-store warning(s)%n",
                        tuneSeconds, done.path("reason").asText(), pid, count(sinceFill, "result source=cam"),
                        sinceFillSeconds,
                        count(sinceFill, "sample store:", "no space left on"));
            } finally {
                child.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                if (fleet.isConnected()) {
                    fleet.disconnectForcibly(0, 1000, false);
                }
                fleet.close(true);
            }
        }
    }

    private static JsonNode awaitHealth(AtomicReference<JsonNode> health, Predicate<JsonNode> test, ChildJvm child)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            JsonNode h = health.get();
            if (h != null && test.test(h)) {
                return h;
            }
            assertTrue(child.process().isAlive(), "the daemon died: " + String.join("\n", child.lines()));
            assertTrue(System.nanoTime() < deadline, "health not as expected: " + h);
            Thread.sleep(50);
        }
    }

    /**
     * The daemon logs "connected" before its subscriptions are in place, so a command sent at once
     * can find no subscriber (CI once waited 30 s for a finetune's reply that never came): pings,
     * each its own command, until one is answered; then the replies so far are dropped.
     */
    private static void awaitSubscribed(MqttClient fleet, BlockingQueue<JsonNode> replies) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int i = 0; ; i++) {
            MqttProperties p = new MqttProperties();
            p.setResponseTopic("fleet/full/replies");
            p.setCorrelationData(new byte[] {9});
            String ping = "{\"v\":1,\"cmdId\":\"sub-" + i + "\"}";
            fleet.publish(NODE + "cmd/ping", new MqttMessage(ping.getBytes(StandardCharsets.UTF_8), 1, false, p));
            if (replies.poll(1, TimeUnit.SECONDS) != null) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "no reply to a ping in 20 s");
        }
        Thread.sleep(1_000);
        replies.clear();
    }
}
