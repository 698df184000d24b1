package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.plateau.cli.Main;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.store.ModelStore;
import dev.plateau.store.ProbationPolicy;
import dev.plateau.testing.TinyModels;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the daemon tells the fleet when it follows the store to another version. */
class ModelSlotTest {
    @TempDir
    Path tmp;

    @Test
    void poll_afterRollbackByModelsCommand_sendsARollbackEventNotAnActivation() throws Exception {
        Path state = tmp.resolve("state");
        Path shipped = TinyModels.bundle(tmp.resolve("shipped"), TinyModels.gray4x4());
        ModelStore store = new ModelStore(state);
        List<String> events = new CopyOnWriteArrayList<>();
        List<Map<String, Object>> bodies = new CopyOnWriteArrayList<>();
        try (ModelSlot slot = ModelSlot.open(shipped, store, OrtRuntime.environment(1), 0, Clock.systemUTC(),
                ProbationPolicy.defaults(), (type, body) -> {
                    events.add(type);
                    bodies.add(body);
                })) {
            String model = slot.name();
            store.write(model, 1, dir -> TinyModels.bundle(dir, TinyModels.gray4x4()));
            store.activate(model, 1, "test");
            slot.poll();
            assertEquals(List.of("model-activated"), events);

            assertEquals(0, Main.execute("models", "rollback", "--store", state.toString(), model));
            slot.poll();

            assertEquals(List.of("model-activated", "rollback"), events);
            assertEquals(Map.of("model", model, "version", 0, "from", 1, "reason", "by command"), bodies.get(1));
        }
    }
}
