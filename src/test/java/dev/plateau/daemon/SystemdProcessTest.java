package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.TinyDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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

    private static ChildJvm start(Path config, String notifySocket) throws IOException {
        // 400 ms watchdog timeout: a ping every 200 ms.
        return ChildJvm.start(Map.of("NOTIFY_SOCKET", notifySocket, "WATCHDOG_USEC", "400000"),
                "run", "-c", config.toString());
    }

    @Test
    void run_underSystemd_readyThenWatchdogPingsThenStopping() throws Exception {
        String name = "plateau-test-" + UUID.randomUUID();
        try (NotifyListener systemd = new NotifyListener(AFUNIXSocketAddress.inAbstractNamespace(name))) {
            ChildJvm child = start(config(null), "@" + name);
            Process process = child.process();
            List<String> lines = child.lines();
            try {
                assertTrue(systemd.await(m -> m.startsWith("READY=1\n"), 15_000), systemd.messages + "\n" + lines);
                assertTrue(systemd.await(m -> m.contains("inferred") && !m.contains(" 0 inferred")
                        && m.startsWith("WATCHDOG=1\n"), 5_000), systemd.messages.toString());
                assertTrue(systemd.await(m -> systemd.messages.stream().filter(x -> x.startsWith("WATCHDOG=1")).count()
                        >= 3, 5_000), systemd.messages.toString());

                child.signal("TERM");
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
        try (NotifyListener systemd = new NotifyListener(AFUNIXSocketAddress.of(socket))) {
            ChildJvm child = start(config("no-such-bundle"), socket.toString());
            Process process = child.process();
            List<String> lines = child.lines();
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
