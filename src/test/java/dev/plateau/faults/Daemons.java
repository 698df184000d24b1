package dev.plateau.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** {@code plateau run} as the systemd unit starts it, for the fault suite; and what it reads. */
final class Daemons {
    private Daemons() {}

    /** The unit's JVM flags (systemd/plateau.service: PLATEAU_JAVA_MEMORY and the rest of ExecStart). */
    static final List<String> UNIT_FLAGS;

    static {
        List<String> flags = new ArrayList<>(ChildJvm.UNIT_MEMORY);
        flags.addAll(List.of("-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=48m", "-XX:-UsePerfData"));
        UNIT_FLAGS = List.copyOf(flags);
    }

    static ChildJvm start(Path config) throws IOException {
        return ChildJvm.start(UNIT_FLAGS, Map.of(), "dev.plateau.cli.Main", "run", "-c", config.toString());
    }

    static ChildJvm startReady(Path config) throws Exception {
        ChildJvm child = start(config);
        assertTrue(child.awaitLine("plateau ready", 60), "not ready: " + String.join("\n", child.lines()));
        return child;
    }

    static void stop(ChildJvm child) throws Exception {
        child.signal("TERM");
        assertTrue(child.process().waitFor(40, TimeUnit.SECONDS), "did not stop: " + child.lines());
        assertEquals(0, child.process().exitValue(), String.join("\n", child.lines()));
    }

    /** A 4x4 gray PNG the tiny model classifies {@code middle}. */
    static byte[] middlePng() {
        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        return Files2.grayPng(px);
    }

    /** Waits for {@code file} (not following links) while the daemon lives. */
    static void await(Path file, int seconds, ChildJvm child) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            assertTrue(child.process().isAlive(), "the daemon died: " + String.join("\n", child.lines()));
            assertTrue(System.nanoTime() < deadline, () -> file.getFileName() + " not within " + seconds + " s; in "
                    + file.getParent().getParent() + ": " + listing(file.getParent().getParent()) + "; the log without "
                    + "the replay's results:\n" + String.join("\n", tail(child.lines().stream()
                    .filter(l -> !l.contains("result source=cam")).toList(), 60)));
            Thread.sleep(20);
        }
    }

    /** The names under {@code dir}, two levels deep, for a failure message. */
    private static List<String> listing(Path dir) {
        try (Stream<Path> walk = Files.walk(dir, 2)) {
            return walk.map(p -> dir.relativize(p).toString()).sorted().toList();
        } catch (java.io.IOException e) {
            return List.of("(cannot list: " + e.getMessage() + ")");
        }
    }

    static List<String> tail(List<String> lines, int n) {
        List<String> copy = List.copyOf(lines);
        return copy.subList(Math.max(0, copy.size() - n), copy.size());
    }

    /** Resident memory of a process in KiB, from /proc/PID/status; -1 when it is gone. */
    static long rssKib(long pid) {
        try (Stream<String> lines = Files.lines(Path.of("/proc", Long.toString(pid), "status"))) {
            return lines.filter(l -> l.startsWith("VmRSS:")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Regular files (and links, FIFOs: anything not a directory) directly in {@code dir}, hidden ones aside. */
    static List<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
