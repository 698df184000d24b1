package dev.plateau.store;

import dev.plateau.testing.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelStoreTest {
    @TempDir
    Path tmp;

    private final ManualClock clock = new ManualClock();
    private ModelStore store;
    private Path shipped;

    @BeforeEach
    void setUp() throws Exception {
        shipped = Bundles.bundle(tmp.resolve("shipped"), 1);
        store = new ModelStore(tmp.resolve("state"), clock, 2, null);
        store.open(Bundles.MODEL, shipped);
    }

    private List<String> events() {
        return store.journalEntries(Bundles.MODEL).stream().map(e -> (String) e.get("event")).toList();
    }

    @Test
    void open_freshStore_activatesShippedBundle() {
        assertEquals(0, store.active(Bundles.MODEL));
        assertEquals(shipped.toAbsolutePath(), store.activeDir(Bundles.MODEL));
        assertTrue(events().contains("recovered"), events().toString());
    }

    @Test
    void write_version_recordsHashesOfEveryFile() throws Exception {
        Path v = Bundles.write(store, 2);
        assertEquals(Hashes.compute(v), Hashes.read(v));
        assertTrue(Hashes.read(v).containsKey("model.onnx"));
        assertTrue(Hashes.mismatch(v).isEmpty());
    }

    @Test
    void write_withDeviceKey_signsTheVersion() {
        SigningKey device = SigningKey.generate();
        ModelStore signing = new ModelStore(tmp.resolve("state"), clock, 2, device);
        Path v = Bundles.write(signing, 2);
        assertEquals(device.keyId(), TrustedKeys.of(device.publicKey()).verify(v));
    }

    @Test
    void activate_thenRollback_returnsToPrevious() {
        Bundles.write(store, 2);
        ModelStore.Activation a = store.activate(Bundles.MODEL, 2, "test");
        assertEquals(0, a.previous());
        assertEquals(2, store.active(Bundles.MODEL));
        store.rollback(Bundles.MODEL, null, -1, "by command");
        assertEquals(0, store.active(Bundles.MODEL));
        assertTrue(events().contains("rollback"));
    }

    @Test
    void activate_damagedVersion_isRefusedAndActiveStays() throws Exception {
        Path v = Bundles.write(store, 2);
        Files.write(v.resolve("model.onnx"), new byte[] {1}, StandardOpenOption.APPEND);
        StoreException e = assertThrows(StoreException.class, () -> store.activate(Bundles.MODEL, 2, "test"));
        assertTrue(e.getMessage().contains("model.onnx does not match"), e.getMessage());
        assertEquals(0, store.active(Bundles.MODEL));
    }

    @Test
    void open_strayTemporaryDirectory_isRemoved() throws Exception {
        Path stray = store.versionsDir(Bundles.MODEL).resolve(".tmp-0007");
        Bundles.bundle(stray, 7);
        List<String> findings = store.open(Bundles.MODEL, shipped);
        assertFalse(Files.exists(stray));
        assertTrue(findings.stream().anyMatch(f -> f.contains(".tmp-0007")), findings.toString());
    }

    @Test
    void open_tamperedActiveVersion_isQuarantinedAndPreviousActivated() throws Exception {
        Bundles.write(store, 2);
        store.activate(Bundles.MODEL, 2, "test");
        Path v3 = Bundles.write(store, 3);
        store.activate(Bundles.MODEL, 3, "test");
        byte[] model = Files.readAllBytes(v3.resolve("model.onnx"));
        model[model.length - 1] ^= 1;
        Files.write(v3.resolve("model.onnx"), model);

        List<String> findings = store.open(Bundles.MODEL, shipped);

        assertEquals(2, store.active(Bundles.MODEL), findings.toString());
        assertEquals(List.of(2), store.versions(Bundles.MODEL));
        try (Stream<Path> q = Files.list(store.modelDir(Bundles.MODEL).resolve("quarantine"))) {
            assertTrue(q.anyMatch(p -> p.getFileName().toString().startsWith("0003-")));
        }
        Map<String, Object> quarantined = store.journalEntries(Bundles.MODEL).stream()
                .filter(e -> e.get("event").equals("quarantined")).findFirst().orElseThrow();
        assertEquals(3, quarantined.get("version"));
        assertEquals("2026-01-01T00:00:00Z", quarantined.get("ts"));
    }

    @Test
    void nextVersion_afterTheNewestWasQuarantined_isAboveItAndItsNumberIsNeverWrittenAgain() throws Exception {
        Bundles.write(store, 1);
        Path v2 = Bundles.write(store, 2);
        Files.write(v2.resolve("model.onnx"), new byte[] {1}, StandardOpenOption.APPEND);
        store.open(Bundles.MODEL, shipped);
        assertEquals(List.of(1), store.versions(Bundles.MODEL), "version 2 quarantined");

        assertEquals(3, store.nextVersion(Bundles.MODEL));
        IllegalStateException reuse = assertThrows(IllegalStateException.class, () -> Bundles.write(store, 2));
        assertTrue(reuse.getMessage().contains("never reused"), reuse.getMessage());
        Bundles.write(store, 3);
        assertEquals(4, store.nextVersion(Bundles.MODEL));
    }

    @Test
    void nextVersion_survivesTheQuarantineDirectoryBeingEmptied() throws Exception {
        Path v2 = Bundles.write(store, 2);
        Files.write(v2.resolve("model.onnx"), new byte[] {1}, StandardOpenOption.APPEND);
        store.open(Bundles.MODEL, shipped);
        DurableFiles.deleteTree(store.modelDir(Bundles.MODEL).resolve("quarantine"));

        assertEquals(3, new ModelStore(tmp.resolve("state"), clock, 2, null).nextVersion(Bundles.MODEL));
    }

    @Test
    void retain_manyVersions_keepsActiveRollbackTargetAndLastN() {
        for (int v = 2; v <= 6; v++) {
            Bundles.write(store, v);
        }
        store.activate(Bundles.MODEL, 2, "test");
        store.markKept(Bundles.MODEL, 2, "test");
        store.activate(Bundles.MODEL, 3, "test");
        store.activate(Bundles.MODEL, 4, "test");
        store.activate(Bundles.MODEL, 5, "test");
        // keepLast = 2: 5 active, 4 its rollback target, 2 the newest kept, 6 a candidate; 3 goes.
        assertEquals(List.of(2, 4, 5, 6), store.versions(Bundles.MODEL));
        assertTrue(events().contains("pruned"));
    }

    @Test
    void rollback_byCommand_goesToPreviousKeptVersion() {
        Bundles.write(store, 2);
        Bundles.write(store, 3);
        Bundles.write(store, 4);
        store.activate(Bundles.MODEL, 2, "test");
        store.markKept(Bundles.MODEL, 2, "test");
        store.activate(Bundles.MODEL, 3, "test");
        store.activate(Bundles.MODEL, 4, "test");
        assertEquals(2, store.rollback(Bundles.MODEL, 2, -1, "named").version());
        assertEquals(0, store.rollbackTarget(Bundles.MODEL).orElseThrow());
    }

    @Test
    void open_unreadableActiveFile_fallsBackToNewestKeptVersion() throws Exception {
        Bundles.write(store, 2);
        store.activate(Bundles.MODEL, 2, "test");
        store.markKept(Bundles.MODEL, 2, "test");
        Files.writeString(store.modelDir(Bundles.MODEL).resolve("active"), "garbage");
        List<String> findings = store.open(Bundles.MODEL, shipped);
        assertEquals(2, store.active(Bundles.MODEL));
        assertEquals(List.of("active file unreadable; activated 2"), findings);
    }

    @Test
    void newStore_withDeviceKeyFile_signsWhatItWrites() {
        SigningKey device = SigningKey.loadOrCreate(ModelStore.deviceKeyFile(tmp.resolve("state")));
        Path v = Bundles.write(new ModelStore(tmp.resolve("state")), 2);
        assertEquals(device.keyId(), ModelStore.trustedKeys(tmp.resolve("state")).verify(v));
    }

    @Test
    void journal_tornLastLine_isSkippedAndAppendingContinues() throws Exception {
        Path journal = store.modelDir(Bundles.MODEL).resolve("journal.jsonl");
        Files.writeString(journal, "{\"ts\":\"x\",\"ev", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        store.record(Bundles.MODEL, "note");
        List<String> events = events();
        assertEquals("note", events.get(events.size() - 1));
    }

    @Test
    void modelName_withDots_isRefused() {
        assertThrows(StoreException.class, () -> store.versionsDir(".."));
        assertThrows(StoreException.class, () -> store.versionsDir("a/b"));
    }
}
