package dev.plateau.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

    @ParameterizedTest
    @MethodSource("shippedConfigs")
    void configCheck_shippedConfig_exitsZero(Path config) {
        assertEquals(0, Main.execute("config", "check", "-c", config.toString()));
    }

    @Test
    void configCheck_badConfig_exits78() throws IOException {
        Path bad = Files.createTempFile("bad", ".yaml");
        try {
            Files.writeString(bad, "device: {group: g}\nstate_dir: 7\nmodels: []\nwhat: x\n");
            assertEquals(78, Main.execute("config", "check", "-c", bad.toString()));
        } finally {
            Files.delete(bad);
        }
    }

    @Test
    void run_badConfig_exits78BeforeStarting(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "device: {group: g, node: n}\nstate_dir: " + tmp + "\nmodels:\n  - {name: m, bundle: /nope}\n");
        assertEquals(78, Main.execute("run", "-c", bad.toString()));
        assertFalse(Files.exists(tmp.resolve("samples")));
    }

    @Test
    void unknownOption_exits2() {
        assertEquals(2, Main.execute("config", "check", "--nope"));
    }
}
