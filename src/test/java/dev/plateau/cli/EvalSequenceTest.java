package dev.plateau.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.sensor.VibrationDataset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plateau eval --sequence N} as a user runs it (a child JVM, the shipped bridge model,
 * simulated windows of one deck): the block figures beside the per-window ones.
 */
class EvalSequenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BRIDGE = "models/bridge-vibration";

    @TempDir
    Path tmp;

    private record Run(int exit, String stdout, String stderr) {}

    private static Run plateau(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        // Small outputs: read one then the other without deadlock.
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "eval did not finish");
        return new Run(p.exitValue(), out, err);
    }

    @Test
    void evalSequence12_inDistributionDeck_reportsBlocksAndBlockAucAtLeastPerWindow() throws Exception {
        // One deck of the held-out site seed (13), 250 windows, every other one damaged: 125 per class,
        // 10 blocks of 12 each and 5 files of each class left over.
        Path data = tmp.resolve("deck");
        VibrationDataset.write(data, new VibrationDataset.Spec(250, 8, 13, 1, 0.5, -10, 35));

        Run run = plateau("eval", "-m", BRIDGE, "-d", data.toString(), "--sequence", "12");

        assertEquals(0, run.exit(), run.stderr());
        JsonNode out = JSON.readTree(run.stdout());
        JsonNode q = out.get("sequence");
        assertEquals(250, out.get("n").asInt(), "the per-window figures stay");
        assertTrue(out.get("accuracy").isNumber() && out.get("per_class").has("damaged"), out.toString());
        assertEquals(12, q.get("n").asInt());
        assertEquals(10, q.get("blocks").get("healthy").asInt());
        assertEquals(10, q.get("blocks").get("damaged").asInt());
        assertEquals(10, q.get("dropped_files").asInt());
        assertEquals(0.0, q.get("threshold").asDouble());
        assertEquals("default", q.get("threshold_source").asText());
        double windowAuc = out.get("roc_auc").asDouble();
        double blockAuc = q.get("roc_auc").asDouble();
        assertTrue(blockAuc >= windowAuc, "block AUC " + blockAuc + " < per-window AUC " + windowAuc);
        // Measured 2026-12-02: per-window AUC 0.99, blocks 1.0; no healthy block alarms, every damaged one does.
        assertTrue(q.get("false_alarm_rate").asDouble() <= 0.1, q.toString());
        assertTrue(q.get("detection_rate").asDouble() >= 0.9, q.toString());
    }

    @Test
    void evalSequence_manifestAlarm_judgesAtItsThreshold() throws Exception {
        Path data = tmp.resolve("deck");
        VibrationDataset.write(data, new VibrationDataset.Spec(48, 8, 13, 1, 0.5, -10, 35));
        Path bundle = Files.createDirectories(tmp.resolve("bundle"));
        Files.copy(Path.of(BRIDGE, "model.onnx"), bundle.resolve("model.onnx"));
        // Above every possible mean (scores are clamped to +-20): nothing alarms.
        Files.writeString(bundle.resolve("manifest.yaml"), Files.readString(Path.of(BRIDGE, "manifest.yaml"))
                + "alarm: {windows: 12, threshold: 20.0, false_alarm_rate: 0.01}\n");

        Run run = plateau("eval", "-m", bundle.toString(), "-d", data.toString(), "--sequence", "12");

        assertEquals(0, run.exit(), run.stderr());
        JsonNode q = JSON.readTree(run.stdout()).get("sequence");
        assertEquals(20.0, q.get("threshold").asDouble());
        assertEquals("manifest", q.get("threshold_source").asText());
        assertEquals(12, q.get("alarm_windows").asInt());
        assertEquals(0.0, q.get("false_alarm_rate").asDouble());
        assertEquals(0.0, q.get("detection_rate").asDouble());
    }

    @Test
    void evalSequence_modelWithoutPositive_exit2WithTheReason() throws Exception {
        Run run = plateau("eval", "-m", "models/fashion-cnn", "-d", "models/fashion-cnn/anchor", "--sequence", "12");

        assertEquals(2, run.exit(), run.stdout());
        assertTrue(run.stderr().contains("--sequence: model fashion-cnn has no output.positive"), run.stderr());
        assertEquals("", run.stdout());
    }
}
