package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code systemd/install.sh} staged into a temporary root with DESTDIR: no root, no systemctl. */
class InstallScriptTest {
    private static final Path SCRIPT = SystemdUnitTest.REPO.resolve("systemd/install.sh");

    @TempDir
    Path root;

    private Path jar() throws IOException {
        return Files.write(root.resolveSibling(root.getFileName() + "-plateau.jar"), new byte[] {'P', 'K'});
    }

    private record Run(int status, String output) {}

    private Run install(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("sh", SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("DESTDIR", root.toString());
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "install.sh did not finish");
        return new Run(process.exitValue(), output);
    }

    @Test
    void install_vehicle_laysOutJarModelsConfigAndUnit() throws Exception {
        Run run = install("--config", "vehicle", "--jar", jar().toString());
        assertEquals(0, run.status(), run.output());
        Path lib = root.resolve("usr/lib/plateau");
        assertTrue(Files.isRegularFile(lib.resolve("plateau.jar")), run.output());
        assertTrue(Files.isRegularFile(lib.resolve("models/fashion-cnn/model.onnx")));
        assertTrue(Files.isRegularFile(lib.resolve("models/fashion-cnn/manifest.yaml")));
        assertFalse(Files.exists(lib.resolve("models/training")), "training scripts are not shipped");
        assertEquals(Files.readString(SystemdUnitTest.REPO.resolve("device-config/vehicle.yaml")),
                Files.readString(root.resolve("etc/plateau/plateau.yaml")));
        assertEquals(Files.readString(SystemdUnitTest.REPO.resolve("systemd/plateau.service")),
                Files.readString(root.resolve("etc/systemd/system/plateau.service")));
        assertTrue(Files.readString(root.resolve("usr/lib/sysusers.d/plateau.conf")).startsWith("u plateau "));
        // The stand-in jar holds no libraries: a warning, not a failed install (StartCacheTest unpacks real ones).
        assertTrue(run.output().contains("warning: ONNX Runtime's libraries could not be unpacked into "
                + lib.resolve("native") + ": the daemon unpacks them on each start"), run.output());
        assertFalse(Files.exists(lib.resolve("plateau.jsa")), "a staged install has no class-data archive");
    }

    @Test
    void install_again_keepsTheEditedConfig() throws Exception {
        String jar = jar().toString();
        assertEquals(0, install("--config", "vehicle", "--jar", jar).status());
        Path config = root.resolve("etc/plateau/plateau.yaml");
        Files.writeString(config, "# edited on the device\n", java.nio.file.StandardOpenOption.APPEND);
        String edited = Files.readString(config);
        Run again = install("--config", "roadside", "--jar", jar);
        assertEquals(0, again.status(), again.output());
        assertEquals(edited, Files.readString(config));
        assertTrue(again.output().contains("kept"), again.output());
        assertTrue(Files.isRegularFile(root.resolve("usr/lib/plateau/models/fashion-cnn/model.onnx")));
        assertFalse(Files.exists(root.resolve("usr/lib/plateau/models.new")));
    }

    @Test
    void install_otherPrefix_unitPointsThere() throws Exception {
        Run run = install("--prefix", "/opt/plateau", "--config", "vehicle", "--jar", jar().toString());
        assertEquals(0, run.status(), run.output());
        String unit = Files.readString(root.resolve("etc/systemd/system/plateau.service"));
        assertTrue(unit.contains("WorkingDirectory=/opt/plateau/lib/plateau\n"), unit);
        assertTrue(unit.contains("-jar /opt/plateau/lib/plateau/plateau.jar "), unit);
        assertFalse(unit.contains("/usr/lib/plateau"), unit);
        assertTrue(Files.isRegularFile(root.resolve("opt/plateau/lib/plateau/plateau.jar")));
    }

    @Test
    void install_unknownConfig_failsListingTheChoices() throws Exception {
        Run run = install("--config", "tractor", "--jar", jar().toString());
        assertEquals(1, run.status(), run.output());
        assertTrue(run.output().contains("vehicle") && run.output().contains("roadside"), run.output());
        assertFalse(Files.exists(root.resolve("usr/lib/plateau")), "nothing installed on failure");
    }

    @Test
    void uninstall_keepsStateUnlessPurged() throws Exception {
        assertEquals(0, install("--config", "vehicle", "--jar", jar().toString()).status());
        Path state = Files.createDirectories(root.resolve("var/lib/plateau/samples"));
        Files.createDirectories(root.resolve("var/cache/plateau/tmp"));

        Run uninstall = install("--uninstall");
        assertEquals(0, uninstall.status(), uninstall.output());
        assertFalse(Files.exists(root.resolve("usr/lib/plateau")));
        assertFalse(Files.exists(root.resolve("etc/systemd/system/plateau.service")));
        assertFalse(Files.exists(root.resolve("etc/plateau")));
        assertFalse(Files.exists(root.resolve("var/cache/plateau")));
        assertTrue(Files.isDirectory(state));
        assertEquals(0, install("--uninstall").status(), "uninstalling twice is fine");

        Run purge = install("--uninstall", "--purge");
        assertEquals(0, purge.status(), purge.output());
        assertFalse(Files.exists(root.resolve("var/lib/plateau")));
    }
}
