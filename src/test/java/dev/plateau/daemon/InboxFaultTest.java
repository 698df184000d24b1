package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.store.ModelStore;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's bad inputs against a real {@code plateau run} under the systemd unit's memory flags
 * ({@code -Xmx160m -XX:MaxDirectMemorySize=32m -XX:+ExitOnOutOfMemoryError}): each is rejected
 * with its reason, the daemon stays up, and the next good file is still taken.
 */
class InboxFaultTest {
    @TempDir
    Path tmp;

    /** Two inboxes: {@code images} (the 4x4 gray model) and {@code windows} (the 3x8 CSV model). */
    private Path config() throws IOException {
        return TinyDevice.twoInboxes(tmp, "child");
    }

    private Path images() {
        return tmp.resolve("images");
    }

    private Path windows() {
        return tmp.resolve("windows");
    }

    private ChildJvm start(Path config) throws Exception {
        ChildJvm child = ChildJvm.start(ChildJvm.UNIT_MEMORY, Map.of(), "dev.plateau.cli.Main", "run", "-c",
                config.toString());
        assertTrue(child.awaitLine("plateau ready", 20), "not ready: " + child.lines());
        return child;
    }

    private static void stop(ChildJvm child) throws Exception {
        child.signal("TERM");
        assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), "did not stop: " + child.lines());
        assertEquals(0, child.process().exitValue(), String.join("\n", child.lines()));
    }

    private static void await(Path file, int seconds, ChildJvm child) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            assertTrue(child.process().isAlive(), "the daemon died: " + String.join("\n", child.lines()));
            assertTrue(System.nanoTime() < deadline, file.getFileName() + " not within " + seconds + " s: "
                    + String.join("\n", child.lines()));
            Thread.sleep(20);
        }
    }

    private static String reason(Path inbox, String name) throws IOException {
        return Files.readString(inbox.resolve("rejected").resolve(name + ".reason.txt"));
    }

    private void goodFilesStillTaken(ChildJvm child, String tag) throws Exception {
        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        Files2.drop(images().resolve("good-" + tag + ".png"), Files2.grayPng(px));
        Files2.drop(windows().resolve("good-" + tag + ".csv"), Files2.window("ax,ay,az", 8).getBytes(StandardCharsets.US_ASCII));
        await(images().resolve("processed/good-" + tag + ".png"), 20, child);
        await(windows().resolve("processed/good-" + tag + ".csv"), 20, child);
    }

    @Test
    void run_symlinkToTheDeviceKey_rejectedAndTheKeyIsNowhere() throws Exception {
        ChildJvm child = start(config());
        try {
            // The device's own signing key, as the daemon made it at its first start.
            Path key = ModelStore.deviceKeyFile(tmp.resolve("state"));
            String secret = Files.readString(key);
            String mark = secret.strip().lines().filter(l -> !l.startsWith("-")).findFirst().orElseThrow()
                    .substring(0, 24);
            Files.createSymbolicLink(windows().resolve("k.csv"), key);
            Files.createSymbolicLink(images().resolve("k.png"), key);
            await(windows().resolve("rejected/k.csv.reason.txt"), 20, child);
            await(images().resolve("rejected/k.png.reason.txt"), 20, child);
            goodFilesStillTaken(child, "after-link");
            stop(child);
            String reason = reason(windows(), "k.csv");
            assertTrue(reason.startsWith("REJECTED: not-a-file: "), reason);
            assertTrue(reason.contains("k.csv: is a symbolic link (links are not followed), expected a regular file"),
                    reason);
            assertFalse(reason.contains(mark) || reason(images(), "k.png").contains(mark), reason);
            assertTrue(child.lines().stream().anyMatch(l -> l.contains("input-rejected source=windows")
                    && l.contains("symbolic link")), String.join("\n", child.lines()));
            assertTrue(child.lines().stream().noneMatch(l -> l.contains(mark)), "the key is in the log");
            assertTrue(Files.isSymbolicLink(windows().resolve("rejected/k.csv")), "the link moved, not the key");
            assertEquals(secret, Files.readString(key), "the key itself untouched");
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void run_8192SquareRgbPng_inferredSubsampledWithinTheHeapAndTheNextFileTaken() throws Exception {
        ChildJvm child = start(config());
        try {
            // 200 KB on disk, 192 MB decoded at full size: more than the whole heap.
            Path png = Files2.hugePng(tmp.resolve("bomb.png"), 8192, 8192, true, 2048, 4096);
            Files.move(png, images().resolve("bomb.png"));
            await(images().resolve("processed/bomb.png"), 60, child);
            assertTrue(child.awaitLine("file=bomb.png label=middle", 5), String.join("\n", child.lines()));
            goodFilesStillTaken(child, "after-bomb");
            stop(child);
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void run_40MbImageAnd100MbOneLineCsv_refusedBeforeReadingAndTheInboxesKeepWorking() throws Exception {
        ChildJvm child = start(config());
        try {
            // Beyond -XX:MaxDirectMemorySize=32m: reading either whole used to kill its inbox for good.
            Files.move(Files2.bigFile(tmp.resolve("big.png"), 40L * 1024 * 1024, (byte) 0), images().resolve("big.png"));
            Files.move(Files2.bigFile(tmp.resolve("line.csv"), 100L * 1024 * 1024, (byte) '7'),
                    windows().resolve("line.csv"));
            await(images().resolve("rejected/big.png.reason.txt"), 20, child);
            await(windows().resolve("rejected/line.csv.reason.txt"), 20, child);
            goodFilesStillTaken(child, "after-big");
            stop(child);
            assertTrue(reason(images(), "big.png").contains("big.png: 41943040 bytes, expected at most 16777216 bytes "
                    + "for an image; not read"), reason(images(), "big.png"));
            assertTrue(reason(windows(), "line.csv").contains("line.csv: 104857600 bytes, expected at most"),
                    reason(windows(), "line.csv"));
            assertTrue(child.lines().stream().noneMatch(l -> l.contains("OutOfMemoryError")),
                    String.join("\n", child.lines()));
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void run_fifoDirectoryAndForgedName_eachRejectedWithWhatItIsAndTheLogStaysOneLineEach() throws Exception {
        ChildJvm child = start(config());
        try {
            assertTrue(child.awaitLine("no systemd watchdog (no notify socket): sources checked every", 5),
                    String.join("\n", child.lines()));
            assertEquals(0, new ProcessBuilder("mkfifo", images().resolve("pipe.png").toString()).start().waitFor());
            Files.createDirectories(images().resolve("frames.png"));
            String forged = "x.csv\n2026-01-01 ERROR [main] forged\u001b[2J";
            Files.writeString(windows().resolve(forged), "ax,ay,az\n1,2,oops\n");
            await(images().resolve("rejected/pipe.png.reason.txt"), 20, child);
            await(images().resolve("rejected/frames.png.reason.txt"), 20, child);
            await(windows().resolve("rejected/" + forged + ".reason.txt"), 20, child);
            goodFilesStillTaken(child, "after-fifo");
            stop(child);
            assertTrue(reason(images(), "pipe.png").contains("is a FIFO (named pipe), expected a regular file"),
                    reason(images(), "pipe.png"));
            assertTrue(reason(images(), "frames.png").contains("is a directory, expected a regular file"),
                    reason(images(), "frames.png"));
            String forgedReason = reason(windows(), forged);
            assertTrue(forgedReason.contains("x.csv\\n2026-01-01 ERROR [main] forged\\x1b[2J: line 2, column 3: not a number"),
                    forgedReason);
            assertEquals(1, forgedReason.strip().lines().count(), forgedReason);
            assertTrue(child.lines().stream().noneMatch(l -> l.startsWith("2026-01-01 ERROR [main] forged")),
                    "a forged log line: " + String.join("\n", child.lines()));
            assertTrue(child.lines().stream().noneMatch(l -> l.contains("\u001b")), "an escape code in the log");
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void run_fileThatKilledTheProcess_quarantinedOnTheNextStartAndNeverReadAgain() throws Exception {
        Path config = config();
        Files.createDirectories(images());
        int[][] px = new int[4][4];
        Files2.drop(images().resolve("killer.png"), Files2.grayPng(px));
        // First life: the process dies while it handles killer.png.
        ChildJvm first = ChildJvm.start(List.of(), Map.of(), "dev.plateau.sensor.HaltingInbox", images().toString());
        assertTrue(first.process().waitFor(30, TimeUnit.SECONDS), first.lines().toString());
        assertEquals(134, first.process().exitValue(), first.lines().toString());
        assertEquals(List.of("handling killer.png"), first.lines());

        ChildJvm child = start(config);
        try {
            await(images().resolve("rejected/killer.png.reason.txt"), 20, child);
            goodFilesStillTaken(child, "after-crash");
            stop(child);
            assertTrue(reason(images(), "killer.png").contains("was being handled when the process died"),
                    reason(images(), "killer.png"));
            assertTrue(child.lines().stream().anyMatch(l -> l.contains(
                    "source images: killer.png was being handled when the process died; moved to rejected/ unread")),
                    String.join("\n", child.lines()));
            assertTrue(child.lines().stream().noneMatch(l -> l.contains("file=killer.png")), "read again");
            try (Stream<Path> inbox = Files.list(images())) {
                assertEquals(List.of(), inbox.filter(Files::isRegularFile).toList());
            }
        } finally {
            child.process().destroyForcibly();
        }
    }

    @Test
    void deadSourceWithoutANotifySocket_theLogNamesTheErrorAndSaysNothingWillRestartTheDaemon() throws Exception {
        ChildJvm child = ChildJvm.start(List.of(), Map.of(), "dev.plateau.daemon.DeadSourceWorker");
        assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), child.lines().toString());
        String log = String.join("\n", child.lines());
        assertTrue(log.contains("source inbox: a scheduled task failed with java.lang.StackOverflowError and will not "
                + "run again"), log);
        assertTrue(log.contains("watchdog: no progress, no systemd watchdog to stop pinging (no NOTIFY_SOCKET), so "
                + "nothing will restart the daemon: source inbox: no progress for"), log);
        assertEquals(1, child.lines().stream().filter(l -> l.contains("watchdog: no progress")).count(), log);
    }
}
