package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Refusals nobody asked to hear: one event and one log line per minute, the rest counted, none lost from the count. */
class UnansweredRefusalsTest {
    private final ManualClock clock = new ManualClock();
    private final List<Map<String, Object>> events = new ArrayList<>();
    private final List<String> lines = new ArrayList<>();
    private final UnansweredRefusals refusals = new UnansweredRefusals(events::add, lines::add, clock);

    @Test
    void refused_burstOf100_oneEventAndLineAtOnceThenOneSummaryWithTheRest() {
        for (int i = 0; i < 100; i++) {
            refusals.refused("plateau/v1/g/n/cmd/p\u00efng", "c-" + i, "unknown command");
            clock.advance(Duration.ofMillis(10));
        }

        assertEquals(1, events.size(), events.toString());
        assertEquals(1, lines.size(), lines.toString());
        assertEquals("c-0", events.get(0).get("cmdId"));
        assertEquals(1L, events.get(0).get("count"));
        assertTrue(lines.get(0).contains("cmd/p\u00efng (cmdId c-0) rejected: unknown command"), lines.get(0));

        refusals.flush();

        assertEquals(2, events.size(), events.toString());
        assertEquals(2, lines.size(), lines.toString());
        assertEquals(99L, events.get(1).get("count"), "every refusal counted: 1 + 99");
        assertEquals("c-99", events.get(1).get("cmdId"), "the last one as the example");
        assertTrue(lines.get(1).startsWith("fleet: 99 more command(s) without a response topic rejected"), lines.get(1));
    }

    @Test
    void flush_nothingSinceTheLastEvent_sendsAndLogsNothing() {
        refusals.refused("t", null, "r");
        refusals.flush();
        refusals.flush();

        assertEquals(1, events.size());
        assertEquals(1, lines.size());
        assertFalse(events.get(0).containsKey("cmdId"), "no cmdId read, none reported");
    }

    @Test
    void refused_afterAQuietPeriod_goesOutAtOnceAgain() {
        refusals.refused("t", "a", "r");
        clock.advance(UnansweredRefusals.PERIOD);
        refusals.refused("t", "b", "r");

        assertEquals(List.of("a", "b"), events.stream().map(e -> e.get("cmdId")).toList());
    }

    @Test
    void refused_topicWithLineBreakAndEscapes_loggedAndSentEscaped() {
        refusals.refused("plateau/v1/g/n/cmd/x\nERROR forged\u001b[2J", null, "unknown command 'x'");

        assertEquals("plateau/v1/g/n/cmd/x\\nERROR forged\\x1b[2J", events.get(0).get("topic"));
        assertFalse(lines.get(0).contains("\n"), lines.get(0));
    }
}
