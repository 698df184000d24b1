package dev.plateau.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plateau models}: keygen, sign, import, list, verify, rollback as a fleet operator runs them. */
class ModelsCommandTest {
    @TempDir
    Path tmp;

    private String out;

    private int run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            return Main.execute(args);
        } finally {
            System.setOut(saved);
            out = buffer.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void keygenSignImportListVerify_roundTrip_worksAndTamperingFailsVerify() throws Exception {
        Path state = tmp.resolve("state");
        String store = state.toString();
        new ModelStore(state).open(Bundles.MODEL, Bundles.bundle(tmp.resolve("shipped"), 1));
        assertEquals(0, run("models", "keygen", "--out", tmp.resolve("keys").toString()), out);
        Files.createDirectories(ModelStore.trustedKeysDir(state));
        Files.copy(tmp.resolve("keys/fleet.pub"), ModelStore.trustedKeysDir(state).resolve("fleet.pub"));
        Path bundle = Bundles.bundle(tmp.resolve("b2"), 2);
        assertEquals(0, run("models", "sign", "--key", tmp.resolve("keys/fleet.key").toString(), bundle.toString()), out);

        assertEquals(0, run("models", "import", "--store", store, bundle.toString()), out);
        assertEquals(3, run("models", "import", "--store", store, bundle.toString()), "a downgrade is refused");

        assertEquals(0, run("models", "list", "--store", store), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("tiny-gray\\s+2\\s+2\\s+active.*")), out);
        assertEquals(0, run("models", "list", "--store", store, "--json"), out);
        assertTrue(out.contains("\"version\":0") && out.contains("\"status\":\"kept,rollback-target,shipped\""), out);

        assertEquals(0, run("models", "verify", "--store", store), out);
        Path model = new ModelStore(state).versionDir(Bundles.MODEL, 2).resolve("model.onnx");
        byte[] bytes = Files.readAllBytes(model);
        bytes[3] ^= 1;
        Files.write(model, bytes);
        assertEquals(3, run("models", "verify", "--store", store, "--json"), out);
        assertTrue(out.contains("does not match its hash"), out);

        assertEquals(0, run("models", "rollback", "--store", store, Bundles.MODEL), out);
        assertEquals(0, new ModelStore(state).active(Bundles.MODEL));
        assertEquals(0, run("models", "show", "--store", store, Bundles.MODEL), out);
        // The journal line of the rollback itself, not the header (which always says "rollback target").
        assertTrue(out.lines().anyMatch(l -> l.matches("\\S+\\s+rollback\\s+\\{version=0, from=2, reason=by command}")),
                out);
    }

    @Test
    void verify_leftoverTemporaryDirectory_isReportedAndFails() throws Exception {
        Path state = tmp.resolve("state");
        ModelStore model = new ModelStore(state);
        model.open(Bundles.MODEL, Bundles.bundle(tmp.resolve("shipped"), 1));
        Path leftover = Files.createDirectories(model.versionsDir(Bundles.MODEL).resolve(".tmp-0003"));
        Files.write(leftover.resolve("model.onnx"), new byte[1000]);

        assertEquals(3, run("models", "verify", "--store", state.toString(), "--json"), out);

        assertTrue(out.lines().anyMatch(l -> l.contains("\"ok\":false") && l.contains(
                "leftover models/tiny-gray/versions/.tmp-0003 (1000 bytes) of an interrupted write")), out);
    }
}
