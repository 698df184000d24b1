package dev.plateau.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.TinyModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Integer fields of {@code manifest.yaml} take integers only. */
class ManifestTest {
    @TempDir
    Path tmp;

    private Path bundleWithVersion(String version) throws Exception {
        TinyModels.Spec spec = TinyModels.gray4x4();
        return TinyModels.bundle(tmp.resolve("b"), spec, TinyModels.manifest(spec).replace("version: 1\n",
                "version: " + version + "\n"));
    }

    @Test
    void open_fractionalVersion_isRefusedNamingTheField() throws Exception {
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(bundleWithVersion("0.5")));
        assertTrue(e.getMessage().contains("manifest.yaml: version: expected an integer"), e.getMessage());
    }

    @Test
    void open_integerVersion_isRead() throws Exception {
        assertEquals(7, ModelBundle.open(bundleWithVersion("7")).manifest().version());
    }
}
