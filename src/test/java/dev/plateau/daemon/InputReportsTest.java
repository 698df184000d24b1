package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.plateau.inference.InputRejectedException.Reason;
import dev.plateau.config.SourceConfig;
import dev.plateau.inference.Prediction;
import dev.plateau.sensor.QueueStats;
import dev.plateau.testing.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InputReportsTest {
    private final List<Map<String, Object>> events = new ArrayList<>();
    private final List<Map<String, Object>> results = new ArrayList<>();
    private final InputReports.Sink sink = new InputReports.Sink() {
        @Override
        public void result(String model, Map<String, Object> body) {
            results.add(body);
        }

        @Override
        public void rejected(Map<String, Object> event) {
            events.add(event);
        }

        @Override
        public void dropped(Map<String, Object> event) {
            drops.add(event);
        }
    };
    private final List<Map<String, Object>> drops = new ArrayList<>();

    @Test
    void rejected_burst_firstAtOnceThenOneSummaryPerPeriod() {
        ManualClock clock = new ManualClock();
        InputReports reports = new InputReports(sink, clock, false);
        reports.rejected("cam", "m", Reason.UNREADABLE, "not an image");
        assertEquals(1, events.size());
        assertEquals(1, events.get(0).get("count"));
        for (int i = 0; i < 99; i++) {
            clock.advance(Duration.ofMillis(100));
            reports.rejected("cam", "m", i % 3 == 0 ? Reason.WRONG_SIZE : Reason.UNREADABLE, "frame " + i);
        }
        assertEquals(1, events.size(), "within the period only the first goes out");

        reports.flush();
        assertEquals(2, events.size());
        Map<String, Object> summary = events.get(1);
        assertEquals(99, summary.get("count"));
        assertEquals(Map.of("unreadable", 66, "wrong-size", 33), summary.get("reasons"));
        assertEquals("frame 98", summary.get("example"));
        reports.flush();
        assertEquals(2, events.size(), "nothing new, nothing sent");

        clock.advance(InputReports.PERIOD);
        reports.rejected("cam", "m", Reason.NOT_FINITE, "NaN");
        assertEquals(3, events.size(), "after a quiet period the next rejection goes out at once");
    }

    @Test
    void rejected_sourcesCountedApart() {
        InputReports reports = new InputReports(sink, new ManualClock(), false);
        reports.rejected("cam", "m", Reason.UNREADABLE, "x");
        reports.rejected("inbox", "m", Reason.UNREADABLE, "y");
        assertEquals(List.of("cam", "inbox"), events.stream().map(e -> e.get("source")).toList());
    }

    @Test
    void inferred_publishesOnlyWhenSwitchedOn() {
        InputReports reports = new InputReports(sink, new ManualClock(), false);
        Prediction p = new Prediction("bag", 1, 0.9f, List.of("shirt", "bag"), new float[] {0.1f, 0.9f},
                new float[] {-1.1f, 1.1f}, 120);
        reports.inferred("cam", "m", 3, Path.of("in/a.png"), p);
        assertEquals(0, results.size());
        reports.publishResults(true);
        reports.inferred("cam", "m", 3, Path.of("in/a.png"), p);
        assertEquals(1, results.size());
        assertEquals("a.png", results.get(0).get("input"));
        assertEquals("bag", results.get(0).get("label"));
        assertEquals(3, results.get(0).get("version"));
    }

    @Test
    void dropped_sourceReport_oneEventWithTheCountAndTheTotals() {
        InputReports reports = new InputReports(sink, new ManualClock(), false);
        QueueStats queue = new QueueStats("gateway", 300, 0, 140, 150, 10, 16, 16, SourceConfig.Drop.OLDEST, 0, 0);

        reports.dropped("m", queue, 40);

        assertEquals(List.of(Map.of("model", "m", "source", "gateway", "count", 40L, "drop", "oldest", "queue", 16,
                "dropped_total", 140L, "received_total", 300L)), drops);
        assertEquals(List.of(), events, "drops are not rejections");
    }
}
