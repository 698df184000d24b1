package dev.plateau.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.cli.Main;
import dev.plateau.store.ModelStore;
import dev.plateau.store.SigningKey;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mosquitto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end-to-end cases: mosquitto, three real daemons as child JVMs, and the operator's
 * {@code plateau fleet rollout} and {@code deploy} in this JVM, with real signed bundles.
 */
class RolloutEndToEndTest {
    private static final List<String> NODES = List.of("e2e-a", "e2e-b", "e2e-c");

    @TempDir
    Path tmp;

    private Mosquitto broker;
    private final List<ChildJvm> devices = new ArrayList<>();
    private SigningKey key;

    @BeforeEach
    void start() throws Exception {
        broker = Mosquitto.start(tmp, Fleets.freePort());
        key = Fleets.fleetKey(tmp);
        for (String node : NODES) {
            devices.add(Fleets.start(Fleets.device(tmp, node, broker.uri())));
        }
        for (ChildJvm d : devices) {
            Fleets.awaitReady(d);
        }
    }

    @AfterEach
    void stop() {
        devices.forEach(d -> d.process().destroyForcibly());
        broker.close();
    }

    private int active(String node) {
        return new ModelStore(tmp.resolve(node).resolve("state")).active("tiny-gray");
    }

    private static String row(String out, String node) {
        var m = Pattern.compile("(?m)^" + node + " .*$").matcher(out);
        String last = "";
        while (m.find()) {
            last = m.group();
        }
        return last;
    }

    @Test
    void rollout_signedBundleCanaryThenBatch_reachesAllThreeAndIsKept() throws Exception {
        Path bundle = Fleets.bundle(tmp, "v2", 2, 1f, key, 0);
        Fleets.Printed run = Fleets.capture(() -> Main.execute("fleet", "rollout", "--broker", broker.uri(),
                "--group", "test", "--nodes", String.join(",", NODES), "--canary", "1", "--batch", "2",
                "--max-failures", "0", "--probation-wait", "60", "--deadline", "120", "--state",
                tmp.resolve("rollout.json").toString(), bundle.toString()));
        assertEquals(0, run.exit(), run.out());
        for (String node : NODES) {
            assertTrue(row(run.out(), node).matches(node + "\\s+kept\\s+2\\s+survived probation.*"), run.out());
            assertEquals(2, active(node), node);
        }
        // The canary ended its probation before the batch was sent.
        String out = run.out();
        assertTrue(out.indexOf("e2e-a                    kept") < out.indexOf("e2e-b                    sent"), out);

        // The operator's status: online, version 2 kept by probation, the deploy that brought it.
        Fleets.Printed status = Fleets.capture(() -> Main.execute("fleet", "status", "--broker", broker.uri(),
                "--group", "test", "--seconds", "3"));
        assertEquals(0, status.exit(), status.out());
        for (String node : NODES) {
            assertTrue(row(status.out(), node).matches(node + "\\s+online\\s+tiny-gray v2 \\(kept v2\\)\\s+"
                    + "succeeded b-[0-9a-f]{16} v2\\s+-"), status.out());
        }
    }

    @Test
    void rollout_confidenceCollapsesOnTheCanary_rolledBackAndHaltsWithoutTouchingTheOthers() throws Exception {
        Path bundle = Fleets.bundle(tmp, "flat", 2, 0f, key, 0);
        Fleets.Printed run = Fleets.capture(() -> Main.execute("fleet", "rollout", "--broker", broker.uri(),
                "--group", "test", "--nodes", String.join(",", NODES), "--canary", "1", "--batch", "2",
                "--max-failures", "0", "--probation-wait", "60", "--deadline", "120", bundle.toString()));
        assertEquals(3, run.exit(), run.out());
        assertTrue(row(run.out(), "e2e-a").matches("e2e-a\\s+rolled-back\\s+2\\s+probation of version 2: .*confidence.*"),
                run.out());
        assertTrue(run.out().contains("rollout halted: 1 node(s) failed, more than --max-failures 0"), run.out());
        for (String node : List.of("e2e-b", "e2e-c")) {
            assertTrue(row(run.out(), node).matches(node + "\\s+skipped\\s+.*rollout halted.*"), run.out());
            assertEquals(0, active(node), node);
            assertFalse(Files.exists(tmp.resolve(node).resolve("state/deploy")) && Files.list(tmp.resolve(node)
                    .resolve("state/deploy")).findAny().isPresent(), "nothing received on " + node);
            assertEquals(List.of(), new ModelStore(tmp.resolve(node).resolve("state")).versions("tiny-gray"), node);
        }
        assertEquals(0, active("e2e-a"), "rolled back to the shipped version");
    }

    @Test
    void deploy_unsignedAndDowngradedBundles_refusedByEveryDeviceWithTheReason() throws Exception {
        Path unsigned = Fleets.bundle(tmp, "unsigned", 2, 1f, null, 0);
        Fleets.Printed run = Fleets.capture(() -> Main.execute("fleet", "deploy", "--broker", broker.uri(),
                "--group", "test", "--all", "--deadline", "60", unsigned.toString()));
        assertEquals(3, run.exit(), run.out());
        for (String node : NODES) {
            assertTrue(row(run.out(), node).matches(node + "\\s+failed\\s+.*refused: unsigned: no signature.json.*"),
                    run.out());
            assertEquals(0, active(node));
        }
        Path old = Fleets.bundle(tmp, "v1", 1, 1f, key, 0);
        run = Fleets.capture(() -> Main.execute("fleet", "deploy", "--broker", broker.uri(), "--group", "test",
                "--nodes", String.join(",", NODES), "--deadline", "60", old.toString()));
        assertEquals(3, run.exit(), run.out());
        for (String node : NODES) {
            assertTrue(row(run.out(), node).matches(node
                    + "\\s+rejected\\s+downgrade: version 1 of tiny-gray is not above the current version 1"), run.out());
            assertEquals(List.of(), new ModelStore(tmp.resolve(node).resolve("state")).versions("tiny-gray"));
        }
    }
}
