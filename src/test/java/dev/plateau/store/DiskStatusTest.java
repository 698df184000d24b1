package dev.plateau.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which writers are short of space, and the one rule for repeating warnings. */
class DiskStatusTest {
    @TempDir
    Path tmp;

    private final ManualClock clock = new ManualClock();
    private final List<String> lines = new ArrayList<>();
    private final FailureLog log = new FailureLog(clock, Duration.ofSeconds(60), lines::add);

    private DiskFullException full(Path dir, long needed) {
        return new DiskFullException("cannot write x", dir, needed, 0, new IOException("No space left on device"));
    }

    @Test
    void warn_sameCauseWithinTheInterval_oneLineThenOneSayingHowManyWereHeldBack() {
        for (int i = 0; i < 1200; i++) { // 20 a second for a minute
            log.warn("samples /state", "sample store: no space");
            clock.advance(Duration.ofMillis(50));
        }
        log.warn("outbox /state", "outbox: no space");
        log.warn("samples /state", "sample store: no space");

        assertEquals(List.of("sample store: no space", "outbox: no space",
                "sample store: no space (1199 more like it not logged in the last 60 s)"), lines);
    }

    @Test
    void clear_causeOver_nextFailureLoggedAtOnce() {
        log.warn("c", "a");
        log.clear("c");
        log.warn("c", "b");

        assertEquals(List.of("a", "b"), lines);
    }

    @Test
    void view_writerFullThenOk_namesDirectoryNeedAndHaveThenOk() {
        DiskStatus disk = new DiskStatus(clock, log);
        Path dir = Path.of("/nonexistent/state/outbox");
        disk.full("outbox", "outbox: full", full(dir, Long.MAX_VALUE));
        disk.full("outbox", "outbox: full", full(dir, Long.MAX_VALUE));

        Map<String, Object> view = disk.view();
        assertEquals("full", view.get("state"));
        @SuppressWarnings("unchecked")
        Map<String, Object> w = ((List<Map<String, Object>>) view.get("full")).get(0);
        assertEquals("outbox", w.get("writer"));
        assertEquals(dir.toString(), w.get("dir"));
        assertEquals(Long.MAX_VALUE, w.get("need_bytes"));
        assertEquals(0L, w.get("have_bytes"));
        assertEquals(2L, w.get("failures"));
        assertEquals(1, lines.size(), "the second failure within the minute is not logged");

        disk.ok("outbox");
        assertEquals(Map.of("state", "ok"), disk.view());
        assertFalse(disk.isFull());
    }

    @Test
    void view_oneShotWriterWhoseDirectoryHasRoomAgain_noLongerFull() {
        DiskStatus disk = new DiskStatus(clock, log);
        disk.full("finetune m", "fine-tune failed", full(tmp, 1));

        assertEquals("ok", disk.view().get("state"), "the directory has the byte it needed");
        assertTrue(lines.size() == 1);
    }
}
