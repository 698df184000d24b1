package dev.plateau.store;

import dev.plateau.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Random;

/**
 * The child process of {@link CrashTest}: opens the store, then writes, activates and now and then
 * rolls back versions as fast as it can until it is killed.
 */
public final class CrashWorker {
    private CrashWorker() {}

    public static void main(String[] args) {
        Path state = Path.of(args[0]);
        Path shipped = Path.of(args[1]);
        Random random = new Random(Long.parseLong(args[2]));
        ModelStore store = new ModelStore(state, Clock.systemUTC(), 2, null);
        store.open(Bundles.MODEL, shipped);
        // Warmed up before "ready", so the test's kill delays land in the loop, not in class loading.
        TinyModels.Spec spec = TinyModels.gray4x4();
        byte[] model = TinyModels.model(spec);
        String manifest = TinyModels.manifest(spec);
        store.record(Bundles.MODEL, "worker-started");
        System.out.println("ready");
        System.out.flush();
        boolean told = false;
        while (true) {
            int next = store.nextVersion(Bundles.MODEL);
            store.write(Bundles.MODEL, next, dir -> {
                Files.write(dir.resolve("model.onnx"), model);
                Files.writeString(dir.resolve("manifest.yaml"), manifest.replace("version: 1\n", "version: " + next + "\n"));
            });
            store.activate(Bundles.MODEL, next, "crash worker");
            if (!told) {
                System.out.println("activated");
                System.out.flush();
                told = true;
            }
            if (random.nextInt(4) == 0) {
                store.markKept(Bundles.MODEL, next, "crash worker");
            }
            if (random.nextInt(5) == 0) {
                store.rollback(Bundles.MODEL, null, -1, "crash worker");
            }
        }
    }
}
