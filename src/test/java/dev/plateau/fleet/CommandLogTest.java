package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.testing.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cmdId log on disk: what a restart reads back, and that age keeps the file bounded. */
class CommandLogTest {
    @TempDir
    Path state;

    final ManualClock clock = new ManualClock();

    private static ObjectNode reply(String state) {
        return Json.MAPPER.createObjectNode().put("state", state);
    }

    @Test
    void open_commandAcceptedButNeverFinished_readsAsFailedAndInterrupted() {
        try (CommandLog log = CommandLog.open(state, Duration.ofHours(1), 100, clock)) {
            log.record("c-1", "d", reply("accepted"));
        }

        try (CommandLog log = CommandLog.open(state, Duration.ofHours(1), 100, clock)) {
            CommandLog.Entry e = log.get("c-1").orElseThrow();
            assertEquals("failed", e.state());
            assertTrue(e.reply().path("reason").asText().startsWith("interrupted"), e.reply().toString());
        }
    }

    @Test
    void open_tornLastLine_skippedAndEarlierEntriesKept() throws Exception {
        try (CommandLog log = CommandLog.open(state, Duration.ofHours(1), 100, clock)) {
            log.record("c-1", "d", reply("succeeded"));
        }
        Files.writeString(state.resolve(CommandLog.FILE), "{\"cmdId\":\"c-2\",\"at", java.nio.file.StandardOpenOption.APPEND);

        try (CommandLog log = CommandLog.open(state, Duration.ofHours(1), 100, clock)) {
            assertEquals("succeeded", log.get("c-1").orElseThrow().state());
            assertTrue(log.get("c-2").isEmpty());
        }
    }

    @Test
    void record_manyOverTime_fileHoldsOnlyTheWindowAndSomeSlack() throws Exception {
        try (CommandLog log = CommandLog.open(state, Duration.ofSeconds(10), 100_000, clock)) {
            for (int i = 0; i < 5000; i++) {
                log.record("c-" + i, "d", reply("succeeded"));
                clock.advance(Duration.ofMillis(100));
            }
            // 10 s at one command per 0.1 s: about 100 live entries.
            assertTrue(log.size() <= 101, "live entries " + log.size());
            long lines = Files.readAllLines(state.resolve(CommandLog.FILE)).size();
            assertTrue(lines <= 2 * 101 + 256 + 1, "lines on disk " + lines);
            assertTrue(log.get("c-0").isEmpty(), "the oldest were pruned");
        }
    }
}
