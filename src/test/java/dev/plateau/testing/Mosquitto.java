package dev.plateau.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Debian's mosquitto as a real broker process on a loopback port, without persistence: a
 * restart is a broker with no sessions, no subscriptions and no retained messages. The test
 * is skipped, saying so, where mosquitto is not installed (`.ci/run` installs it).
 */
public final class Mosquitto implements AutoCloseable {
    private final Path conf;
    private final Path log;
    public final int port;
    private Process process;

    private Mosquitto(Path dir, int port, String extra) throws IOException {
        this.port = port;
        this.conf = Files.writeString(dir.resolve("mosquitto-" + port + ".conf"),
                "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\n" + extra);
        this.log = dir.resolve("mosquitto-" + port + ".log");
    }

    /** Starts a broker on {@code port}, its configuration and log in {@code dir}. */
    public static Mosquitto start(Path dir, int port) throws Exception {
        return start(dir, port, "");
    }

    /** As {@link #start(Path, int)}, with {@code extra} lines appended to its configuration. */
    public static Mosquitto start(Path dir, int port, String extra) throws Exception {
        assumeTrue(installed(), "mosquitto not installed");
        Mosquitto m = new Mosquitto(dir, port, extra);
        m.start();
        return m;
    }

    public static boolean installed() {
        // mosquitto lives in sbin, which a non-root PATH may lack.
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin";
        return Arrays.stream(path.split(File.pathSeparator))
                .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, "mosquitto")));
    }

    public String uri() {
        return "tcp://127.0.0.1:" + port;
    }

    /** Starts it (again, fresh) and waits until it takes connections. */
    public void start() throws Exception {
        process = new ProcessBuilder("mosquitto", "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            assertTrue(process.isAlive(), "mosquitto exited: " + Files.readString(log));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                assertTrue(System.nanoTime() < deadline, "mosquitto not listening on " + port + ": " + Files.readString(log));
                Thread.sleep(20);
            }
        }
    }

    /** SIGKILL: whatever it held (sessions, in-flight messages, retained ones) is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        assertTrue(process.waitFor(10, TimeUnit.SECONDS), "mosquitto survived SIGKILL");
    }

    /**
     * SIGSTOP: a broker that hangs, or a path that went silent. Connections stay open and nothing
     * answers; only keep-alive timeouts notice. {@link #kill()} ends a frozen broker too.
     */
    public void freeze() throws IOException, InterruptedException {
        Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(process.pid())).inheritIO().start();
        assertTrue(stop.waitFor(10, TimeUnit.SECONDS) && stop.exitValue() == 0, "kill -STOP failed");
    }

    public long pid() {
        return process.pid();
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
