package dev.plateau.http;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The {@code curl} command line, as an operator sends requests with it. */
final class Curl {
    private Curl() {}

    /**
     * curl's answer: its exit code (0 when an HTTP answer came, 60 when the server's certificate is
     * not trusted, ...), the HTTP status (0 when none came), the body and what curl said on stderr.
     */
    record Reply(int exit, int status, String body, String stderr) {}

    /** Runs {@code curl -sS ARGS URL}, the body written to a file in {@code dir} and read back. */
    static Reply run(Path dir, String url, String... args) throws IOException, InterruptedException {
        Path body = Files.createTempFile(dir, "curl-", ".body");
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "-o", body.toString(),
                "-w", "%{http_code}"));
        command.addAll(List.of(args));
        command.add(url);
        Process curl = new ProcessBuilder(command).start();
        String status = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        String stderr = new String(curl.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(curl.waitFor(30, TimeUnit.SECONDS), "curl did not end: " + command);
        String text = Files.readString(body, StandardCharsets.UTF_8);
        Files.delete(body);
        return new Reply(curl.exitValue(), status.matches("\\d{3}") ? Integer.parseInt(status) : 0, text, stderr);
    }
}
