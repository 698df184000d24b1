package dev.plateau.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * {@code plateau} as a real child process on the test classpath, its output collected line by
 * line. Signals go through kill(1): {@link Process#destroy()} would also close our end of its output.
 * {@code lines} is the live list the reader appends to: iterate it, or copy it before taking a
 * sub-list (a sub-list of it throws ConcurrentModificationException once a line arrives).
 */
public record ChildJvm(Process process, List<String> lines, Thread reader) {

    public static ChildJvm start(Map<String, String> environment, String... args) throws IOException {
        return start(List.of(), environment, "dev.plateau.cli.Main", args);
    }

    /** The systemd unit's memory limits, where running out of memory is what a test is about. */
    public static final List<String> UNIT_MEMORY = List.of("-XX:+UseSerialGC", "-Xms8m", "-Xmx160m", "-Xss512k",
            "-XX:MaxDirectMemorySize=32m", "-XX:+ExitOnOutOfMemoryError");

    /** {@code mainClass} (from the test classpath) in a JVM started with {@code jvmFlags}. */
    public static ChildJvm start(List<String> jvmFlags, Map<String, String> environment, String mainClass,
                                 String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        builder.environment().remove("WATCHDOG_PID");
        Process process = builder.start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("reader: " + e);
            }
        }, "child-output");
        reader.setDaemon(true);
        reader.start();
        return new ChildJvm(process, lines, reader);
    }

    /**
     * Waits until the child's output has been read to its end (the child has exited and the pipe
     * is drained); false when that did not happen within {@code seconds}.
     */
    public boolean awaitOutputEnd(int seconds) throws InterruptedException {
        reader.join(TimeUnit.SECONDS.toMillis(seconds));
        return !reader.isAlive();
    }

    public void signal(String name) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    /** Waits until a line contains {@code text}; false when it did not come within {@code seconds}. */
    public boolean awaitLine(String text, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (lines.stream().noneMatch(l -> l.contains(text))) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
