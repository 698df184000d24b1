package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.store.DiskStatus;
import dev.plateau.store.FailureLog;
import dev.plateau.testing.GatedProxy;
import dev.plateau.testing.Mounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbox on a real 4 MiB tmpfs state directory that runs full while events are written: no
 * caller fails, no event is lost, what was stored stays as it was, health says which directory is
 * full and by how much, one warning a minute, and once there is room the held events are written
 * and everything is delivered, without a restart.
 */
class OutboxDiskFullTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path tmp;

    private final Mounts mounts = new Mounts();
    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private final Broker broker = Broker.get();
    private final String node = "full-" + UUID.randomUUID().toString().substring(0, 8);
    private final Topics topics = new Topics("test", node);
    private final Set<String> delivered = ConcurrentHashMap.newKeySet();
    private Path state;
    private DiskStatus disk;
    private GatedProxy path;
    private Observer fleetSide;

    @BeforeEach
    void setUp() throws Exception {
        state = mounts.tmpfs(tmp.resolve("state"), "4m");
        disk = new DiskStatus(Clock.systemUTC(), new FailureLog(Clock.systemUTC(), FailureLog.INTERVAL, warnings::add));
        path = new GatedProxy(broker.port);
        fleetSide = new Observer(broker.uri());
        fleetSide.client.subscribe(new MqttSubscription[] {new MqttSubscription(topics.root() + "event/#", 1)},
                new IMqttMessageListener[] {(t, m) -> delivered.add(Json.MAPPER.readTree(m.getPayload())
                        .get("eventId").asText())});
    }

    @AfterEach
    void tearDown() throws Exception {
        fleetSide.close();
        path.close();
        mounts.close();
    }

    private Fleet start() {
        return Fleet.start(FleetTest.settings(path.uri(), node, state, 3600)
                .withBackoff(Duration.ofMillis(100), Duration.ofMillis(500)), Map::of, Map.of(), disk);
    }

    private static Map<String, byte[]> files(Path dir) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.toList()) {
                out.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        return out;
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(20);
        }
    }

    @Test
    void add_diskFillsWhileEventsAreWritten_heldInMemoryThenWrittenAndDeliveredOnceThereIsRoom() throws Exception {
        path.cut(); // no broker: every event stays in the outbox
        try (Fleet fleet = start()) {
            for (int n = 0; n < 100; n++) {
                fleet.event("tick", Outbox.Kind.DECISION, Map.of("n", n));
            }
            Path outbox = state.resolve("outbox");
            Map<String, byte[]> before = files(outbox);
            assertEquals(100, before.size());
            Path filler = Mounts.fill(state);

            for (int n = 100; n < 300; n++) {
                fleet.event(n % 2 == 0 ? "tick" : "tock", n % 2 == 0 ? Outbox.Kind.DECISION : Outbox.Kind.HEALTH,
                        Map.of("n", n));
            }

            assertEquals(300, fleet.outbox().size(), "no event lost, no caller failed");
            int held = fleet.outbox().inMemory();
            assertTrue(held >= 190, held + " held in memory");
            Map<String, byte[]> during = files(outbox);
            assertTrue(during.keySet().stream().noneMatch(f -> f.startsWith(".tmp-")), "no temporary file: " + during.keySet());
            before.forEach((name, bytes) -> assertArrayEquals(bytes, during.get(name), name + " changed"));
            Map<String, Object> view = disk.view();
            assertEquals("full", view.get("state"), view.toString());
            @SuppressWarnings("unchecked")
            Map<String, Object> outboxFull = ((List<Map<String, Object>>) view.get("full")).get(0);
            assertEquals("outbox", outboxFull.get("writer"));
            assertEquals(outbox.toString(), outboxFull.get("dir"));
            assertTrue((long) outboxFull.get("need_bytes") > (long) outboxFull.get("have_bytes"), view.toString());
            assertEquals(1, warnings.size(), "one warning for " + held + " failed writes: " + warnings);
            assertTrue(warnings.get(0).matches("outbox: event \\S+ \\(t[io]ck\\): no space left on " + outbox
                    + ": need \\d+ bytes, have \\d+; held in memory \\(\\d+ now\\) and written once there is room"),
                    warnings.get(0));

            Files.delete(filler);
            fleet.event("tick", Outbox.Kind.DECISION, Map.of("n", 300));

            assertEquals(0, fleet.outbox().inMemory(), "written as soon as there was room");
            assertEquals(301, files(outbox).size());
            assertEquals("ok", disk.view().get("state"));
            Set<String> ids = Set.copyOf(fleet.outbox().pending().stream().map(Outbox.Event::eventId).toList());

            path.pass();
            await(() -> delivered.containsAll(ids), "delivered " + delivered.size() + " of " + ids.size());
            await(() -> fleet.outbox().size() == 0, "outbox not emptied: " + fleet.outbox().size());
            System.out.printf("outbox on a full disk: 301 events produced (%d while full, held in memory), 301 "
                    + "delivered; %d warning line(s)%n", held, warnings.size());
        }
    }

    @Test
    void add_diskFullWhileConnected_heldEventsDeliveredFromMemoryAndNeverWritten() throws Exception {
        try (Fleet fleet = start()) {
            await(fleet::connected, "not connected");
            Path filler = Mounts.fill(state);
            List<String> ids = new java.util.ArrayList<>();
            for (int n = 0; n < 50; n++) {
                ids.add(fleet.event("tick", Outbox.Kind.DECISION, Map.of("n", n)).stored().orElseThrow().eventId());
            }

            await(() -> delivered.containsAll(ids), "delivered " + delivered.size() + " of 50 from memory");
            await(() -> fleet.outbox().size() == 0, "acknowledged events leave memory too");
            assertEquals(List.of(), List.copyOf(files(state.resolve("outbox")).keySet()));
            Files.delete(filler);
        }
    }
}
