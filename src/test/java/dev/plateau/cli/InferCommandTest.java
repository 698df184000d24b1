package dev.plateau.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plateau infer} as a user runs it: a real child JVM, real model, real files. */
class InferCommandTest {
    private static final String IMAGE = "models/fashion-cnn/anchor/bag/03932.png";

    private static Process start(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main"));
        command.addAll(args);
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    @Test
    void infer_goodAndBadFiles_oneJsonLineEachAndExit2(@TempDir Path tmp) throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.png"), "not a png");
        Process p = start(List.of("infer", "-m", "models/fashion-cnn", IMAGE, bad.toString()));
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("\"label\":\"bag\"") && lines.get(0).contains("\"latency_us\":"), lines.get(0));
        assertTrue(lines.get(1).contains("\"reason\":\"unsupported-format\""), lines.get(1));
    }

    @Test
    void infer_longCommandLine_doesNotCrashTheJvm() throws Exception {
        // ONNX Runtime recurses over the command line at start; 400 long paths used to kill the JVM.
        List<String> args = new ArrayList<>(List.of("infer", "-m", "models/fashion-cnn"));
        String longPath = "./".repeat(30) + IMAGE;
        for (int i = 0; i < 400; i++) {
            args.add(longPath);
        }
        Process p = start(args);
        long lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().count();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertEquals(400, lines);
    }
}
