package dev.plateau.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.store.ModelStore;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Mounts;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A state directory that cannot be written is a configuration error: exit 78 naming the
 * directory and what is wrong, no stack trace, for the daemon and for every command that writes.
 */
class ReadOnlyStateTest {
    @TempDir
    Path tmp;

    private final Mounts mounts = new Mounts();
    private Path config;
    private Path state;
    private Path shipped;

    @BeforeEach
    void setUp() throws Exception {
        config = TinyDevice.config(tmp, null);
        state = tmp.resolve("state");
        shipped = tmp.resolve("gray");
        new ModelStore(state).open(TinyModels.gray4x4().name(), shipped);
        mounts.readOnly(state);
    }

    @AfterEach
    void tearDown() throws Exception {
        mounts.close();
    }

    private static void assertNamedWithoutStackTrace(List<String> lines, Path dir) {
        String all = String.join("\n", lines);
        assertTrue(all.contains("state directory " + dir + ": cannot be written: "), all);
        assertTrue(all.contains("read-only file system") || all.contains("permission denied"), all);
        assertTrue(lines.stream().noneMatch(l -> l.trim().startsWith("at ") || l.contains("Exception")), all);
    }

    private static ChildJvm finished(ChildJvm child) throws Exception {
        assertTrue(child.process().waitFor(60, TimeUnit.SECONDS), "did not exit: " + child.lines());
        // The output reader may still be on the last lines when the process is gone.
        child.awaitLine("configuration error: ", 5);
        return child;
    }

    @Test
    void run_readOnlyStateDirectory_exits78NamingIt() throws Exception {
        ChildJvm child = finished(ChildJvm.start(Map.of(), "run", "-c", config.toString()));
        assertEquals(78, child.process().exitValue(), String.join("\n", child.lines()));
        assertNamedWithoutStackTrace(child.lines(), state);
    }

    @Test
    void tune_readOnlyStore_exits78NamingItBeforeTraining() throws Exception {
        ChildJvm child = finished(ChildJvm.start(Map.of(), "tune", "-m", shipped.toString(), "-d",
                tmp.resolve("replay").toString(), "--store", state.toString()));
        assertEquals(78, child.process().exitValue(), String.join("\n", child.lines()));
        assertNamedWithoutStackTrace(child.lines(), state);
    }

    @Test
    void modelsRollback_readOnlyStore_exits78NamingIt() throws Exception {
        ChildJvm child = finished(ChildJvm.start(Map.of(), "models", "rollback", "--store", state.toString(),
                "tiny-gray", "0"));
        assertEquals(78, child.process().exitValue(), String.join("\n", child.lines()));
        assertNamedWithoutStackTrace(child.lines(), state);
    }

    @Test
    void modelsListAndVerify_readOnlyStore_stillWork() {
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Main.execute("models", "list", "--store", state.toString()));
            assertEquals(0, Main.execute("models", "verify", "--store", state.toString()));
        } finally {
            System.setOut(saved);
        }
        assertTrue(buffer.toString(StandardCharsets.UTF_8).contains("active,kept,shipped"), buffer.toString());
        assertTrue(Files.isDirectory(state));
    }
}
