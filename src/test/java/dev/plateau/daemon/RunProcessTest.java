package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyDevice;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plateau run} as a real child process: starts, infers, and stops cleanly on SIGTERM. */
class RunProcessTest {
    @TempDir
    Path tmp;

    private Path config() throws IOException {
        return TinyDevice.config(tmp, null);
    }

    @Test
    void run_sigterm_finishesWorkAndExitsZero() throws Exception {
        Path config = config();
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main", "run", "-c", config.toString())
                .redirectErrorStream(true).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("reader: " + e);
            }
        });
        reader.start();
        try {
            awaitLine(lines, "plateau ready", 15);
            Matcher ready = Pattern.compile("started in (\\d+) ms").matcher(find(lines, "plateau ready"));
            assertTrue(ready.find(), lines.toString());
            assertTrue(Long.parseLong(ready.group(1)) < 3000, "start took " + ready.group(1) + " ms");

            Files.write(tmp.resolve("inbox/dropped.png"), Files2.grayPng(new int[4][4]));
            Files.writeString(tmp.resolve("inbox/broken.png"), "not a png");
            awaitLine(lines, "file=a.png label=middle", 10);
            awaitCondition(() -> Files.exists(tmp.resolve("inbox/processed/dropped.png"))
                    && Files.exists(tmp.resolve("inbox/rejected/broken.png")), 10);

            // Process.destroy() would also close our end of its stdout; kill(1) only signals.
            new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).inheritIO().start().waitFor();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "did not stop: " + lines);
            reader.join(5000);
            assertEquals(0, process.exitValue(), String.join("\n", lines));
            assertTrue(lines.stream().anyMatch(l -> l.contains("plateau stopped")), lines.toString());
            assertTrue(lines.stream().anyMatch(l -> l.contains("stats model=tiny")), lines.toString());
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void run_sighup_appliesSafeChangesNamesTheRestAndKeepsRunning() throws Exception {
        Path config = config();
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main", "run", "-c", config.toString())
                .redirectErrorStream(true).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("reader: " + e);
            }
        });
        reader.start();
        try {
            awaitLine(lines, "plateau ready", 15);
            String original = Files.readString(config);
            Files.writeString(config, original.replace("rate_hz: 20", "rate_hz: 10") + "samples: {max_per_model: 5}\n");
            signal(process, "HUP");
            awaitLine(lines, "reload: applied [samples.max_per_model=5]; changed but need a restart [sources]", 10);

            Files.writeString(config, original + "bogus: 1\n");
            signal(process, "HUP");
            awaitLine(lines, "reload refused, the running configuration stays", 10);
            assertTrue(process.isAlive(), "SIGHUP must not stop the daemon: " + lines);

            signal(process, "TERM");
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "did not stop: " + lines);
            assertEquals(0, process.exitValue(), String.join("\n", lines));
        } finally {
            process.destroyForcibly();
        }
    }

    private static void signal(Process process, String name) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    private static String find(List<String> lines, String text) {
        return lines.stream().filter(l -> l.contains(text)).findFirst().orElse("");
    }

    private static void awaitLine(List<String> lines, String text, int seconds) throws InterruptedException {
        awaitCondition(() -> lines.stream().anyMatch(l -> l.contains(text)), seconds);
        assertTrue(lines.stream().anyMatch(l -> l.contains(text)), "no line with '" + text + "' in " + lines);
    }

    private static void awaitCondition(java.util.function.BooleanSupplier condition, int seconds)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(condition.getAsBoolean(), "condition not met within " + seconds + " s");
    }
}
