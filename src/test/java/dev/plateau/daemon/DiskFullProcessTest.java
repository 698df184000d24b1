package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Mounts;
import dev.plateau.testing.TinyDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plateau run} as a child process whose state directory, a 2 MiB tmpfs, runs full while it infers. */
class DiskFullProcessTest {
    @TempDir
    Path tmp;

    private static long count(List<String> lines, String text) {
        return lines.stream().filter(l -> l.contains(text)).count();
    }

    @Test
    void run_stateDiskFull_keepsInferringAndWarnsOncePerCause() throws Exception {
        try (Mounts mounts = new Mounts()) {
            Path state = mounts.tmpfs(tmp.resolve("state"), "2m");
            ChildJvm child = ChildJvm.start(Map.of(), "run", "-c", TinyDevice.config(tmp, null).toString());
            try {
                assertTrue(child.awaitLine("plateau ready", 20), "not ready: " + child.lines());
                assertTrue(child.awaitLine("result source=cam", 10), child.lines().toString());
                Mounts.fill(state);
                int before = child.lines().size();

                // The replay runs at 20 Hz: ~60 inferences, each of which fails to keep its sample.
                Thread.sleep(3_000);
                List<String> now = List.copyOf(child.lines());
                List<String> after = now.subList(before, now.size());

                assertTrue(count(after, "result source=cam") >= 20, "stopped inferring: " + after);
                assertEquals(1, count(after, "sample store:"), String.join("\n", after));
                assertTrue(count(after, "no space left on " + state.resolve("samples")) == 1, String.join("\n", after));
                try (Stream<Path> samples = Files.walk(state.resolve("samples"))) {
                    assertTrue(samples.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")));
                }
                child.signal("TERM");
                assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), "did not stop: " + child.lines());
            } finally {
                child.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
