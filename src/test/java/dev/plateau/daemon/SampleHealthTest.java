package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.plateau.inference.Prediction;
import dev.plateau.store.SampleStore;
import dev.plateau.testing.ManualClock;
import dev.plateau.testing.Mounts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What health says of each model's samples. */
class SampleHealthTest {
    @TempDir
    Path tmp;

    @Test
    void view_afterFailuresThenASuccess_saysFailingWithTheCountThenOk() {
        SampleHealth health = new SampleHealth(new ManualClock(), Duration.ofSeconds(60));
        assertEquals(Map.of("state", "ok"), health.view("m"));
        UncheckedIOException failure = new UncheckedIOException("cannot store sample 1 of m",
                new IOException("Input/output error"));

        health.failed("m", failure);
        health.failed("m", failure);
        assertEquals(Map.of("state", "failing", "failures", 2L, "detail", "cannot store sample 1 of m"),
                health.view("m"));
        assertEquals(Map.of("state", "ok"), health.view("other"));

        health.stored("m");
        assertEquals(Map.of("state", "ok"), health.view("m"));
    }

    @Test
    void view_sampleStoreOnAFullDisk_saysDiskFull() throws Exception {
        try (Mounts mounts = new Mounts()) {
            Path state = mounts.tmpfs(tmp.resolve("state"), "1m");
            SampleStore store = SampleStore.open(state, 10, new ManualClock());
            Path input = Files.write(tmp.resolve("big.png"), new byte[2 << 20]);
            SampleHealth health = new SampleHealth(new ManualClock(), Duration.ofSeconds(60));
            try {
                store.add("m", 0, "cam", input, new Prediction("a", 0, 1f, List.of("a"),
                        new float[] {1f}, new float[] {0f}, 1));
            } catch (RuntimeException e) {
                health.failed("m", e);
            }
            assertEquals("disk-full", health.view("m").get("state"), health.view("m").toString());
        }
    }
}
