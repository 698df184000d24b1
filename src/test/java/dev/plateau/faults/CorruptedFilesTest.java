package dev.plateau.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.store.ModelStore;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupted files in a real state directory, then a real {@code plateau run} under the unit's JVM
 * flags: each is detected and either quarantined with its reason while the daemon serves a good
 * version, or the daemon exits 78 with the reason.
 */
class CorruptedFilesTest {
    private static final String MODEL = "tiny-gray";

    @TempDir
    Path tmp;

    private Path config;
    private Path state;

    /** A device whose store holds version 1 (signed by the device, as a fine-tune writes it), active. */
    private ModelStore deviceWithVersion1() throws Exception {
        config = TinyDevice.config(tmp, null);
        state = tmp.resolve("state");
        ModelStore store = ModelStore.signedByDevice(state, Clock.systemUTC(), 3);
        store.open(MODEL, tmp.resolve("gray"));
        TinyModels.Spec spec = TinyModels.gray4x4();
        store.write(MODEL, 1, dir -> {
            Files.write(dir.resolve("model.onnx"), TinyModels.model(spec));
            Files.writeString(dir.resolve("manifest.yaml"), TinyModels.manifest(spec).replace("version: 1\n", "version: 2\n"));
        });
        store.activate(MODEL, 1, "test");
        assertEquals(1, store.active(MODEL));
        return store;
    }

    /** Starts the daemon, checks that it serves {@code version} with the tiny model's answers, stops it. */
    private ChildJvm servesVersion(int version) throws Exception {
        ChildJvm child = Daemons.startReady(config);
        try {
            assertTrue(child.awaitLine("(store version " + version + ")", 5), String.join("\n", child.lines()));
            Path inbox = tmp.resolve("inbox");
            Files2.drop(inbox.resolve("after.png"), Daemons.middlePng());
            Daemons.await(inbox.resolve("processed/after.png"), 20, child);
            assertTrue(child.awaitLine("model=" + MODEL + " v" + version + " file=after.png label=middle", 5),
                    String.join("\n", child.lines()));
            Daemons.stop(child);
            return child;
        } finally {
            child.process().destroyForcibly();
        }
    }

    private static String log(ChildJvm child) {
        return String.join("\n", child.lines());
    }

    private boolean quarantined(int version) throws Exception {
        Path q = state.resolve("models").resolve(MODEL).resolve("quarantine");
        try (var files = Files.list(q)) {
            return files.anyMatch(p -> p.getFileName().toString().startsWith(String.format("%04d", version)));
        }
    }

    @Test
    void run_flippedByteInTheActiveModel_quarantinedWithItsReasonAndTheShippedVersionServed() throws Exception {
        ModelStore store = deviceWithVersion1();
        Path onnx = store.versionDir(MODEL, 1).resolve("model.onnx");
        byte[] bytes = Files.readAllBytes(onnx);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(onnx, bytes);

        ChildJvm child = servesVersion(0);
        assertTrue(quarantined(1), "version 1 not quarantined: " + log(child));
        assertTrue(log(child).contains("version 1 quarantined: file model.onnx does not match its hash"), log(child));
    }

    @Test
    void run_truncatedManifestInTheActiveVersion_quarantinedAndTheShippedVersionServed() throws Exception {
        ModelStore store = deviceWithVersion1();
        Path manifest = store.versionDir(MODEL, 1).resolve("manifest.yaml");
        String text = Files.readString(manifest);
        Files.writeString(manifest, text.substring(0, text.length() / 2));

        ChildJvm child = servesVersion(0);
        assertTrue(quarantined(1), "version 1 not quarantined: " + log(child));
        assertTrue(log(child).contains("version 1 quarantined: file manifest.yaml does not match its hash"), log(child));
    }

    @Test
    void run_emptyActiveFile_detectedWithItsReasonAndAGoodVersionServed() throws Exception {
        deviceWithVersion1();
        Path active = state.resolve("models").resolve(MODEL).resolve("active");
        Files.write(active, new byte[0]);

        // The shipped version, the one that is always complete.
        ChildJvm child = servesVersion(0);
        assertTrue(log(child).contains("store " + MODEL + ": active file unreadable; activated 0"), log(child));
    }

    @Test
    void run_garbageActiveFile_detectedWithItsReasonAndAGoodVersionServed() throws Exception {
        deviceWithVersion1();
        Path active = state.resolve("models").resolve(MODEL).resolve("active");
        Files.write(active, new byte[] {'7', (byte) 0xff, 0, '\n', 'x'});

        // The shipped version, the one that is always complete.
        ChildJvm child = servesVersion(0);
        assertTrue(log(child).contains("store " + MODEL + ": active file unreadable; activated 0"), log(child));
    }

    @Test
    void run_shippedBundleMissing_exits78NamingIt() throws Exception {
        deviceWithVersion1();
        Path shipped = tmp.resolve("gray");
        Files.delete(shipped.resolve("model.onnx"));
        Files.delete(shipped.resolve("manifest.yaml"));
        Files.delete(shipped);

        ChildJvm child = Daemons.start(config);
        assertTrue(child.process().waitFor(60, TimeUnit.SECONDS), "still running: " + log(child));
        assertEquals(78, child.process().exitValue(), log(child));
        assertTrue(log(child).contains(shipped.toString()), log(child));
    }
}
