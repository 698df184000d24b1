package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.model.ModelBundle;
import dev.plateau.sensor.VibrationDataset;
import dev.plateau.store.ModelStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's calibration criteria on decks the shipped model never saw: a calibration built to
 * blind is refused by the blinding guard, and a calibrated bundle can be calibrated again.
 */
class SiteCalibrationTest {
    private static final Path BRIDGE = Path.of("models/bridge-vibration");

    private static Path healthy(Path dir, int windows, int siteSeed) throws Exception {
        VibrationDataset.write(dir, new VibrationDataset.Spec(windows, 5, siteSeed, 1, 0.0, -10, 35));
        Files.deleteIfExists(dir.resolve("damaged"));
        return dir;
    }

    private static FineTune.Outcome tune(Path bundle, Path state, Path data, Map<String, String> settings) {
        // Signed with the device's key, as `plateau tune` and the daemon write versions.
        return new FineTune(ModelBundle.open(bundle), ModelStore.signedByDevice(state, Clock.systemUTC(),
                ModelStore.KEEP_LAST), TuningConfig.fromOverrides(settings), Clock.systemUTC()).run(data, null);
    }

    @Test
    void calibrate_headOnlyWithoutNovelty_refusedAsBlinded(@TempDir Path tmp) throws Exception {
        // Healthy data only and no novelty score: all training can do is teach the head to say
        // "healthy", which is a blind detector.
        FineTune.Outcome outcome = tune(BRIDGE, tmp.resolve("state"), healthy(tmp.resolve("cal"), 600, 22),
                Map.of("novelty", "off"));

        assertFalse(outcome.accepted(), outcome.reason());
        assertEquals("blinded", outcome.report().verdict(), outcome.reason());
        assertTrue(outcome.reason().contains("synthetic-damage proxies"), outcome.reason());
        assertTrue(outcome.report().site().blinding().blinded());
        assertEquals(List.of(), new ModelStore(tmp.resolve("state")).versions("bridge-vibration"));
    }

    @Test
    void calibrate_calibratedBundleOnAnotherDeck_loadsInfersAndVerifies(@TempDir Path tmp) throws Exception {
        Path state = tmp.resolve("state");
        FineTune.Outcome first = tune(BRIDGE, state, healthy(tmp.resolve("deck22"), 1000, 22), Map.of());
        assertTrue(first.accepted(), first.reason());
        assertFalse(first.report().site().blinding().blinded(), first.report().site().blinding().reason());

        // A later season or a moved sensor: the calibrated bundle calibrated again, not the shipped one.
        FineTune.Outcome second = tune(first.bundle(), state, healthy(tmp.resolve("deck34"), 600, 34), Map.of());
        assertTrue(second.accepted(), second.reason());
        assertEquals(3, ModelBundle.open(second.bundle()).manifest().version());

        OnnxMl.ModelProto graph = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(second.bundle().resolve("model.onnx")));
        long combiners = graph.getGraph().getNodeList().stream().filter(n -> n.getName().equals("novelty/either")).count();
        assertEquals(1, combiners, "one calibration in the graph, the first one replaced");
        ModelBundle bundle = ModelBundle.open(second.bundle());
        try (InferenceEngine engine = InferenceEngine.load(bundle, OrtRuntime.environment(1), 0)) {
            Prediction p = engine.infer(tmp.resolve("deck34/healthy/00000.csv"));
            assertTrue(Float.isFinite(p.score(0)) && Float.isFinite(p.score(1)));
        }
        ModelStore store = new ModelStore(state);
        store.verify("bridge-vibration", ModelStore.trustedKeys(state)).forEach(c -> assertTrue(c.ok(), c.detail()));
    }
}
