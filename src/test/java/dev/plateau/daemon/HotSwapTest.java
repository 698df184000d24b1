package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import dev.plateau.store.ModelStore;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon follows the store while inputs flow: an activated version takes over without a
 * dropped input (every file moved into the inbox during the swaps comes out inferred), and one
 * whose confidence collapses is rolled back by probation.
 */
class HotSwapTest {
    @TempDir
    Path tmp;

    private static void await(BooleanSupplier condition, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(condition.getAsBoolean(), "not within " + seconds + " s");
    }

    private static TinyModels.Spec scaled(float factor) {
        TinyModels.Spec s = TinyModels.gray4x4();
        float[][] w = new float[s.weights().length][];
        for (int c = 0; c < w.length; c++) {
            w[c] = s.weights()[c].clone();
            for (int i = 0; i < w[c].length; i++) {
                w[c][i] *= factor;
            }
        }
        return new TinyModels.Spec(s.name(), s.inputTensor(), s.shape(), s.outputTensor(), s.labels(), w, s.bias());
    }

    /** Moves a new PNG into the inbox every few milliseconds until stopped; counts what it delivered. */
    private static final class Feeder {
        private final AtomicInteger delivered = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private volatile boolean stop;
        private final Thread thread;

        Feeder(Path stage, Path inbox) {
            thread = new Thread(() -> {
                try {
                    int[][] px = new int[4][4];
                    px[1] = new int[] {255, 255, 255, 255};
                    byte[] png = Files2.grayPng(px);
                    while (!stop) {
                        int n = delivered.get();
                        // Written beside the inbox and moved in whole, so no poll sees half a file.
                        Path staged = Files.write(stage.resolve("in-" + n + ".png"), png);
                        Files.move(staged, inbox.resolve(staged.getFileName()), StandardCopyOption.ATOMIC_MOVE);
                        delivered.incrementAndGet();
                        Thread.sleep(5);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "inbox-feeder");
            thread.start();
        }

        int delivered() {
            return delivered.get();
        }

        void stop() throws InterruptedException {
            stop = true;
            thread.join(5_000);
            assertNull(failure.get(), () -> "feeder failed: " + failure.get());
        }
    }

    private static long count(Path dir, String suffix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(suffix)).count();
        }
    }

    @Test
    void activate_goodThenCollapsingVersion_swapsWithoutDropsAndRollsTheBadOneBack() throws Exception {
        Path configFile = TinyDevice.config(tmp, null);
        Files.writeString(configFile, Files.readString(configFile).replace("rate_hz: 20", "rate_hz: 200"));
        DeviceConfig config = ConfigLoader.load(configFile);
        ModelStore store = new ModelStore(tmp.resolve("state"));
        Path inbox = Files.createDirectories(tmp.resolve("inbox"));
        Path stage = Files.createDirectories(tmp.resolve("stage"));
        try (Daemon daemon = new Daemon(config, Clock.systemUTC())) {
            daemon.start();
            String model = "tiny-gray";
            await(() -> daemon.stats().get("tiny").inferences() >= 40, 10);
            Feeder feeder = new Feeder(stage, inbox);

            // A good version: the same classifier, more confident.
            store.write(model, 1, dir -> TinyModels.bundle(dir, scaled(2f)));
            store.activate(model, 1, "test: a better version");
            await(() -> store.journalEntries(model).stream().anyMatch(e -> "probation".equals(e.get("event"))), 10);

            // A bad one: all logits zero, so every answer is a coin toss (confidence 1/3).
            store.write(model, 2, dir -> TinyModels.bundle(dir, scaled(0f)));
            store.activate(model, 2, "test: a broken version");
            // The store moves the active pointer before it journals the rollback: wait for the entry.
            await(() -> store.journalEntries(model).stream().anyMatch(e -> "rollback".equals(e.get("event"))
                    && String.valueOf(e.get("reason")).contains("probation of version 2")), 15);
            assertEquals(1, store.active(model));
            feeder.stop();

            // Every input handed over across both swaps and the rollback came out inferred.
            int delivered = feeder.delivered();
            assertTrue(delivered >= 100, "too few inputs to show anything: " + delivered);
            await(() -> {
                try {
                    // A file being handled sits in .handling/ until it is moved on.
                    return count(inbox, ".png") == 0
                            && count(inbox.resolve(dev.plateau.sensor.DirectorySource.HANDLING), ".png") == 0;
                } catch (IOException e) {
                    return false;
                }
            }, 10);
            assertEquals(delivered, count(inbox.resolve("processed"), ".png"), "inputs dropped");
            assertEquals(0, count(inbox.resolve("rejected"), ""), "inputs rejected or failed");
            assertEquals(0, daemon.stats().get("tiny").errors());
            assertEquals(0, daemon.stats().get("tiny").rejected());
        }
    }
}
