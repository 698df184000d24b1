package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.DeckWindows;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Scrape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drift monitor in a real {@code plateau run} on the shipped camera model. The camera replays
 * the 1,000 test-split images of the fixture (never the validation images the bundle's reference
 * was computed on, nor the anchors), fast; with a {@code shift} it turns darker and noisier after
 * 2,000 inputs. The broker is unreachable, so the events stay in the durable outbox to be read.
 */
class DriftProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CLEAN = Path.of("src/test/resources/fixtures/fashion-test");
    /** The most shifted inputs a detection may take: one window to fill with them, and one check's spacing. */
    static final int MAX_DELAY = 200 + 50;

    @TempDir
    Path tmp;

    private Path config(double rateHz, String shift) throws IOException {
        return Files.writeString(tmp.resolve("device.yaml"), """
                device: {group: test, node: camera}
                state_dir: %s
                models:
                  - name: fashion
                    bundle: %s
                    drift: {window: 200, check_every: 50, false_alarm_rate: 0.0001, clear_checks: 4}
                sources:
                  - {name: cam, type: replay, model: fashion, path: %s, rate_hz: %s, shuffle: true, seed: 3%s}
                samples: {max_per_model: 400}
                mqtt: {broker: "tcp://127.0.0.1:%d"}
                http: {listen: "127.0.0.1:0"}
                logging: {level: info}
                """.formatted(tmp.resolve("state"), Path.of("models/fashion-cnn").toAbsolutePath(),
                CLEAN.toAbsolutePath(), rateHz, shift, Fleets.freePort()));
    }

    private List<JsonNode> events(String type) throws IOException {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String name : DeckWindows.names(tmp.resolve("state/outbox"))) {
            if (name.contains("-" + type + "-")) {
                out.add(JSON.readTree(tmp.resolve("state/outbox").resolve(name).toFile()));
            }
        }
        return out;
    }

    private static long results(List<String> lines) {
        return lines.stream().filter(l -> l.contains("result source=cam")).count();
    }

    @Test
    void run_cameraShiftsAfter2000CleanInputs_driftDetectedWithin250ShiftedInputsAndNoneBefore() throws Exception {
        // 2,000 clean inputs at 200 Hz, then the shifted camera.
        ChildJvm child = ChildJvm.start(Map.of(), "run", "-c",
                config(200, ", shift: {after_s: 10, gain: 0.6, noise: 0.08}").toString());
        try {
            assertTrue(child.awaitLine("plateau ready", 60), "not ready: " + child.lines());
            assertTrue(child.awaitLine("drift-detected model=fashion", 90), "no drift: " + tail(child.lines()));
            List<String> detected = List.of("plateau_drift_detected{model=\"fashion-cnn\"} 1.0");
            assertEquals(detected, Scrape.await(child, "plateau_drift_detected{", detected, 5));
            child.signal("TERM");
            assertTrue(child.process().waitFor(40, TimeUnit.SECONDS), "did not stop: " + tail(child.lines()));
        } finally {
            child.process().destroyForcibly();
        }
        List<String> lines = List.copyOf(child.lines());
        int shiftAt = indexOf(lines, "the camera shifts now");
        int detectedAt = indexOf(lines, "drift-detected model=fashion");
        assertTrue(shiftAt >= 0 && detectedAt > shiftAt, "detected before the shift: " + tail(lines));
        long clean = results(lines.subList(0, shiftAt));
        long delay = results(lines.subList(shiftAt, detectedAt));
        System.out.println("drift e2e: " + clean + " clean inputs without a detection, detected after " + delay
                + " shifted inputs");
        assertEquals(2000, clean, "clean inputs before the shift");
        assertTrue(delay <= MAX_DELAY, "detected after " + delay + " shifted inputs, allowed " + MAX_DELAY);

        List<JsonNode> detected = events("drift-detected");
        assertEquals(1, detected.size(), "one drift-detected event in the outbox");
        JsonNode body = detected.get(0);
        assertEquals("fashion-cnn", body.path("model").asText(), body.toString());
        assertEquals(200, body.path("window").asInt());
        assertEquals(1e-4, body.path("false_alarm_rate").asDouble());
        assertEquals("validation", body.path("reference").path("basis").asText());
        assertFalse(body.path("exceeded").isEmpty(), "names the statistics beyond their thresholds: " + body);
        for (JsonNode name : body.path("exceeded")) {
            JsonNode s = body.path("statistics").path(name.asText());
            assertTrue(s.path("value").asDouble() > s.path("threshold").asDouble(), name + ": " + s);
        }
        JsonNode most = body.path("most_drifted");
        assertEquals(DriftMonitor.MOST_DRIFTED, most.size(), body.toString());
        // The most drifted inputs are kept in the sample store, marked drifted.
        Path samples = tmp.resolve("state/samples/fashion-cnn");
        for (JsonNode m : most) {
            Path meta = samples.resolve(m.path("sample").asText() + ".json");
            assertTrue(Files.isRegularFile(meta), "sample " + m + " kept");
            assertTrue(JSON.readTree(meta.toFile()).path("drifted").asBoolean(), "sample " + m + " marked drifted");
        }
        assertEquals("detected", JSON.readTree(tmp.resolve("state/drift/fashion-cnn.json").toFile()).path("state")
                .asText());
    }

    /** The 30 minutes of clean replay: at 10 Hz, 18,000 inputs and 356 checks at rate 1e-4. */
    @Test
    @Tag("slow")
    void run_30MinutesOfCleanReplay_noDriftDetected() throws Exception {
        ChildJvm child = ChildJvm.start(Map.of(), "run", "-c", config(10, "").toString());
        try {
            assertTrue(child.awaitLine("plateau ready", 60), "not ready: " + child.lines());
            long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
            while (System.nanoTime() < end) {
                assertTrue(child.process().isAlive(), "the daemon died: " + tail(child.lines()));
                Thread.sleep(1000);
            }
            child.signal("TERM");
            assertTrue(child.process().waitFor(40, TimeUnit.SECONDS), "did not stop: " + tail(child.lines()));
        } finally {
            child.process().destroyForcibly();
        }
        long inputs = results(child.lines());
        System.out.println("drift clean replay: " + inputs + " inputs, " + events("drift-detected").size()
                + " drift-detected");
        assertTrue(inputs >= 17_000, "inputs replayed: " + inputs);
        assertEquals(List.of(), child.lines().stream().filter(l -> l.contains("drift-detected")).toList());
        assertEquals(0, events("drift-detected").size());
    }

    private static int indexOf(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }

    private static String tail(List<String> live) {
        List<String> lines = List.copyOf(live); // a sub-list of a child's live lines fails as they grow
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
