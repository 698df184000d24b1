package dev.plateau.sensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.SourceConfig;
import dev.plateau.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectorySourceTest {
    @TempDir
    Path inbox;

    private final ScheduledExecutorService unused = Executors.newSingleThreadScheduledExecutor();
    private final Instant now = Instant.parse("2026-11-24T12:00:00Z");
    private final List<String> handled = new ArrayList<>();

    @AfterEach
    void stop() {
        unused.shutdownNow();
    }

    private DirectorySource source(InputHandler handler) {
        return source(handler, Clock.fixed(now, ZoneOffset.UTC));
    }

    private DirectorySource source(InputHandler handler, Clock clock) {
        SourceConfig.Directory config = new SourceConfig.Directory("inbox", "m", inbox, 100, 1000, Optional.empty());
        return new DirectorySource(config, handler, unused, clock);
    }

    private Path drop(String name, Instant modified) throws IOException {
        Path file = Files.writeString(inbox.resolve(name), name);
        Files.setLastModifiedTime(file, FileTime.from(modified));
        return file;
    }

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void poll_goodAndBadFiles_movesEachToItsFolderWithReason() throws IOException {
        Files.createDirectories(inbox.resolve("processed"));
        Files.createDirectories(inbox.resolve("rejected"));
        drop("good.png", now.minusSeconds(5));
        drop("bad.png", now.minusSeconds(5));
        source((src, file) -> file.getFileName().toString().startsWith("good") ? InputHandler.Result.INFERRED
                : new InputHandler.Result(InputHandler.Outcome.REJECTED, "WRONG_SIZE: too small")).poll();
        assertEquals(List.of("good.png"), names(inbox.resolve("processed")));
        assertEquals(List.of("bad.png", "bad.png.reason.txt"), names(inbox.resolve("rejected")));
        assertTrue(Files.readString(inbox.resolve("rejected/bad.png.reason.txt")).contains("too small"));
    }

    @Test
    void poll_fileStillBeingWritten_waitsUntilSettledThenTakesIt() throws IOException {
        ManualClock clock = new ManualClock();
        Instant start = clock.instant();
        drop("fresh.png", start.minusMillis(200));
        drop(".hidden.png", start.minusSeconds(5));
        drop("partial.png.part", start.minusSeconds(5));
        DirectorySource source = source((src, file) -> {
            handled.add(file.getFileName().toString());
            return InputHandler.Result.INFERRED;
        }, clock);
        source.poll();
        assertEquals(List.of(), handled, "not settled for 1000 ms yet");
        clock.advance(Duration.ofMillis(799));
        source.poll();
        assertEquals(List.of(), handled, "1 ms short of settled");
        clock.advance(Duration.ofMillis(1));
        source.poll();
        assertEquals(List.of("fresh.png"), handled, "settled: taken; dot-names and .part never");
        assertEquals(List.of("fresh.png"), names(inbox.resolve("processed")));
    }

    @Test
    void poll_sameNameTwice_keepsBothFiles() throws IOException {
        Files.createDirectories(inbox.resolve("processed"));
        DirectorySource source = source((src, file) -> InputHandler.Result.INFERRED);
        drop("frame.png", now.minusSeconds(5));
        source.poll();
        drop("frame.png", now.minusSeconds(5));
        source.poll();
        assertEquals(List.of("frame-1.png", "frame.png"), names(inbox.resolve("processed")));
    }

    @Test
    void poll_handlerThrows_leavesFileInInboxForTheNextPoll() throws IOException {
        drop("x.png", now.minusSeconds(5));
        source((src, file) -> {
            throw new IllegalStateException("boom");
        }).poll();
        assertTrue(Files.exists(inbox.resolve("x.png")));
    }

    @Test
    void poll_handlerThrowsAnError_fileRejectedWithTheErrorAndTheNextFileHandled() throws IOException {
        drop("a-bomb.png", now.minusSeconds(6));
        drop("b-good.png", now.minusSeconds(5));
        source((src, file) -> {
            if (file.getFileName().toString().startsWith("a-")) {
                throw new OutOfMemoryError("Java heap space");
            }
            handled.add(file.getFileName().toString());
            return InputHandler.Result.INFERRED;
        }).poll();
        assertEquals(List.of("b-good.png"), handled);
        assertEquals(List.of("a-bomb.png", "a-bomb.png.reason.txt"), names(inbox.resolve("rejected")));
        assertEquals("FAILED: a-bomb.png: handling failed with java.lang.OutOfMemoryError; not retried",
                Files.readString(inbox.resolve("rejected/a-bomb.png.reason.txt")).strip());
    }

    @Test
    void poll_whileHandling_fileIsInTheHandlingMarkerDirectory() throws IOException {
        drop("x.png", now.minusSeconds(5));
        List<Path> seen = new ArrayList<>();
        source((src, file) -> {
            seen.add(file);
            assertTrue(Files.exists(inbox.resolve(DirectorySource.HANDLING).resolve("x.png")));
            assertFalse(Files.exists(inbox.resolve("x.png")));
            return InputHandler.Result.INFERRED;
        }).poll();
        assertEquals(List.of(inbox.resolve(DirectorySource.HANDLING).resolve("x.png")), seen);
        assertEquals(List.of(), names(inbox.resolve(DirectorySource.HANDLING)), "marker removed once handled");
    }

    @Test
    void start_fileLeftInHandlingByADeadProcess_quarantinedUnread() throws Exception {
        Path handling = Files.createDirectories(inbox.resolve(DirectorySource.HANDLING));
        Files.writeString(handling.resolve("killer.png"), "whatever crashed us");
        DirectorySource source = source((src, file) -> {
            handled.add(file.getFileName().toString());
            return InputHandler.Result.INFERRED;
        });
        source.start();
        source.close();
        assertEquals(List.of(), handled);
        assertEquals(List.of("killer.png", "killer.png.reason.txt"), names(inbox.resolve("rejected")));
        assertTrue(Files.readString(inbox.resolve("rejected/killer.png.reason.txt"))
                .contains("was being handled when the process died"));
    }

    @Test
    void poll_linksAndFifosInTheInbox_handedOnForTheHandlerToRefuseNotIgnored() throws Exception {
        Files.createSymbolicLink(inbox.resolve("k.csv"), Files.writeString(inbox.getParent().resolve(inbox.getFileName()
                + "-secret"), "secret"));
        assertEquals(0, new ProcessBuilder("mkfifo", inbox.resolve("pipe.csv").toString()).start().waitFor());
        // Their own times (a link's is the link's): settled by a clock 5 s ahead.
        source((src, file) -> new InputHandler.Result(InputHandler.Outcome.REJECTED, "NOT_A_FILE: refused"),
                Clock.offset(Clock.systemUTC(), Duration.ofSeconds(5))).poll();
        assertEquals(List.of("k.csv", "k.csv.reason.txt", "pipe.csv", "pipe.csv.reason.txt"),
                names(inbox.resolve("rejected")));
        assertTrue(Files.isSymbolicLink(inbox.resolve("rejected/k.csv")), "the link itself moved, not its target");
    }
}
