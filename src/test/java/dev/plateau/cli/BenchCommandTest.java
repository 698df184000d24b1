package dev.plateau.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.testing.TinyDevice;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plateau bench tune} and {@code bench footprint} with {@code --json}, as a user runs them.
 *
 * <p>{@code bench tune}, on the shipped fashion model and 200 images
 * it was not trained on: the head's training time, and inference measured idle and during four
 * real fine-tunes (back to back and paced, the fine-tune at idle and at normal priority). The
 * figures themselves depend on the machine; what is checked is that every part was measured.
 */
class BenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = Path.of("src/test/resources/fixtures/fashion-test");

    @TempDir
    Path tmp;

    @Test
    void benchTune_json_headTimingAndInferenceIdleAndDuringFineTunes() throws Exception {
        Path data = tmp.resolve("data");
        try (Stream<Path> labels = Files.list(FIXTURE)) {
            for (Path label : labels.toList()) {
                Path dir = Files.createDirectories(data.resolve(label.getFileName().toString()));
                try (Stream<Path> files = Files.list(label)) {
                    for (Path f : files.sorted().limit(20).toList()) {
                        Files.copy(f, dir.resolve(f.getFileName().toString()));
                    }
                }
            }
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx160m", "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main",
                "bench", "tune", "-m", "models/fashion-cnn", "-d", data.toString(), "--steps", "20", "--repeats", "1",
                "--contention-seconds", "0.5", "--json"));
        Process p = new ProcessBuilder(command).redirectError(tmp.resolve("stderr.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "bench tune did not finish");
        String err = Files.readString(tmp.resolve("stderr.txt"));
        assertEquals(0, p.exitValue(), err);

        JsonNode r = JSON.readTree(out);
        assertEquals(200, r.get("samples").asInt(), out);
        assertEquals(20, r.get("steps").asInt());
        assertTrue(r.get("plateau").get("median_ms").asDouble() > 0, out);
        // The PyTorch side where this machine has torch; elsewhere a skip that says what is missing.
        if (r.has("torch")) {
            assertTrue(r.get("torch").get("median_ms").asDouble() > 0, out);
            assertTrue(r.get("ratio").asDouble() > 0, out);
        } else {
            assertTrue(r.get("torch_skipped").asText().contains("/usr/bin/python3"), out);
        }
        JsonNode parts = r.get("inference_during_finetune");
        assertEquals(4, parts.size(), out);
        Set<String> seen = new java.util.HashSet<>();
        for (JsonNode part : parts) {
            seen.add(part.get("mode").asText() + "/" + part.get("finetune_priority").asText());
            assertTrue(part.get("idle").get("calls").asInt() > 0, part.toString());
            assertTrue(part.get("during").get("calls").asInt() > 0, part.toString());
            assertTrue(part.get("during").get("p99_us").asDouble() >= part.get("during").get("p50_us").asDouble());
            assertTrue(part.get("finetune_ms").asLong() > 0, part.toString());
            // 20 images a label, the gate's own verdict: either, but a decision, not a crash.
            assertTrue(Set.of("accepted", "rejected").contains(part.get("finetune_decision").asText()), part.toString());
        }
        assertEquals(Set.of("back-to-back/idle", "back-to-back/normal", "paced/idle", "paced/normal"), seen);
        // The daemon's way could be taken on this machine: no warning that chrt was missing or refused.
        assertTrue(!err.contains("cannot set SCHED_IDLE"), err);
    }

    @Test
    void benchFootprint_json_daemonAndBareRuntimeBothReadyWithResidentMemory() throws Exception {
        Path config = TinyDevice.config(tmp, null);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main",
                "bench", "footprint", "-c", config.toString(), "--seconds", "6", "--json"));
        Process p = new ProcessBuilder(command).redirectError(tmp.resolve("stderr.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bench footprint did not finish");
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("stderr.txt")));

        JsonNode r = JSON.readTree(out);
        assertEquals(2, r.get("runs").size(), out);
        // As installed, but for the archive, which a class path with target/classes cannot have (StartCacheTest).
        assertTrue(r.get("libraries_unpacked_once").asBoolean(), out);
        assertTrue(r.get("daemon_class_archive").asText().startsWith("none: the class path has a directory"), out);
        for (JsonNode run : r.get("runs")) {
            // Both were seen ready and answering within the 6 s, with a resident size a JVM can have.
            assertTrue(run.get("ready_ms").asLong() > 0 && run.get("ready_ms").asLong() < 6000, run.toString());
            assertTrue(run.get("first_result_ms").asLong() > 0, run.toString());
            long peakKib = run.get("peak_rss_kib").asLong();
            assertTrue(peakKib > 20_000 && peakKib < 400_000, run.toString());
            assertTrue(run.get("rss_kib").size() >= 4, run.toString());
        }
        assertTrue(r.get("ratio_peak_rss").asDouble() > 0.5, out);
        // The daemon's state went where its config says: it really ran.
        assertTrue(Files.isDirectory(tmp.resolve("state")), "no state directory: the daemon did not run");
    }
}
