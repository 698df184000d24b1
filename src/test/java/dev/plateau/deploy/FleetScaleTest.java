package dev.plateau.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.fleet.Rollout;
import dev.plateau.store.SigningKey;
import dev.plateau.store.TrustedKeys;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mosquitto;
import dev.plateau.testing.PeakMemory;
import dev.plateau.testing.SimulatedFleet;
import dev.plateau.testing.SimulatedFleet.Fate;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's {@code plateau fleet rollout} in a child JVM against a {@link SimulatedFleet} on
 * mosquitto: every healthy device keeps the new version, the failures the fleet was given are
 * the ones the rollout counts, it halts where {@code --max-failures} says, and its state file
 * says so. Each run prints one {@code scale:} line with its figures (README "Delivering models").
 */
class FleetScaleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GROUP = "sim";
    private static final String MODEL = "tiny-gray";
    /** The controller's JVM: the serial collector and a fixed heap ceiling, so its peak RSS means something. */
    private static final List<String> CONTROLLER_JVM = List.of("-XX:+UseSerialGC", "-Xmx256m");
    /** Bundle padding: 96 KiB of random bytes make a 4-chunk transfer in 32 KiB chunks. */
    private static final int PADDING = 96 * 1024;

    @TempDir
    Path tmp;

    private Mosquitto broker;
    private SimulatedFleet fleet;

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    /** One rollout's outcome and figures. */
    private record Run(int exit, JsonNode summary, Rollout state, long wallMs, long peakRssKib, List<String> out) {}

    /**
     * Starts mosquitto and {@code devices} simulated devices, then runs {@code plateau fleet
     * rollout --all} with {@code options} (and --probation-wait 60 --deadline 600 unless given)
     * in a child JVM to its end.
     */
    private Run rollout(int devices, SimulatedFleet.Rates rates, long seed, String... options) throws Exception {
        broker = Mosquitto.start(tmp, Fleets.freePort(), "sys_interval 1\n");
        SigningKey key = Fleets.fleetKey(tmp);
        TrustedKeys keys = TrustedKeys.load(tmp.resolve("keys"));
        Path bundle = Fleets.bundle(tmp, "v2", 2, 1f, key, PADDING);
        long begin = System.nanoTime();
        fleet = SimulatedFleet.start(broker.uri(), tmp.resolve("devices"), new SimulatedFleet.Settings(GROUP, "sim",
                devices, MODEL, 1, rates, seed, Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofMinutes(5)), keys, keys);
        long connectMs = (System.nanoTime() - begin) / 1_000_000;
        int threads = ManagementFactory.getThreadMXBean().getThreadCount();
        String threadKinds = threadKinds();
        Path state = tmp.resolve("rollout.json");
        begin = System.nanoTime();
        List<String> args = new ArrayList<>(List.of("fleet", "rollout", "--broker", broker.uri(), "--group", GROUP,
                "--all", "--key", tmp.resolve("keys/fleet.key").toString(), "--state", state.toString(), "--json"));
        args.addAll(List.of(options));
        for (String[] d : new String[][] {{"--probation-wait", "60"}, {"--deadline", "600"}}) {
            if (!args.contains(d[0])) {
                args.addAll(List.of(d));
            }
        }
        args.add(bundle.toString());
        ChildJvm controller = ChildJvm.start(CONTROLLER_JVM, Map.of(), PeakMemory.class.getName(),
                args.toArray(String[]::new));
        assertTrue(controller.awaitOutputEnd(900), "controller still running: " + tail(controller.lines()));
        int exit = controller.process().waitFor();
        long wallMs = (System.nanoTime() - begin) / 1_000_000;
        List<String> out = new ArrayList<>(controller.lines());
        JsonNode summary = out.stream().filter(l -> l.startsWith("{\"rollout\"")).findFirst().map(FleetScaleTest::json)
                .orElseThrow(() -> new AssertionError("no summary line: " + tail(out)));
        long peak = out.stream().filter(l -> l.startsWith(PeakMemory.LINE)).findFirst()
                .map(l -> Long.parseLong(l.substring(PeakMemory.LINE.length()))).orElse(-1L);
        Run run = new Run(exit, summary, Rollout.load(state), wallMs, peak, out);
        Broker b = broker(broker.uri(), broker.pid());
        System.out.printf("scale: devices=%d %s rollout=%s failures=%d wall_ms=%d "
                        + "run_ms=%d published=%d received=%d chunks=%d peak_rss_mib=%.0f; simulation: connect_ms=%d "
                        + "threads=%d (%s) published=%d commands=%d peak_rss_mib=%.0f; fates=%s; broker: %s%n", devices,
                String.join(" ", options),
                summary.path("rollout").asText(), summary.path("failures").asLong(), wallMs,
                summary.path("ms").asLong(), summary.path("messages_published").asLong(),
                summary.path("messages_received").asLong(), summary.path("chunks_sent").asLong(), peak / 1024.0,
                connectMs, threads, threadKinds, fleet.published(), fleet.commands(), PeakMemory.vmHwmKib(Path.of("/proc/self/status")) / 1024.0,
                counts(fleet.fates()), b);
        assertEquals(Map.of(), fleet.errors(), "the simulation itself went wrong");
        assertEquals(0, fleet.refused(), "every command the controller sent carried a good signature");
        assertTrue(!broker.log().contains("dropped"), broker.log());
        return run;
    }

    /** What the broker says at the end: its $SYS totals, its peak RSS, and the group's retained messages. */
    private record Broker(Map<String, String> sys, long peakRssKib, Map<String, long[]> retained) {
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(String.format("peak_rss_mib=%.1f", peakRssKib / 1024.0));
            sys.forEach((k, v) -> b.append(' ').append(k.substring("$SYS/broker/".length()).replace(' ', '_'))
                    .append('=').append(v));
            retained.forEach((k, v) -> b.append(" retained_").append(k).append("=").append(v[0]).append(" msgs/")
                    .append(v[1]).append(" bytes"));
            return b.toString();
        }
    }

    private static final List<String> SYS = List.of("$SYS/broker/messages/received", "$SYS/broker/messages/sent",
            "$SYS/broker/publish/messages/received", "$SYS/broker/publish/messages/sent",
            "$SYS/broker/bytes/received", "$SYS/broker/bytes/sent", "$SYS/broker/clients/maximum",
            "$SYS/broker/retained messages/count", "$SYS/broker/heap/maximum");

    /** Listens for the $SYS figures (published every second here) and the group's retained status and deploy state. */
    private static Broker broker(String uri, long pid) throws Exception {
        Map<String, String> sys = new java.util.TreeMap<>();
        Map<String, long[]> retained = new java.util.TreeMap<>();
        org.eclipse.paho.mqttv5.client.MqttClient c = new org.eclipse.paho.mqttv5.client.MqttClient(uri,
                "scale-figures", new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
        c.connect();
        try {
            long end = System.nanoTime() + Duration.ofMillis(2500).toNanos();
            c.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
                @Override
                public void messageArrived(String topic, org.eclipse.paho.mqttv5.common.MqttMessage m) {
                    if (topic.startsWith("$SYS/")) {
                        if (SYS.contains(topic)) {
                            synchronized (sys) {
                                sys.put(topic, new String(m.getPayload(), java.nio.charset.StandardCharsets.UTF_8));
                            }
                        }
                    } else if (m.isRetained()) {
                        synchronized (retained) {
                            long[] r = retained.computeIfAbsent(topic.substring(topic.lastIndexOf('/') + 1),
                                    k -> new long[2]);
                            r[0]++;
                            r[1] += m.getPayload().length;
                        }
                    }
                }

                @Override
                public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) {}

                @Override
                public void mqttErrorOccurred(org.eclipse.paho.mqttv5.common.MqttException e) {}

                @Override
                public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken t) {}

                @Override
                public void connectComplete(boolean reconnect, String serverURI) {}

                @Override
                public void authPacketArrived(int reasonCode,
                                              org.eclipse.paho.mqttv5.common.packet.MqttProperties p) {}
            });
            c.subscribe(new String[] {"$SYS/broker/#", "plateau/v1/" + GROUP + "/+/status",
                "plateau/v1/" + GROUP + "/+/deploy"}, new int[] {0, 0, 0});
            Thread.sleep(Math.max(0, (end - System.nanoTime()) / 1_000_000));
        } finally {
            c.disconnect();
            c.close();
        }
        synchronized (sys) {
            synchronized (retained) {
                return new Broker(Map.copyOf(sys), PeakMemory.vmHwmKib(Path.of("/proc/" + pid + "/status")), Map.copyOf(retained));
            }
        }
    }


    /** This JVM's threads by name, digits dropped, the most common first: where the simulation's threads go. */
    private static String threadKinds() {
        Map<String, Long> kinds = new java.util.HashMap<>();
        Thread.getAllStackTraces().keySet().forEach(t -> kinds.merge(t.getName().replaceAll("[0-9]+", "N")
                .replaceAll("\\[.*", ""), 1L, Long::sum));
        return kinds.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
                .map(e -> e.getKey() + "=" + e.getValue()).collect(java.util.stream.Collectors.joining(", "));
    }

    /** The stage of each node as the rollout plans it: {@code canary} first, then batches of {@code batch}. */
    private static int stage(int index, int canary, int batch) {
        return index < canary ? 0 : (canary == 0 ? 0 : 1) + (index - canary) / batch;
    }

    /** What the rollout must count as failed: a failed deploy, a rollback, offline past --offline-wait. */
    private static boolean failing(Fate f) {
        return f != Fate.HEALTHY;
    }

    private static Map<Fate, Long> counts(Map<String, Fate> fates) {
        Map<Fate, Long> out = new java.util.EnumMap<>(Fate.class);
        fates.values().forEach(f -> out.merge(f, 1L, Long::sum));
        return out;
    }

    /** The rollout ended done, with exactly the fleet's failing devices failed, and the others kept on version 2. */
    private void assertCompleted(Run run) {
        Map<String, Fate> fates = fleet.fates();
        assertEquals("done", run.state().state(), run.state().reason());
        long failing = fates.values().stream().filter(FleetScaleTest::failing).count();
        assertEquals(failing, run.state().failures(), run.state().counts().toString());
        assertEquals(failing, run.summary().path("failures").asLong());
        assertEquals(failing == 0 ? 0 : 3, run.exit());
        assertEquals(fates.size(), run.state().nodes().size(), "every device discovered");
        for (Rollout.Node n : run.state().nodes()) {
            Fate fate = fates.get(n.name);
            assertEquals(expected(fate), n.state, n.name + " (" + fate + "): " + n.reason);
            assertEquals(fate == Fate.HEALTHY ? 2 : 1, fleet.active(n.name), n.name + " active version");
        }
    }

    /** The state the rollout must end a node of this fate in. */
    private static String expected(Fate fate) {
        return switch (fate) {
            case HEALTHY -> "kept";
            case DEPLOY_FAILS -> "failed";
            case ROLLS_BACK -> "rolled-back";
            case OFFLINE -> "timeout";
        };
    }

    @Test
    void rollout_100SimulatedDevicesWithFailures_healthyOnesKeepItAndFailuresAreCounted() throws Exception {
        Run run = rollout(100, new SimulatedFleet.Rates(0.03, 0.03, 0.03), 7, "--canary", "5", "--batch", "25",
                "--max-failures", "20", "--offline-wait", "3");
        Map<Fate, Long> counts = counts(fleet.fates());
        long failing = fleet.fates().values().stream().filter(FleetScaleTest::failing).count();
        assertTrue(counts.size() == Fate.values().length && failing <= 20,
                "seed 7 gives every fate, the failures within --max-failures: " + counts);
        assertCompleted(run);
    }

    @Test
    void rollout_failuresPastMaxFailures_haltsAtTheStageThatCrossesItAndLaterOnesGetNothing() throws Exception {
        int canary = 5;
        int batch = 20;
        int maxFailures = 2;
        Run run = rollout(100, new SimulatedFleet.Rates(0.05, 0.05, 0), 11, "--canary", Integer.toString(canary),
                "--batch", Integer.toString(batch), "--max-failures", Integer.toString(maxFailures));
        List<Fate> fates = List.copyOf(fleet.fates().values());
        List<String> names = List.copyOf(fleet.fates().keySet());
        int last = stage(fates.size() - 1, canary, batch);
        int[] perStage = new int[last + 1];
        for (int i = 0; i < fates.size(); i++) {
            perStage[stage(i, canary, batch)] += failing(fates.get(i)) ? 1 : 0;
        }
        int halt = -1;
        for (int s = 0, failed = 0; s <= last && halt < 0; s++) {
            failed += perStage[s];
            halt = failed > maxFailures ? s : -1;
        }
        assertTrue(halt > 0 && halt < last,
                "seed 11 halts in a middle stage: " + halt);
        assertEquals("halted", run.state().state());
        assertTrue(run.state().reason().contains("more than --max-failures " + maxFailures), run.state().reason());
        assertEquals(3, run.exit());
        for (int i = 0; i < names.size(); i++) {
            Rollout.Node n = run.state().nodes().get(i);
            assertEquals(names.get(i), n.name);
            int s = stage(i, canary, batch);
            if (s > halt) {
                assertEquals("skipped", n.state, n.name);
                assertEquals(0, fleet.deploysReceived(n.name), n.name + " was sent nothing");
                assertEquals(1, fleet.active(n.name), n.name);
            } else if (s < halt) {
                assertEquals(expected(fates.get(i)), n.state, n.name);
            }
        }
    }

    @Test
    void rollout_offlineCanaryWithoutOfflineWait_holdsItsStageUntilTheDeadlineThenExpiresSendingNoMore()
            throws Exception {
        int canary = 4;
        Run run = rollout(20, new SimulatedFleet.Rates(0, 0, 0.25), 5, "--canary", Integer.toString(canary),
                "--batch", "8", "--max-failures", "100", "--deadline", "12");
        List<Fate> fates = List.copyOf(fleet.fates().values());
        assertTrue(fates.subList(0, canary).contains(Fate.OFFLINE), "seed 5 has an offline canary: " + fates);
        assertEquals("expired", run.state().state(), run.state().reason());
        assertTrue(run.state().reason().startsWith("deadline "), run.state().reason());
        assertEquals(3, run.exit());
        for (int i = 0; i < fates.size(); i++) {
            Rollout.Node n = run.state().nodes().get(i);
            if (i < canary) {
                assertEquals(fates.get(i) == Fate.OFFLINE ? "timeout" : "kept", n.state, n.name + ": " + n.reason);
            } else {
                assertEquals("skipped", n.state, n.name);
                assertEquals(0, fleet.deploysReceived(n.name), n.name + " was sent nothing");
            }
        }
    }

    @Test
    @Tag("slow")
    void rollout_1000SimulatedDevices_completesWithHealthyOnesKeptAndFailuresCounted() throws Exception {
        Run run = rollout(1000, new SimulatedFleet.Rates(0.01, 0.01, 0.01), 1000, "--canary", "10", "--batch", "100",
                "--max-failures", "50", "--offline-wait", "5");
        assertCompleted(run);
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }

    private static String tail(List<String> live) {
        List<String> lines = List.copyOf(live); // a sub-list of a child's live lines fails as they grow
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
