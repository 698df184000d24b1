package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.sensor.VibrationDataset;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped bundles load and still measure what their manifests claim: the baseline was
 * measured by {@code plateau eval} on the full test split; a stratified sample of it ships as a
 * fixture, and its accuracy must agree with the baseline within sampling error.
 */
class ReferenceModelsTest {

    private static Evaluation.Result eval(String bundle, Path data) {
        ModelBundle b = ModelBundle.open(Path.of("models", bundle));
        try (InferenceEngine engine = InferenceEngine.load(b, OrtRuntime.environment(2), 0)) {
            return Evaluation.run(engine, SampleDirectory.scan(data, b.manifest().output().labels()));
        }
    }

    @Test
    void fashionCnn_testFixture_agreesWithManifestBaseline() {
        Manifest.Baseline baseline = ModelBundle.open(Path.of("models/fashion-cnn")).manifest().baselineFigures()
                .orElseThrow();
        Evaluation.Result r = eval("fashion-cnn", Path.of("src/test/resources/fixtures/fashion-test"));
        assertEquals(1000, r.n());
        assertEquals(0, r.rejected());
        // 3 binomial standard deviations of a 1,000-sample accuracy near 0.9: 0.028.
        assertEquals(baseline.accuracy(), r.accuracy(), 0.028);
        // The fixture's own figure, measured 2026-11-24; any change to the model or the decoder shows here.
        assertEquals(0.917, r.accuracy(), 1e-9);
        assertTrue(baseline.accuracy() >= 0.89, "issue: test accuracy >= 0.89, manifest says " + baseline.accuracy());
    }

    @Test
    void bridgeVibration_heldOutDecks_reproduceManifestBaseline(@TempDir Path tmp) throws IOException {
        Manifest.Baseline baseline = ModelBundle.open(Path.of("models/bridge-vibration")).manifest().baselineFigures()
                .orElseThrow();
        // The exact held-out set of baseline.test_data: 8 decks never seen in training.
        assertEquals("plateau simulate vibration --windows 2400 --seed 3 --site-seed 13 --sites 8 --out DIR",
                baseline.testData());
        VibrationDataset.write(tmp.resolve("test"), new VibrationDataset.Spec(2400, 3, 13, 8, 0.5, -10, 35));
        Evaluation.Result r = eval("bridge-vibration", tmp.resolve("test"));
        assertEquals(2400, r.n());
        assertEquals(baseline.rocAuc(), r.rocAuc(), 5e-5);
        assertEquals(baseline.accuracy(), r.accuracy(), 5e-5);
        assertTrue(r.rocAuc() >= 0.95, "issue: held-out ROC AUC >= 0.95, measured " + r.rocAuc());
    }

    @Test
    void bridgeVibration_anchorSet_isBalanced() {
        Evaluation.Result r = eval("bridge-vibration", Path.of("models/bridge-vibration/anchor"));
        assertEquals(0, r.rejected());
        assertEquals(r.countPerClass().get("healthy"), r.countPerClass().get("damaged"));
    }

    @Test
    void fashionCnn_anchorSet_isBalancedAndClassifiedWell() {
        Evaluation.Result r = eval("fashion-cnn", Path.of("models/fashion-cnn/anchor"));
        assertEquals(2000, r.n());
        r.countPerClass().values().forEach(n -> assertEquals(200, n));
        assertTrue(r.accuracy() > 0.85, "anchor accuracy " + r.accuracy());
    }
}
