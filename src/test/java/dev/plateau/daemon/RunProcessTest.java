package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plateau run} as a real child process: starts, infers, reloads on SIGHUP, stops cleanly on SIGTERM. */
class RunProcessTest {
    @TempDir
    Path tmp;

    private ChildJvm start(Path config) throws Exception {
        ChildJvm child = ChildJvm.start(Map.of(), "run", "-c", config.toString());
        assertTrue(child.awaitLine("plateau ready", 15), "not ready: " + child.lines());
        return child;
    }

    private static void stopCleanly(ChildJvm child) throws Exception {
        child.signal("TERM");
        assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), "did not stop: " + child.lines());
        assertEquals(0, child.process().exitValue(), String.join("\n", child.lines()));
    }

    @Test
    void run_sigterm_finishesWorkAndExitsZero() throws Exception {
        ChildJvm child = start(TinyDevice.config(tmp, null));
        try {
            String ready = child.lines().stream().filter(l -> l.contains("plateau ready")).findFirst().orElse("");
            Matcher started = Pattern.compile("started in (\\d+) ms").matcher(ready);
            assertTrue(started.find(), child.lines().toString());
            assertTrue(Long.parseLong(started.group(1)) < 3000, "start took " + started.group(1) + " ms");

            Files2.drop(tmp.resolve("inbox/dropped.png"), Files2.grayPng(new int[4][4]));
            Files.writeString(tmp.resolve("inbox/broken.png"), "not a png");
            assertTrue(child.awaitLine("file=a.png label=middle", 10), child.lines().toString());
            awaitCondition(() -> Files.exists(tmp.resolve("inbox/processed/dropped.png"))
                    && Files.exists(tmp.resolve("inbox/rejected/broken.png")), 10);

            stopCleanly(child);
            assertTrue(child.awaitLine("plateau stopped", 5), child.lines().toString());
            assertTrue(child.awaitLine("stats model=tiny", 5), child.lines().toString());
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void run_sighup_appliesSafeChangesNamesTheRestAndKeepsRunning() throws Exception {
        Path config = TinyDevice.config(tmp, null);
        ChildJvm child = start(config);
        try {
            String original = Files.readString(config);
            Files.writeString(config, original.replace("rate_hz: 20", "rate_hz: 10") + "samples: {max_per_model: 5}\n");
            child.signal("HUP");
            assertTrue(child.awaitLine(
                    "reload: applied [samples.max_per_model=5]; changed but need a restart [sources]", 10),
                    child.lines().toString());

            Files.writeString(config, original + "bogus: 1\n");
            child.signal("HUP");
            assertTrue(child.awaitLine("reload refused, the running configuration stays", 10), child.lines().toString());
            assertTrue(child.process().isAlive(), "SIGHUP must not stop the daemon: " + child.lines());

            stopCleanly(child);
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void run_rejectedInput_namesItsReasonInLowerCaseAsTheReadmeDoes() throws Exception {
        ChildJvm child = start(TinyDevice.config(tmp, null));
        try {
            Files.writeString(tmp.resolve("inbox/broken.png"), "not a png");
            Path reason = tmp.resolve("inbox/rejected/broken.png.reason.txt");
            // Generous: a child JVM loading ONNX Runtime on a busy 2-core machine.
            awaitCondition(() -> Files.exists(reason), 30);
            // The reason is written before the file is moved and the line logged.
            assertTrue(child.awaitLine("input-rejected source=inbox", 10), "no input-rejected line: " + child.lines());
            String line = child.lines().stream().filter(l -> l.contains("input-rejected source=inbox")).findFirst()
                    .orElseThrow(() -> new AssertionError("no input-rejected line: " + child.lines()));
            assertTrue(line.matches(".* reason=(unreadable|unsupported-format): .*"), line);
            assertTrue(Files.readString(reason).matches("(?s)\\w+: (unreadable|unsupported-format): .*"),
                    Files.readString(reason));
            stopCleanly(child);
        } finally {
            child.process().destroyForcibly();
        }
    }

    private static void awaitCondition(BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(condition.getAsBoolean(), "condition not met within " + seconds + " s");
    }
}
