package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.TinyDevice;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** {@code plateau run} as a child process under a stand-in for systemd: the notify socket it is given. */
class SystemdProcessTest {
    @TempDir
    Path tmp;

    private Path config(String bundleDir) throws IOException {
        return TinyDevice.config(tmp, bundleDir);
    }

    private Process start(Path config, String notifySocket, List<String> lines) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.plateau.cli.Main", "run", "-c", config.toString())
                .redirectErrorStream(true);
        builder.environment().put("NOTIFY_SOCKET", notifySocket);
        builder.environment().put("WATCHDOG_USEC", "400000");
        builder.environment().remove("WATCHDOG_PID");
        Process process = builder.start();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("reader: " + e);
            }
        });
        reader.setDaemon(true);
        reader.start();
        return process;
    }

    @Test
    void run_underSystemd_readyThenWatchdogPingsThenStopping() throws Exception {
        String name = "plateau-test-" + UUID.randomUUID();
        List<String> lines = new CopyOnWriteArrayList<>();
        try (NotifyListener systemd = new NotifyListener(AFUNIXSocketAddress.inAbstractNamespace(name))) {
            Process process = start(config(null), "@" + name, lines);
            try {
                assertTrue(systemd.await(m -> m.startsWith("READY=1\n"), 15_000), systemd.messages + "\n" + lines);
                // 400 ms timeout: a ping every 200 ms.
                assertTrue(systemd.await(m -> m.contains("inferred") && !m.contains(" 0 inferred")
                        && m.startsWith("WATCHDOG=1\n"), 5_000), systemd.messages.toString());
                assertTrue(systemd.await(m -> systemd.messages.stream().filter(x -> x.startsWith("WATCHDOG=1")).count()
                        >= 3, 5_000), systemd.messages.toString());

                new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).inheritIO().start().waitFor();
                assertTrue(process.waitFor(30, TimeUnit.SECONDS), "did not stop: " + lines);
                assertEquals(0, process.exitValue(), String.join("\n", lines));
                assertTrue(systemd.await(m -> m.startsWith("STOPPING=1\n"), 2_000), systemd.messages.toString());
            } finally {
                process.destroyForcibly();
            }
            List<String> kinds = systemd.messages.stream().map(m -> m.substring(0, m.indexOf('='))).toList();
            int ready = kinds.indexOf("READY");
            int firstPing = kinds.indexOf("WATCHDOG");
            int lastPing = kinds.lastIndexOf("WATCHDOG");
            int stopping = kinds.indexOf("STOPPING");
            assertEquals(0, ready, kinds.toString());
            assertTrue(ready < firstPing && lastPing < stopping && stopping == kinds.size() - 1, kinds.toString());
            assertTrue(systemd.messages.get(ready).contains("STATUS=running: 1 model(s), 2 source(s)"),
                    systemd.messages.get(ready));
        }
    }

    @Test
    void run_missingModel_exits78WithTheReasonInStatus() throws Exception {
        Path socket = tmp.resolve("notify.sock");
        List<String> lines = new CopyOnWriteArrayList<>();
        try (NotifyListener systemd = new NotifyListener(AFUNIXSocketAddress.of(socket))) {
            Process process = start(config("no-such-bundle"), socket.toString(), lines);
            try {
                assertTrue(process.waitFor(30, TimeUnit.SECONDS), "did not exit: " + lines);
                assertEquals(78, process.exitValue(), String.join("\n", lines));
            } finally {
                process.destroyForcibly();
            }
            assertTrue(systemd.await(m -> m.startsWith("STATUS=configuration error: ")
                    && m.contains("no-such-bundle") && !m.contains("\n"), 2_000), systemd.messages.toString());
            assertTrue(systemd.messages.stream().noneMatch(m -> m.contains("READY=1")), systemd.messages.toString());
        }
    }
}
