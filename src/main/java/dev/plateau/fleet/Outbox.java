package dev.plateau.fleet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Events waiting for the broker, one file each under {@code <state>/outbox/}, named
 * {@code <seq>-<d|h>-<type>-<eventId>.json} so a directory listing is the queue. A file is written to a
 * temporary name, forced to disk and renamed, so after a crash it is either whole or absent; it is
 * removed only by {@link #delivered}, once the broker acknowledged it.
 *
 * <p>Bounded by {@code capacity} events. When full, the oldest {@link Kind#HEALTH} event makes
 * room; with none left a new health event is dropped, and a new decision event is still kept,
 * above the bound: a decision (a model activated, a fine-tune accepted or rejected, a rollback)
 * is the fleet's audit trail and happens a few times a day at most.
 */
public final class Outbox {
    /** What an event is worth keeping. */
    public enum Kind {
        /** Never dropped. */
        DECISION('d'),
        /** Dropped first, oldest first, when the outbox is full. */
        HEALTH('h');

        private final char letter;

        Kind(char letter) {
            this.letter = letter;
        }
    }

    /** A stored event; {@code type} is the last level of its topic {@code event/{type}}. */
    public record Event(long seq, Kind kind, String eventId, String type, Path file) {}

    /** What {@link #add} did: the event stored (empty if it was dropped) and any event dropped for it. */
    public record Added(Optional<Event> stored, List<String> droppedEventIds) {}

    private static final Pattern NAME = Pattern.compile("(\\d{19})-([dh])-([a-z0-9][a-z0-9-]{0,63})-([0-9a-f-]{36})\\.json");
    private static final Pattern TYPE = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    private static final Pattern EVENT_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final Set<String> RESERVED = Set.of("v", "ts", "eventId", "type");

    private final Path dir;
    private final int capacity;
    private final Clock clock;
    private final TreeMap<Long, Event> events = new TreeMap<>();
    private long nextSeq;

    private Outbox(Path dir, int capacity, Clock clock) {
        this.dir = dir;
        this.capacity = capacity;
        this.clock = clock;
    }

    /** Opens (creating) {@code <stateDir>/outbox}, removing half-written files and loading what is queued. */
    public static Outbox open(Path stateDir, int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("outbox capacity: expected >= 1, found " + capacity);
        }
        Outbox outbox = new Outbox(stateDir.resolve("outbox"), capacity, clock);
        outbox.load();
        return outbox;
    }

    private void load() {
        try {
            Files.createDirectories(dir);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path file : files) {
                    String name = file.getFileName().toString();
                    Matcher m = NAME.matcher(name);
                    if (m.matches()) {
                        Kind kind = m.group(2).equals("d") ? Kind.DECISION : Kind.HEALTH;
                        long seq = Long.parseLong(m.group(1));
                        events.put(seq, new Event(seq, kind, m.group(4), m.group(3), file));
                    } else if (name.startsWith(".tmp-")) {
                        Files.delete(file);
                    } else {
                        Logger.warn("outbox: ignoring unexpected file {}", file);
                    }
                }
            }
        } catch (IOException e) {
            throw new FleetException("outbox: cannot read " + dir, e);
        }
        nextSeq = events.isEmpty() ? 1 : events.lastKey() + 1;
    }

    /**
     * Stores an event durably before returning; body keys must not be {@code v}, {@code ts},
     * {@code eventId} or {@code type}.
     */
    public Added add(String type, Kind kind, Map<String, ?> body) {
        return add(type, kind, body, UUID.randomUUID().toString());
    }

    /**
     * As {@link #add(String, Kind, Map)} with the caller's {@code eventId} (a lower-case UUID),
     * for an event the caller may hand over again after a crash: while an event with that id is
     * queued the outbox keeps it and stores nothing new; once delivered, a repeat goes out with
     * the same id, which the fleet de-duplicates on.
     */
    public synchronized Added add(String type, Kind kind, Map<String, ?> body, String eventId) {
        if (eventId == null || !EVENT_ID.matcher(eventId).matches()) {
            throw new IllegalArgumentException("eventId: expected a lower-case UUID, found '" + eventId + "'");
        }
        Optional<Event> queued = events.values().stream().filter(e -> e.eventId().equals(eventId)).findFirst();
        if (queued.isPresent()) {
            return new Added(queued, List.of());
        }
        if (type == null || !TYPE.matcher(type).matches()) {
            throw new IllegalArgumentException("event type: expected [a-z0-9-], 1-64 characters, found '" + type + "'");
        }
        for (String key : body.keySet()) {
            if (RESERVED.contains(key)) {
                throw new IllegalArgumentException("event body: key '" + key + "' is reserved, one of " + RESERVED);
            }
        }
        List<String> dropped = new ArrayList<>();
        if (events.size() >= capacity) {
            Optional<Event> oldestHealth = events.values().stream().filter(e -> e.kind() == Kind.HEALTH).findFirst();
            if (oldestHealth.isPresent()) {
                remove(oldestHealth.get());
                dropped.add(oldestHealth.get().eventId());
            } else if (kind == Kind.HEALTH) {
                Logger.warn("outbox: full of decisions ({} of {}); {} event dropped", events.size(), capacity, type);
                return new Added(Optional.empty(), List.of());
            } else {
                Logger.warn("outbox: full of decisions ({} of {}); keeping {} above the bound", events.size(),
                        capacity, type);
            }
        }
        ObjectNode node = Json.envelope(clock);
        node.put("eventId", eventId);
        node.put("type", type);
        node.setAll(Json.MAPPER.<ObjectNode>valueToTree(body));
        long seq = nextSeq++;
        Path file = dir.resolve(String.format("%019d-%c-%s-%s.json", seq, kind.letter, type, eventId));
        write(file, Json.bytes(node));
        Event event = new Event(seq, kind, eventId, type, file);
        events.put(seq, event);
        return new Added(Optional.of(event), List.copyOf(dropped));
    }

    private static void write(Path file, byte[] bytes) {
        try {
            DurableFiles.replace(file, bytes);
        } catch (UncheckedIOException e) {
            throw new FleetException("outbox: cannot write " + file, e.getCause());
        }
    }

    /** The queued events, oldest first. */
    public synchronized List<Event> pending() {
        return List.copyOf(events.values());
    }

    public synchronized int size() {
        return events.size();
    }

    /** The event's JSON as it goes on the wire. */
    public byte[] payload(Event event) {
        try {
            return Files.readAllBytes(event.file());
        } catch (IOException e) {
            throw new FleetException("outbox: cannot read " + event.file(), e);
        }
    }

    /** The broker acknowledged the event: it leaves the outbox. Unknown ids are ignored (already gone). */
    public synchronized void delivered(Event event) {
        if (events.get(event.seq()) != null) {
            remove(event);
        }
    }

    private void remove(Event event) {
        try {
            Files.deleteIfExists(event.file());
        } catch (IOException e) {
            throw new FleetException("outbox: cannot delete " + event.file(), e);
        }
        events.remove(event.seq());
    }

    Path directory() {
        return dir;
    }
}
