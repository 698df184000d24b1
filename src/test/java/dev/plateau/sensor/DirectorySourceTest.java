package dev.plateau.sensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.SourceConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
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
        SourceConfig.Directory config = new SourceConfig.Directory("inbox", "m", inbox, 100, 1000);
        DirectorySource source = new DirectorySource(config, handler, unused, Clock.fixed(now, ZoneOffset.UTC));
        return source;
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
    void poll_fileStillBeingWritten_waitsUntilSettled() throws IOException {
        Files.createDirectories(inbox.resolve("processed"));
        drop("fresh.png", now.minusMillis(200));
        drop(".hidden.png", now.minusSeconds(5));
        drop("partial.png.part", now.minusSeconds(5));
        source((src, file) -> {
            handled.add(file.getFileName().toString());
            return InputHandler.Result.INFERRED;
        }).poll();
        assertEquals(List.of(), handled);
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
}
