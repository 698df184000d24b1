package dev.plateau.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mosquitto;
import dev.plateau.testing.SlowModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Input at twice the rate the device can infer, into a real {@code plateau run} under the unit's
 * JVM flags, on a model that takes ~80 ms per input (an ONNX {@code Loop}, {@link SlowModels}).
 * The rate is measured first, on the device, from its own health report; then frames are
 * published on the MQTT source's topic at twice it. The queue must stay within its bound, every
 * message be accounted for (dropped == received - handled, exactly), memory stay bounded, and an
 * accepted frame wait at most its queue's worth of inferences. An inbox fed at twice the rate
 * loses nothing: the backlog waits on disk and is drained.
 */
@Tag("interop")
class InputOverloadTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Loop steps per unit of pixel sum: the bright-row frame (sum 4) takes ~80 ms on the 2-core CI machine. */
    private static final double SLOW = 20_000;
    private static final int QUEUE = 16;
    /** How long the device is saturated to measure its rate; the first two health reports of it are warm-up. */
    private static final Duration SATURATE = Duration.ofSeconds(5);
    private static final int SATURATE_RATE = 50;
    /** Far below the unit's MemoryMax (512 MiB), as in {@link BadInputSoakTest}. */
    private static final long RSS_LIMIT_KIB = 400 * 1024;
    /** How much the resident set may grow from the middle third of the load to the last. */
    private static final long RSS_GROWTH_KIB = 48 * 1024;

    @TempDir
    Path tmp;

    private Path config(String source, String mqtt) throws Exception {
        Path bundle = SlowModels.bundle(tmp.resolve("slow"), SLOW);
        return Files.writeString(tmp.resolve("device.yaml"), """
                device: {group: test, node: load}
                state_dir: %s
                models:
                  - {name: slow, bundle: %s}
                sources:
                  - %s
                samples: {enabled: false}
                %s
                """.formatted(tmp.resolve("state"), bundle, source, mqtt));
    }

    /** The fleet side: the device's latest health report and every input-dropped event. */
    private static final class FleetSide implements AutoCloseable {
        final MqttClient client;
        final AtomicReference<JsonNode> health = new AtomicReference<>();
        final List<JsonNode> reports = new CopyOnWriteArrayList<>();
        final List<JsonNode> dropEvents = new CopyOnWriteArrayList<>();

        FleetSide(String uri) throws Exception {
            client = new MqttClient(uri, "fleet-" + UUID.randomUUID(), new MemoryPersistence());
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setCleanStart(true);
            client.connect(o);
            // Paho 1.2.5's subscribe(String, int, listener) recurses into itself; the array form works.
            client.subscribe(new MqttSubscription[] {new MqttSubscription("plateau/v1/test/load/health", 0),
                new MqttSubscription("plateau/v1/test/load/event/input-dropped", 1)},
                    new IMqttMessageListener[] {(t, m) -> {
                        JsonNode h = JSON.readTree(m.getPayload());
                        health.set(h);
                        reports.add(h);
                    },
                        (t, m) -> dropEvents.add(JSON.readTree(m.getPayload()))});
        }

        JsonNode model() {
            JsonNode h = health.get();
            return h == null ? null : h.path("models").path("tiny-gray");
        }

        /** The model's part of the first health report that satisfies {@code test}. */
        JsonNode await(Predicate<JsonNode> test, int seconds, ChildJvm child) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                JsonNode m = model();
                if (m != null && test.test(m)) {
                    return m;
                }
                assertTrue(child.process().isAlive(), "the daemon died: " + String.join("\n", child.lines()));
                assertTrue(System.nanoTime() < deadline, "health not as expected within " + seconds + " s: " + m);
                Thread.sleep(50);
            }
        }

        @Override
        public void close() throws org.eclipse.paho.mqttv5.common.MqttException {
            client.disconnectForcibly(0, 1000, false);
            client.close(true);
        }
    }

    @Test
    void mqttSource_twiceTheInferenceRateFor12s_boundedQueueEveryMessageAccountedMemoryAndWaitBounded() throws Exception {
        overload(Duration.ofSeconds(12));
    }

    @Test
    @Tag("slow")
    void mqttSource_twiceTheInferenceRateFor5min_boundedQueueEveryMessageAccountedMemoryFlatAndWaitBounded()
            throws Exception {
        overload(Duration.ofMinutes(5));
    }

    private void overload(Duration load) throws Exception {
        try (Mosquitto broker = Mosquitto.start(tmp, Fleets.freePort())) {
            Path config = config("{name: gateway, type: mqtt, model: slow, topic: \"gateway/frames\", qos: 1, queue: "
                    + QUEUE + ", drop: oldest}", "mqtt: {broker: \"" + broker.uri() + "\", health_period_s: 1}");
            byte[] frame = Daemons.middlePng();
            ChildJvm child = Daemons.startReady(config);
            MqttClient gateway = new MqttClient(broker.uri(), "gateway-" + UUID.randomUUID(), new MemoryPersistence());
            try (FleetSide fleet = new FleetSide(broker.uri())) {
                gateway.connect();
                fleet.await(m -> m.has("sources"), 20, child);
                assertTrue(child.awaitLine("source gateway: subscribing", 10), String.join("\n", child.lines()));
                // The source subscribes in the background: a frame every 200 ms until one arrives. Frames
                // before its subscription reach nobody, so the count starts from what it received.
                long subscribeBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (fleet.model().path("sources").path("gateway").path("received").asLong() == 0) {
                    gateway.publish("gateway/frames", frame, 1, false);
                    assertTrue(System.nanoTime() < subscribeBy, "the source never received a frame");
                    Thread.sleep(200);
                }
                Thread.sleep(1_500); // the last probe's report
                int published = (int) fleet.model().path("sources").path("gateway").path("received").asLong();

                // The device's rate, measured on the device: frames far faster than it infers, for a few
                // seconds after a warm-up; the rate is what it inferred per second of its own clock.
                long saturateUntil = System.nanoTime() + SATURATE.toNanos();
                int before = fleet.reports.size();
                while (System.nanoTime() < saturateUntil) {
                    gateway.publish("gateway/frames", frame, 1, false);
                    published++;
                    Thread.sleep(1000 / SATURATE_RATE);
                }
                List<JsonNode> window = fleet.reports.subList(before, fleet.reports.size());
                JsonNode from = window.get(2).path("models").path("tiny-gray");
                JsonNode to = window.get(window.size() - 1).path("models").path("tiny-gray");
                double seconds = Duration.between(Instant.parse(window.get(2).path("ts").asText()),
                        Instant.parse(window.get(window.size() - 1).path("ts").asText())).toNanos() / 1e9;
                double rate = (to.path("inferences").asLong() - from.path("inferences").asLong()) / seconds;
                double sendRate = 2 * rate;

                // Twice that rate, for the load's duration, memory sampled every second.
                long period = Math.round(1e9 / sendRate);
                long start = System.nanoTime();
                long next = start;
                long nextSample = start;
                List<Long> rss = new ArrayList<>();
                JsonNode atStart = fleet.model();
                int loadPublished = 0;
                int peakSeen = 0;
                while (System.nanoTime() - start < load.toNanos()) {
                    long now = System.nanoTime();
                    if (now >= nextSample) {
                        rss.add(Daemons.rssKib(child.process().pid()));
                        JsonNode m = fleet.model();
                        peakSeen = Math.max(peakSeen, m.path("sources").path("gateway").path("queued").asInt());
                        nextSample += TimeUnit.SECONDS.toNanos(1);
                    }
                    if (now >= next) {
                        gateway.publish("gateway/frames", frame, 1, false);
                        loadPublished++;
                        next += period;
                    } else {
                        TimeUnit.NANOSECONDS.sleep(Math.min(next, nextSample) - now);
                    }
                }
                double loadSeconds = (System.nanoTime() - start) / 1e9;
                JsonNode atEnd = fleet.model();
                double loadRate = (atEnd.path("inferences").asLong() - atStart.path("inferences").asLong()) / loadSeconds;
                published += loadPublished;
                int total = published;

                // The queue drains; then every message received is handled or dropped, exactly.
                JsonNode end = fleet.await(m -> m.path("sources").path("gateway").path("received").asLong() == total
                        && m.path("sources").path("gateway").path("queued").asInt() == 0
                        && m.path("inferences").asLong() == m.path("sources").path("gateway").path("handled").asLong(),
                        30, child);
                JsonNode q = end.path("sources").path("gateway");
                long inferred = end.path("inferences").asLong();
                long dropped = q.path("dropped").asLong();
                assertEquals(total, q.path("received").asLong(), "the broker delivered every frame: " + q);
                assertEquals(0, q.path("oversized").asLong());
                assertEquals(0, end.path("rejected").asLong() + end.path("errors").asLong(), end.toString());
                assertEquals(total - inferred, dropped, "dropped == published - inferred, nothing unaccounted: " + end);
                assertEquals(dropped, end.path("dropped").asLong(), "the model's figure is its sources' sum");
                assertTrue(dropped >= loadPublished / 4, "at twice the rate about half must go: " + q);
                assertTrue(q.path("queue_peak").asInt() <= QUEUE && peakSeen <= QUEUE, "bounded queue: " + q);
                assertEquals(QUEUE, q.path("queue_peak").asInt(), "the queue was full: " + q);

                // An accepted frame waits behind at most QUEUE others: the bound is the queue's worth of
                // inferences at the p99 latency, one more for itself, and a drain period, with half as
                // much again for the histogram's bucket width and two cores shared with the test.
                double p99Ms = end.path("latency_p99_us").asLong() / 1000.0;
                double boundMs = (QUEUE + 1) * p99Ms * 1.5 + 2 * 100;
                double waitedMaxMs = q.path("waited_max_ms").asDouble();
                assertTrue(waitedMaxMs <= boundMs, "waited " + waitedMaxMs + " ms, bound " + boundMs + " ms: " + q);

                // Memory: bounded throughout, and flat in runs long enough to be past the heap's growth.
                long maxRss = rss.stream().mapToLong(Long::longValue).max().orElseThrow();
                int third = Math.max(1, rss.size() / 3);
                long middle = rss.subList(third, 2 * third).stream().mapToLong(Long::longValue).max().orElseThrow();
                long last = rss.subList(rss.size() - third, rss.size()).stream().mapToLong(Long::longValue).max()
                        .orElseThrow();
                assertTrue(maxRss <= RSS_LIMIT_KIB, "resident " + maxRss / 1024 + " MiB");
                assertTrue(last - middle <= RSS_GROWTH_KIB, "resident memory grew from " + middle / 1024 + " to "
                        + last / 1024 + " MiB");

                // Reported: the first drop at once, then one line and one event a minute, never one per drop.
                long dropLines = child.lines().stream().filter(l -> l.contains("source gateway:")
                        && l.contains("message(s) dropped")).count();
                long minutes = (long) Math.ceil(loadSeconds / 60);
                assertTrue(dropLines >= 1 && dropLines <= minutes + 1, dropLines + " drop lines in " + loadSeconds + " s");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (fleet.dropEvents.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(!fleet.dropEvents.isEmpty() && fleet.dropEvents.size() <= minutes + 1, fleet.dropEvents.toString());
                assertEquals("gateway", fleet.dropEvents.get(0).path("source").asText());
                assertEquals("oldest", fleet.dropEvents.get(0).path("drop").asText());

                Daemons.stop(child);
                assertTrue(child.awaitOutputEnd(10));
                String stopLine = "stats source=gateway received=" + total + " oversized=0 dropped=" + dropped
                        + " handled=" + inferred + " queued=0 queue_peak=" + QUEUE;
                assertTrue(child.lines().stream().anyMatch(l -> l.contains(stopLine)), stopLine + " in\n"
                        + String.join("\n", Daemons.tail(child.lines(), 20)));
                System.out.printf("overload %.0f s: the device infers %.1f/s saturated (%.1f/s during the load), "
                        + "frames published at %.1f/s; %d published, %d "
                        + "received, %d inferred, %d dropped (%.0f %%), queue peak %d of %d; accepted frames waited "
                        + "at most %.0f ms (p99 %.0f ms, bound %.0f ms); resident %d MiB at most, middle third %d, "
                        + "last third %d; %d drop line(s), %d input-dropped event(s)%n", loadSeconds, rate, loadRate,
                        loadPublished / loadSeconds, total, q.path("received").asLong(), inferred, dropped,
                        100.0 * dropped / total, q.path("queue_peak").asInt(), QUEUE, waitedMaxMs,
                        q.path("waited_p99_ms").asDouble(), boundMs, maxRss / 1024, middle / 1024, last / 1024,
                        dropLines, fleet.dropEvents.size());
            } finally {
                child.process().destroyForcibly();
                gateway.disconnectForcibly(0, 1000, false);
                gateway.close(true);
            }
        }
    }
    /**
     * An inbox has no queue to drop from: files the model cannot take yet wait on disk. Fed at
     * twice the rate it drains, the backlog grows, and then every file is inferred and moved to
     * {@code processed/}, none rejected, none left, each counted once.
     */
    @Test
    void directoryInbox_twiceTheInferenceRateFor6s_backlogDrainedCompletelyEveryFileCounted() throws Exception {
        Path inbox = tmp.resolve("inbox");
        Path config = config("{name: inbox, type: directory, model: slow, path: " + inbox + ", poll_ms: 50, "
                + "settle_ms: 0}", "");
        byte[] frame = Daemons.middlePng();
        ChildJvm child = Daemons.startReady(config);
        try {
            // The rate: a warm-up, then a batch written at once and the time it takes to drain.
            int written = 0;
            for (int i = 0; i < 4; i++) {
                Files2.drop(inbox.resolve(String.format("w%04d.png", written++)), frame);
            }
            awaitProcessed(inbox, written, 60, child);
            int batch = 24;
            long t0 = System.nanoTime();
            for (int i = 0; i < batch; i++) {
                Files2.drop(inbox.resolve(String.format("w%04d.png", written++)), frame);
            }
            awaitProcessed(inbox, written, 60, child);
            double rate = batch / ((System.nanoTime() - t0) / 1e9);

            long period = Math.round(1e9 / (2 * rate));
            long start = System.nanoTime();
            long next = start;
            int backlog = 0;
            int fed = 0;
            while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(6)) {
                if (System.nanoTime() >= next) {
                    Files2.drop(inbox.resolve(String.format("f%05d.png", fed++)), frame);
                    next += period;
                    backlog = Math.max(backlog, Daemons.names(inbox).size());
                } else {
                    TimeUnit.NANOSECONDS.sleep(next - System.nanoTime());
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            int total = written + fed;
            long drainStart = System.nanoTime();
            awaitProcessed(inbox, total, 120, child);
            double drainSeconds = (System.nanoTime() - drainStart) / 1e9;

            assertEquals(List.of(), Daemons.names(inbox), "nothing left in the inbox");
            assertEquals(List.of(), Daemons.names(inbox.resolve("rejected")), "nothing rejected");
            assertEquals(total, Daemons.names(inbox.resolve("processed")).size());
            assertTrue(backlog >= fed / 4, "the inbox was fed faster than it drains: backlog " + backlog + " of " + fed);
            Daemons.stop(child);
            assertTrue(child.awaitOutputEnd(10));
            String stats = "stats model=tiny-gray inferences=" + total + " rejected=0 errors=0";
            assertTrue(child.lines().stream().anyMatch(l -> l.contains(stats)), stats + " in\n"
                    + String.join("\n", Daemons.tail(child.lines(), 10)));
            System.out.printf("inbox at twice the rate: the device drains %.1f files/s, %d fed in %.0f s (%.1f/s); "
                    + "backlog up to %d files, drained %.1f s after the last; %d of %d inferred, 0 rejected, 0 lost%n",
                    rate, fed, seconds, fed / seconds, backlog, drainSeconds, total, total);
        } finally {
            child.process().destroyForcibly();
        }
    }

    private static void awaitProcessed(Path inbox, int n, int seconds, ChildJvm child) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (Daemons.names(inbox.resolve("processed")).size() < n) {
            assertTrue(child.process().isAlive(), "the daemon died: " + String.join("\n", child.lines()));
            assertTrue(System.nanoTime() < deadline, Daemons.names(inbox.resolve("processed")).size() + " of " + n
                    + " processed within " + seconds + " s");
            Thread.sleep(20);
        }
    }
}
