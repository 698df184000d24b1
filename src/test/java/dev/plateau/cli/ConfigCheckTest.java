package dev.plateau.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every shipped device configuration passes {@code plateau config check}; bad ones exit 78. */
class ConfigCheckTest {

    static List<Path> shippedConfigs() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("device-config"))) {
            return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void shippedConfigs_includeTheDocumentedOnes() throws IOException {
        List<String> names = shippedConfigs().stream().map(p -> p.getFileName().toString()).toList();
        assertEquals(List.of("bridge-sensor.yaml", "demo.yaml", "roadside.yaml", "vehicle.yaml"), names);
    }

    /** Runs the command line, returning its exit code; what it printed is in {@link #out} and {@link #err}. */
    private int run(String... args) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream outBuffer = new ByteArrayOutputStream();
        ByteArrayOutputStream errBuffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(outBuffer, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(errBuffer, true, StandardCharsets.UTF_8));
        try {
            return Main.execute(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
            out = outBuffer.toString(StandardCharsets.UTF_8);
            err = errBuffer.toString(StandardCharsets.UTF_8);
        }
    }

    private String out = "";
    private String err = "";

    @ParameterizedTest
    @MethodSource("shippedConfigs")
    void configCheck_shippedConfig_saysOkWithWhatItFound(Path config) {
        assertEquals(0, run("config", "check", "-c", config.toString()), err);
        assertTrue(out.matches(Pattern.quote(config.toString()) + ": ok \\(device [^/]+/[^,]+, \\d+ model\\(s\\), "
                + "\\d+ source\\(s\\), (mqtt \\S+|no broker)\\)\\R"), out);
    }

    @Test
    void configCheck_badConfig_exits78ListingEveryError(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "device: {group: g}\nstate_dir: state\nmodels: []\nwhat: x\n");

        assertEquals(78, run("config", "check", "-c", bad.toString()), err);

        List<String> lines = err.lines().toList();
        assertEquals("configuration error: " + bad + ": 3 errors", lines.get(0), err);
        for (String expected : List.of("device.node: required, missing", "models: at least one model is required",
                "what: unknown key, expected one of [device, ")) {
            assertTrue(lines.stream().anyMatch(l -> l.trim().startsWith(expected) && l.matches(".*\\(\\d+:\\d+\\)$")),
                    expected + " with its line:col in\n" + err);
        }
    }

    @Test
    void run_badConfig_exits78BeforeStartingNamingTheModel(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "device: {group: g, node: n}\nstate_dir: " + tmp + "\nmodels:\n  - {name: m, bundle: /nope}\n");
        assertEquals(78, run("run", "-c", bad.toString()), err);
        assertTrue(err.contains("models[0].bundle: ") && err.contains("/nope"), err);
        assertFalse(Files.exists(tmp.resolve("samples")));
    }

    @Test
    void unknownOption_exits2NamingIt() {
        assertEquals(2, run("config", "check", "-c", "device-config/demo.yaml", "--nope"));
        assertTrue(err.contains("Unknown option: '--nope'"), err);
    }
}
