package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** {@code systemd/plateau.service}: systemd accepts it, and it agrees with what the daemon does. */
class SystemdUnitTest {
    static final Path REPO = Path.of(System.getProperty("plateau.test.models", "models")).toAbsolutePath().getParent();
    private static final Path UNIT = REPO.resolve("systemd/plateau.service");

    private static Map<String, String> settings() throws IOException {
        return Files.readAllLines(UNIT).stream()
                .filter(l -> l.contains("=") && !l.startsWith("#"))
                .collect(Collectors.toMap(l -> l.substring(0, l.indexOf('=')), l -> l.substring(l.indexOf('=') + 1),
                        (a, b) -> a + " " + b));
    }

    @Test
    void verify_systemdAnalyze_acceptsTheUnit() throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        assumeTrue(Files.isExecutable(analyze), "systemd-analyze not installed (Debian package: systemd)");
        Process process = new ProcessBuilder(analyze.toString(), "verify", UNIT.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "systemd-analyze did not finish");
        // verify exits 0 on settings it ignores (a bad value, an unknown key); it names the file then.
        List<String> complaints = output.lines().filter(l -> l.contains("plateau.service")).toList();
        assertEquals(0, process.exitValue(), output);
        assertEquals(List.of(), complaints, output);
    }

    @Test
    void settings_matchTheDaemon() throws IOException {
        Map<String, String> unit = settings();
        assertEquals("notify", unit.get("Type"));
        assertEquals("main", unit.get("NotifyAccess"));
        assertEquals("78", unit.get("RestartPreventExitStatus"));
        assertEquals("on-failure", unit.get("Restart"));
        assertFalse(unit.containsKey("MemoryDenyWriteExecute"), "breaks the JIT");
        Duration stop = seconds(unit.get("TimeoutStopSec"));
        Duration daemonStop = Daemon.STOP_TIMEOUT.plusSeconds(5);
        assertTrue(stop.compareTo(daemonStop.plusSeconds(10)) >= 0, "TimeoutStopSec " + stop + " vs " + daemonStop);
        // Checks run at half the timeout; a stall is reported after STALL_LIMIT, not by the timeout.
        assertTrue(seconds(unit.get("WatchdogSec")).compareTo(Duration.ofSeconds(10)) >= 0);
    }

    @Test
    void execStart_unpacksNativeLibrariesIntoTheCacheDirectory() throws IOException {
        Map<String, String> unit = settings();
        assertEquals("plateau", unit.get("CacheDirectory"));
        String exec = unit.get("ExecStart");
        assertTrue(exec.contains("-Djava.io.tmpdir=%C/plateau/tmp"), exec);
        assertTrue(unit.get("ExecStartPre").contains("/bin/mkdir -p %C/plateau/tmp"), unit.get("ExecStartPre"));
        assertTrue(exec.contains("-XX:+ExitOnOutOfMemoryError") && exec.contains("-XX:+UseSerialGC"), exec);
        assertTrue(exec.endsWith("run -c %E/plateau/plateau.yaml"), exec);
        assertTrue(unit.get("Environment").contains("-Xmx"), unit.get("Environment"));
    }

    @Test
    void execStart_usesTheStartCacheInstallShMakes() throws IOException {
        String exec = settings().get("ExecStart");
        // Where install.sh's start_cache puts them; the prefix rewrite covers both.
        assertTrue(exec.contains(" -D" + StartCache.NATIVE_DIR_PROPERTY + "=/usr/lib/plateau/native "), exec);
        assertTrue(exec.contains(" -XX:SharedArchiveFile=/usr/lib/plateau/plateau.jsa "), exec);
        String script = Files.readString(REPO.resolve("systemd/install.sh"));
        assertTrue(script.contains("\"$lib/native\"") && script.contains("\"$lib/plateau.jsa\""), "install.sh");
    }

    @Test
    void jvmFlags_areTheOnesBenchFootprintMeasuresWith() throws IOException {
        Map<String, String> unit = settings();
        String memory = unit.get("Environment").replaceAll("^\"?PLATEAU_JAVA_MEMORY=|\"$", "");
        String exec = unit.get("ExecStart").replace("$PLATEAU_JAVA_MEMORY", memory);
        // All but the archive, whose path bench footprint makes its own.
        List<String> flags = java.util.Arrays.stream(exec.split("\\s+"))
                .filter(f -> f.startsWith("-X") && !f.startsWith("-XX:SharedArchiveFile=")).toList();
        assertEquals(Footprint.UNIT_JVM_FLAGS.stream().sorted().toList(), flags.stream().sorted().toList(), exec);
    }

    private static Duration seconds(String value) {
        Matcher m = Pattern.compile("(\\d+)(s|min)").matcher(value);
        assertTrue(m.matches(), value);
        long n = Long.parseLong(m.group(1));
        return m.group(2).equals("s") ? Duration.ofSeconds(n) : Duration.ofMinutes(n);
    }
}
