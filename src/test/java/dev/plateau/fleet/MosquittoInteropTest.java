package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.TinyDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker fleets actually run: Debian's mosquitto on a free loopback port, with its own
 * clients as the fleet side. `.ci/run` installs mosquitto; without it the test is skipped, saying so.
 */
@Tag("interop")
class MosquittoInteropTest {
    @TempDir
    Path tmp;

    private static boolean installed(String tool) {
        // mosquitto itself lives in sbin, which a non-root PATH may lack.
        String path = System.getenv().getOrDefault("PATH", "") + java.io.File.pathSeparator + "/usr/sbin";
        return java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, tool)));
    }

    private static String run(List<String> command, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(seconds + 5L, TimeUnit.SECONDS), "did not finish: " + command);
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    }

    @Test
    void mosquitto_statusPingAndWillAfterKill9() throws Exception {
        assumeTrue(installed("mosquitto") && installed("mosquitto_rr"), "mosquitto and mosquitto-clients not installed");
        int port = Broker.freePort();
        Path conf = Files.writeString(tmp.resolve("mosquitto.conf"), "listener " + port + " 127.0.0.1\nallow_anonymous true\n");
        Process broker = new ProcessBuilder("mosquitto", "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("mosquitto.log").toFile()).start();
        ChildJvm daemon = null;
        try {
            Path config = TinyDevice.config(tmp, null);
            Files.writeString(config, Files.readString(config).replace("node: child", "node: interop")
                    + "mqtt: {broker: \"tcp://127.0.0.1:" + port + "\", keepalive_s: 5}\n");
            daemon = ChildJvm.start(Map.of(), "run", "-c", config.toString());
            assertTrue(daemon.awaitLine("fleet:", 20), daemon.lines().toString());
            String status = "plateau/v1/test/interop/status";
            String p = Integer.toString(port);

            String online = "";
            for (int i = 0; i < 20 && !online.contains("online"); i++) {
                online = run(List.of("mosquitto_sub", "-p", p, "-t", status, "-C", "1", "-W", "2"), 3);
            }
            assertTrue(online.contains("\"state\":\"online\""), online);

            String reply = run(List.of("mosquitto_rr", "-p", p, "-t", "plateau/v1/test/interop/cmd/ping",
                    "-e", "fleet/interop/reply", "-m", "{\"v\":1,\"cmdId\":\"rr-1\",\"args\":{}}", "-W", "10"), 10);
            assertTrue(reply.contains("\"cmdId\":\"rr-1\"") && reply.contains("\"state\":\"accepted\""), reply);

            daemon.process().destroyForcibly(); // SIGKILL: no clean offline, the will must speak
            assertTrue(daemon.process().waitFor(10, TimeUnit.SECONDS));
            String offline = "";
            for (int i = 0; i < 20 && !offline.contains("offline"); i++) {
                offline = run(List.of("mosquitto_sub", "-p", p, "-t", status, "-C", "1", "-W", "2"), 3);
            }
            assertTrue(offline.contains("\"state\":\"offline\""), offline);
        } finally {
            if (daemon != null) {
                daemon.process().destroyForcibly();
            }
            broker.destroy();
            assertTrue(broker.waitFor(10, TimeUnit.SECONDS));
        }
    }
}
