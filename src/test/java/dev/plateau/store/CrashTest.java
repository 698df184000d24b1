package dev.plateau.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.model.ModelBundle;
import dev.plateau.testing.Files2;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 at random points while a child JVM writes, activates and rolls back versions: after
 * every kill the store opens, {@code active} loads and answers, and no version is half-written.
 */
class CrashTest {
    private static final int KILLS = 50;

    @TempDir
    Path tmp;

    @Test
    void killDuringWriteAndActivation_fiftyTimes_activeAlwaysLoadsAndNoVersionIsHalfWritten() throws Exception {
        Path shipped = Bundles.bundle(tmp.resolve("shipped"), 1);
        Path state = tmp.resolve("state");
        Path image = tmp.resolve("middle.png");
        int[][] pixels = new int[4][4];
        pixels[1] = new int[] {255, 255, 255, 255};
        Files.write(image, Files2.grayPng(pixels));
        Random random = new Random(20261124L);
        int activatedBeyondShipped = 0;
        long interruptedWrites = 0;
        for (int kill = 0; kill < KILLS; kill++) {
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    CrashWorker.class.getName(), state.toString(), shipped.toString(), Long.toString(kill))
                    .redirectError(tmp.resolve("child.err").toFile()).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line = out.readLine();
                // Some kills land in open()'s recovery, most in the write/activate loop.
                if (random.nextInt(5) > 0) {
                    assertEquals("ready", line, "child did not start: " + Files.readString(tmp.resolve("child.err")));
                    // Half of these wait for the child's first activation, so that on a loaded machine,
                    // where a write takes longer, kills still land among activations.
                    if (random.nextBoolean()) {
                        assertEquals("activated", out.readLine(), "child did not activate: "
                                + Files.readString(tmp.resolve("child.err")));
                    }
                    Thread.sleep(random.nextInt(200));
                }
                child.destroyForcibly();
                assertTrue(child.waitFor(10, TimeUnit.SECONDS), "child did not die");
            }

            ModelStore store = new ModelStore(state);
            interruptedWrites += store.open(Bundles.MODEL, shipped).stream()
                    .filter(f -> f.contains("removed unfinished")).count();
            assertFalse(Files.exists(store.modelDir(Bundles.MODEL).resolve("quarantine")),
                    "a version was half-written after kill " + kill + ": " + store.journalEntries(Bundles.MODEL));
            for (int v : store.versions(Bundles.MODEL)) {
                assertTrue(Hashes.mismatch(store.versionDir(Bundles.MODEL, v)).isEmpty(), "version " + v);
            }
            int active = store.active(Bundles.MODEL);
            activatedBeyondShipped += active > 0 ? 1 : 0;
            try (InferenceEngine engine = InferenceEngine.load(ModelBundle.open(store.activeDir(Bundles.MODEL)),
                    OrtRuntime.environment(1), 0)) {
                Prediction p = engine.infer(image);
                assertEquals("middle", p.label(), "active version " + active + " after kill " + kill);
            }
        }
        assertTrue(activatedBeyondShipped > KILLS / 2, "kills rarely reached an activation: " + activatedBeyondShipped);
        assertTrue(interruptedWrites > 0, "no kill landed inside a write; the test proves nothing about them");
    }
}
