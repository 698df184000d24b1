package dev.plateau.store;

import dev.plateau.testing.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bundles from outside: only signed, untampered, newer ones are activated; every refusal leaves the active model. */
class ImportTest {
    @TempDir
    Path tmp;

    private final ManualClock clock = new ManualClock();
    private final SigningKey fleet = SigningKey.generate();
    private TrustedKeys trusted;
    private ModelStore store;

    @BeforeEach
    void setUp() throws Exception {
        trusted = TrustedKeys.of(fleet.publicKey());
        store = new ModelStore(tmp.resolve("state"), clock, 3, null);
        store.open(Bundles.MODEL, Bundles.bundle(tmp.resolve("shipped"), 1));
    }

    private Path signed(String dir, int version) throws Exception {
        Path b = Bundles.bundle(tmp.resolve(dir), version);
        fleet.sign(b);
        return b;
    }

    private ImportRefusedException refused(Path source, boolean rollback) {
        int before = store.active(Bundles.MODEL);
        ImportRefusedException e = assertThrows(ImportRefusedException.class,
                () -> store.importBundle(source, trusted, rollback));
        assertEquals(before, store.active(Bundles.MODEL), "the running model must stay");
        List<Map<String, Object>> journal = store.journalEntries(Bundles.MODEL);
        Map<String, Object> last = journal.get(journal.size() - 1);
        assertEquals("rejected", last.get("event"));
        assertEquals(e.reason(), last.get("reason"));
        return e;
    }

    @Test
    void importBundle_signedByTrustedKey_isStoredAndActivated() throws Exception {
        ModelStore.Activation a = store.importBundle(signed("b2", 2), trusted, false);
        assertEquals(2, a.version());
        assertEquals(2, store.active(Bundles.MODEL));
        assertEquals(fleet.keyId(), trusted.verify(store.versionDir(Bundles.MODEL, 2)));
    }

    @Test
    void importBundle_signedZipArchive_isActivated() throws Exception {
        Path b = signed("b2", 2);
        Path zip = tmp.resolve("b2.zip");
        try (OutputStream raw = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(raw)) {
            for (String f : List.of("model.onnx", "manifest.yaml", "signature.json")) {
                out.putNextEntry(new ZipEntry("bundle/" + f));
                out.write(Files.readAllBytes(b.resolve(f)));
            }
        }
        assertEquals(2, store.importBundle(zip, trusted, false).version());
    }

    @Test
    void importBundle_unsigned_isRefused() throws Exception {
        ImportRefusedException e = refused(Bundles.bundle(tmp.resolve("b2"), 2), false);
        assertTrue(e.reason().startsWith("unsigned"), e.reason());
    }

    @Test
    void importBundle_signedByUntrustedKey_isRefused() throws Exception {
        Path b = Bundles.bundle(tmp.resolve("b2"), 2);
        SigningKey stranger = SigningKey.generate();
        stranger.sign(b);
        ImportRefusedException e = refused(b, false);
        assertTrue(e.reason().contains("untrusted key " + stranger.keyId()), e.reason());
    }

    @Test
    void importBundle_signatureOverOtherHashes_isRefused() throws Exception {
        Path b = signed("b2", 2);
        String doc = Files.readString(b.resolve("signature.json"));
        String modelHash = Hashes.sha256(b.resolve("model.onnx"));
        Files.writeString(b.resolve("signature.json"), doc.replace(modelHash, "0".repeat(64)));
        ImportRefusedException e = refused(b, false);
        assertTrue(e.reason().startsWith("signature does not verify"), e.reason());
    }

    @Test
    void importBundle_oneByteChanged_isRefusedAsTampered() throws Exception {
        Path b = signed("b2", 2);
        byte[] model = Files.readAllBytes(b.resolve("model.onnx"));
        model[model.length / 2] ^= 0x01;
        Files.write(b.resolve("model.onnx"), model);
        ImportRefusedException e = refused(b, false);
        assertTrue(e.reason().startsWith("tampered: file model.onnx does not match"), e.reason());
    }

    @Test
    void importBundle_extraUnsignedFile_isRefused() throws Exception {
        Path b = signed("b2", 2);
        Files.writeString(b.resolve("extra.txt"), "x");
        assertTrue(refused(b, false).reason().contains("extra.txt is not covered"));
    }

    @Test
    void importBundle_versionNotAboveCurrent_isRefusedAsDowngrade() throws Exception {
        store.importBundle(signed("b3", 3), trusted, false);
        ImportRefusedException e = refused(signed("b2", 2), false);
        assertTrue(e.reason().startsWith("downgrade: version 2 is not above the current version 3"), e.reason());
        assertEquals(3, store.active(Bundles.MODEL));
    }

    @Test
    void importBundle_olderVersionAsExplicitRollback_isActivated() throws Exception {
        store.importBundle(signed("b3", 3), trusted, false);
        assertEquals(2, store.importBundle(signed("b2", 2), trusted, true).version());
    }

    @Test
    void importBundle_zipEntryWithDotDot_isRefused() throws Exception {
        Path zip = tmp.resolve("evil.zip");
        try (OutputStream raw = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(raw)) {
            out.putNextEntry(new ZipEntry("../../escaped.txt"));
            out.write(1);
        }
        assertThrows(ImportRefusedException.class, () -> store.importBundle(zip, trusted, false));
        assertTrue(Files.notExists(tmp.resolve("escaped.txt")));
        assertTrue(Files.notExists(tmp.resolve("state/escaped.txt")));
    }

    @Test
    void importBundle_zipBombOfEntries_isRefusedBeforeFillingTheDisk() throws Exception {
        Path zip = tmp.resolve("bomb.zip");
        try (OutputStream raw = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(raw)) {
            for (int i = 0; i <= ModelStore.MAX_ARCHIVE_ENTRIES; i++) {
                out.putNextEntry(new ZipEntry("f" + i));
            }
        }
        ImportRefusedException e = assertThrows(ImportRefusedException.class, () -> store.importBundle(zip, trusted, false));
        assertTrue(e.reason().contains("more than " + ModelStore.MAX_ARCHIVE_ENTRIES + " entries"), e.reason());
    }

    @Test
    void importBundle_symbolicLinkOut_isRefused() throws Exception {
        Path b = signed("b2", 2);
        Files.writeString(tmp.resolve("secret"), "s");
        Files.createSymbolicLink(b.resolve("link"), tmp.resolve("secret"));
        ImportRefusedException e = assertThrows(ImportRefusedException.class,
                () -> store.importBundle(b, trusted, false));
        assertTrue(e.reason().contains("symbolic link link"), e.reason());
        assertEquals(0, store.active(Bundles.MODEL));
    }

    @Test
    void safeChild_absoluteOrDotDot_isRefused() {
        Path dir = tmp.resolve("d");
        assertThrows(StoreException.class, () -> ModelStore.safeChild(dir, "/etc/passwd"));
        assertThrows(StoreException.class, () -> ModelStore.safeChild(dir, "a/../../b"));
        assertEquals(dir.resolve("a/b"), ModelStore.safeChild(dir, "a/b"));
    }

    @Test
    void verify_afterImport_reportsSignerOfEveryVersion() throws Exception {
        store.importBundle(signed("b2", 2), trusted, false);
        List<ModelStore.Check> checks = store.verify(Bundles.MODEL, trusted);
        assertEquals(2, checks.size());
        assertTrue(checks.get(1).ok() && checks.get(1).detail().contains(fleet.keyId()), checks.toString());
    }
}
