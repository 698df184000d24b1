package dev.plateau.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.cli.Main;
import dev.plateau.store.ModelStore;
import dev.plateau.store.SigningKey;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Mosquitto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} in the middle of a deploy: of the device while chunks arrive (it goes on from
 * the chunks on its disk at the next start), and of the controller mid-rollout (the resumed one
 * goes on from its state file). At no moment is a half-received bundle in the store.
 */
class DeployKillTest {
    /** 2 MiB of padding: 64 chunks of 32 KiB, about 8 s at the device's 256 KiB/s. */
    private static final int PADDING = 2 << 20;

    @TempDir
    Path tmp;

    private static int partChunks(Path state) throws Exception {
        Path deploy = state.resolve("deploy");
        if (!Files.isDirectory(deploy)) {
            return 0;
        }
        try (Stream<Path> dirs = Files.list(deploy)) {
            for (Path d : dirs.toList()) {
                Path part = d.resolve("data.part");
                if (Files.exists(part)) {
                    return (int) (Files.size(part) / (32 * 1024));
                }
            }
        }
        return 0;
    }

    private static void awaitPart(Path state, int chunks, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (partChunks(state) < chunks) {
            assertTrue(System.nanoTime() < deadline, "no " + chunks + " chunks on disk within " + seconds + " s");
            Thread.sleep(50);
        }
    }

    /** Nothing of the new version in the store: the shipped one active, no version written. */
    private static void untouched(Path state) {
        ModelStore store = new ModelStore(state);
        assertEquals(0, store.active("tiny-gray"));
        assertEquals(List.of(), store.versions("tiny-gray"));
    }

    @Test
    void deploy_deviceKilledMidTransfer_resumesFromItsChunksAfterRestartAndInstallsWholeBundle() throws Exception {
        try (Mosquitto broker = Mosquitto.start(tmp, Fleets.freePort())) {
            SigningKey key = Fleets.fleetKey(tmp);
            Path config = Fleets.device(tmp, "kill-d", broker.uri());
            Path state = tmp.resolve("kill-d/state");
            Path bundle = Fleets.bundle(tmp, "big", 2, 1f, key, PADDING);
            ChildJvm device = Fleets.start(config);
            try {
                Fleets.awaitReady(device);
                CompletableFuture<Fleets.Printed> run = CompletableFuture.supplyAsync(() -> Fleets.capture(() ->
                        Main.execute("fleet", "deploy", "--broker", broker.uri(), "--group", "test", "--nodes",
                                "kill-d", "--deadline", "120", bundle.toString())));
                awaitPart(state, 16, 60);
                Fleets.kill(device);
                untouched(state);
                int onDisk = partChunks(state);

                device = Fleets.start(config);
                Fleets.awaitReady(device);
                Fleets.Printed printed = run.get(120, TimeUnit.SECONDS);
                assertEquals(0, printed.exit(), printed.out());
                assertTrue(printed.out().matches("(?s).*kill-d\\s+installed\\s+2\\s+active.*"), printed.out());
                assertTrue(device.awaitLine("resuming with", 5), String.join("\n", device.lines()));
                String resumed = device.lines().stream().filter(l -> l.contains("resuming with")).findFirst().get();
                int kept = Integer.parseInt(resumed.replaceAll(".*resuming with (\\d+) of \\d+ chunks.*", "$1"));
                assertTrue(kept >= onDisk - 8 && kept >= 8, "resumed with " + kept + " of " + onDisk + " written");
                assertEquals(2, new ModelStore(state).active("tiny-gray"));
                try (Stream<Path> left = Files.list(state.resolve("deploy"))) {
                    assertEquals(List.of(), left.toList(), "the staging directory is removed");
                }
            } finally {
                device.process().destroyForcibly();
            }
        }
    }

    @Test
    void rollout_controllerKilledMidTransfer_resumeFromStateFileFinishesAndNoHalfBundleRuns() throws Exception {
        try (Mosquitto broker = Mosquitto.start(tmp, Fleets.freePort())) {
            SigningKey key = Fleets.fleetKey(tmp);
            Path config = Fleets.device(tmp, "ctl-d", broker.uri());
            Path state = tmp.resolve("ctl-d/state");
            Path bundle = Fleets.bundle(tmp, "big", 2, 1f, key, PADDING);
            Path rollout = tmp.resolve("rollout.json");
            ChildJvm device = Fleets.start(config);
            try {
                Fleets.awaitReady(device);
                ChildJvm controller = ChildJvm.start(Fleets.FLAGS, Map.of(), "dev.plateau.cli.Main", "fleet",
                        "rollout", "--broker", broker.uri(), "--group", "test", "--nodes", "ctl-d", "--canary", "1",
                        "--batch", "1", "--probation-wait", "60", "--deadline", "180", "--state", rollout.toString(),
                        bundle.toString());
                awaitPart(state, 16, 60);
                Fleets.kill(controller);
                String saved = Files.readString(rollout);
                assertTrue(saved.contains("\"state\":\"receiving\"") || saved.contains("\"state\":\"sent\""), saved);
                // Without a sender the device waits, asking again; nothing half-received is activated.
                Thread.sleep(2000);
                untouched(state);

                Fleets.Printed printed = Fleets.capture(() -> Main.execute("fleet", "rollout", "--broker",
                        broker.uri(), "--group", "test", "--resume", rollout.toString()));
                assertEquals(0, printed.exit(), printed.out());
                assertTrue(printed.out().matches("(?s).*ctl-d\\s+kept\\s+2\\s+survived probation.*"), printed.out());
                assertEquals(2, new ModelStore(state).active("tiny-gray"));
                assertTrue(Files.readString(rollout).contains("\"state\":\"done\""));
            } finally {
                device.process().destroyForcibly();
            }
        }
    }
}
