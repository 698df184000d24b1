package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import dev.plateau.store.ModelStore;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon follows the store while inputs flow: an activated version takes over without a
 * dropped input, and one whose confidence collapses is rolled back by probation.
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

    @Test
    void activate_goodThenCollapsingVersion_swapsWithoutDropsAndRollsTheBadOneBack() throws Exception {
        Path configFile = TinyDevice.config(tmp, null);
        Files.writeString(configFile, Files.readString(configFile).replace("rate_hz: 20", "rate_hz: 200"));
        DeviceConfig config = ConfigLoader.load(configFile);
        ModelStore store = new ModelStore(tmp.resolve("state"));
        try (Daemon daemon = new Daemon(config, Clock.systemUTC())) {
            daemon.start();
            String model = "tiny-gray";
            await(() -> daemon.stats().get("tiny").inferences() >= 40, 10);

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
            assertEquals(0, daemon.stats().get("tiny").errors());
        }
    }
}
