package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.testing.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox on real files. */
class OutboxTest {
    @TempDir
    Path state;

    final ManualClock clock = new ManualClock();

    Outbox open(int capacity) {
        return Outbox.open(state, capacity, clock);
    }

    static List<String> types(Outbox outbox) {
        return outbox.pending().stream().map(Outbox.Event::type).toList();
    }

    @Test
    void add_event_oneFileWithEnvelopeAndBody() throws Exception {
        Outbox outbox = open(10);

        Outbox.Event event = outbox.add("rollback", Outbox.Kind.DECISION, Map.of("model", "m")).stored().orElseThrow();

        assertTrue(Files.isRegularFile(event.file()));
        assertEquals(state.resolve("outbox"), event.file().getParent());
        JsonNode json = Json.MAPPER.readTree(outbox.payload(event));
        assertEquals(1, json.get("v").asInt());
        assertEquals("2026-01-01T00:00:00Z", json.get("ts").asText());
        assertEquals(event.eventId(), json.get("eventId").asText());
        assertEquals("rollback", json.get("type").asText());
        assertEquals("m", json.get("model").asText());
    }

    @Test
    void add_callersEventIdAgainWhileQueued_keepsTheOneEventAcrossARestart() throws Exception {
        String id = "6f1c1d36-0b1e-4a43-9d2b-2f0e0f6a7c11";
        Outbox.Event first = open(10).add("alarm-raised", Outbox.Kind.DECISION, Map.of("n", 1), id)
                .stored().orElseThrow();
        Outbox reopened = open(10);

        Outbox.Event again = reopened.add("alarm-raised", Outbox.Kind.DECISION, Map.of("n", 1), id)
                .stored().orElseThrow();

        assertEquals(first, again);
        assertEquals(1, reopened.size());
        assertEquals(id, Json.MAPPER.readTree(reopened.payload(again)).get("eventId").asText());
    }

    @Test
    void add_callersEventIdAfterDelivery_isStoredAgainUnderTheSameId() {
        String id = "6f1c1d36-0b1e-4a43-9d2b-2f0e0f6a7c12";
        Outbox outbox = open(10);
        outbox.delivered(outbox.add("alarm-raised", Outbox.Kind.DECISION, Map.of(), id).stored().orElseThrow());

        Outbox.Event again = outbox.add("alarm-raised", Outbox.Kind.DECISION, Map.of(), id).stored().orElseThrow();

        assertEquals(id, again.eventId());
        assertEquals(1, outbox.size());
    }

    @Test
    void add_eventIdNotAUuid_isRefusedSayingWhatIsExpected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> open(10).add("a", Outbox.Kind.DECISION, Map.of(), "../x"));
        assertEquals("eventId: expected a lower-case UUID, found '../x'", e.getMessage());
    }

    @Test
    void delivered_event_fileDeletedAndNotPending() {
        Outbox outbox = open(10);
        Outbox.Event event = outbox.add("rollback", Outbox.Kind.DECISION, Map.of()).stored().orElseThrow();

        outbox.delivered(event);

        assertFalse(Files.exists(event.file()));
        assertEquals(0, outbox.size());
    }

    @Test
    void open_afterRestart_samePendingInOrderAndNewSequenceContinues() {
        Outbox first = open(10);
        first.add("a", Outbox.Kind.DECISION, Map.of());
        first.add("b-c", Outbox.Kind.HEALTH, Map.of());
        List<Outbox.Event> before = first.pending();

        Outbox second = open(10);
        Outbox.Event third = second.add("d", Outbox.Kind.DECISION, Map.of()).stored().orElseThrow();

        assertEquals(before, second.pending().subList(0, 2));
        assertEquals(List.of("a", "b-c", "d"), types(second));
        assertTrue(third.seq() > before.get(1).seq());
    }

    @Test
    void open_halfWrittenTemporaryFile_removed() throws Exception {
        Path dir = Files.createDirectories(state.resolve("outbox"));
        Path tmp = Files.writeString(dir.resolve(".tmp-0000000000000000001-d-x.json"), "{\"v\":");

        Outbox outbox = open(10);

        assertFalse(Files.exists(tmp));
        assertEquals(0, outbox.size());
    }

    @Test
    void add_full_dropsOldestHealthEventFirst() {
        Outbox outbox = open(3);
        outbox.add("d1", Outbox.Kind.DECISION, Map.of());
        Outbox.Event h1 = outbox.add("h1", Outbox.Kind.HEALTH, Map.of()).stored().orElseThrow();
        outbox.add("h2", Outbox.Kind.HEALTH, Map.of());

        Outbox.Added added = outbox.add("d2", Outbox.Kind.DECISION, Map.of());

        assertEquals(List.of(h1.eventId()), added.droppedEventIds());
        assertEquals(List.of("d1", "h2", "d2"), types(outbox));
        assertFalse(Files.exists(h1.file()));
    }

    @Test
    void add_fullOfDecisions_newHealthEventDropped() {
        Outbox outbox = open(2);
        outbox.add("d1", Outbox.Kind.DECISION, Map.of());
        outbox.add("d2", Outbox.Kind.DECISION, Map.of());

        Outbox.Added added = outbox.add("h1", Outbox.Kind.HEALTH, Map.of());

        assertTrue(added.stored().isEmpty());
        assertEquals(List.of("d1", "d2"), types(outbox));
    }

    @Test
    void add_fullOfDecisions_newDecisionKeptAboveBound() throws Exception {
        Outbox outbox = open(2);
        outbox.add("d1", Outbox.Kind.DECISION, Map.of());
        outbox.add("d2", Outbox.Kind.DECISION, Map.of());

        Outbox.Added added = outbox.add("d3", Outbox.Kind.DECISION, Map.of());

        assertTrue(added.stored().isPresent());
        assertEquals(List.of("d1", "d2", "d3"), types(outbox));
        try (Stream<Path> files = Files.list(state.resolve("outbox"))) {
            assertEquals(3, files.count());
        }
    }

    @Test
    void add_reservedBodyKey_rejectedNamingIt() {
        Outbox outbox = open(2);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> outbox.add("x", Outbox.Kind.DECISION, Map.of("eventId", "mine")));

        assertTrue(e.getMessage().startsWith("event body: key 'eventId' is reserved"), e.getMessage());
        assertEquals(0, outbox.size());
    }

    @Test
    void add_badType_rejectedWithValue() {
        Outbox outbox = open(2);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> outbox.add("a/b", Outbox.Kind.DECISION, Map.of()));

        assertEquals("event type: expected [a-z0-9-], 1-64 characters, found 'a/b'", e.getMessage());
    }
}
