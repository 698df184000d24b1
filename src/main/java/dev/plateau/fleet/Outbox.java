package dev.plateau.fleet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.Disk;
import dev.plateau.store.DiskFullException;
import dev.plateau.store.DiskStatus;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.FailureLog;
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
 *
 * <p>On a full disk an event is not lost and the caller is not failed: it is held in memory
 * (at most {@link #MAX_IN_MEMORY}, under the same rule: health events go first), sent from there
 * while connected, and written to disk, oldest first, as soon as a write fits again (at the next
 * event or {@link #retryWrites}). The {@link DiskStatus} says so for health, and the warning is
 * logged once a minute. An event held in memory is lost only if the process dies before there is
 * room again.
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
    /** Events held in memory while the disk is full: ~0.5 KB each, so at most about 0.5 MiB of heap. */
    static final int MAX_IN_MEMORY = 1_000;
    static final String WRITER = "outbox";

    private final Path dir;
    private final int capacity;
    private final Clock clock;
    private final DiskStatus disk;
    private final TreeMap<Long, Event> events = new TreeMap<>();
    /** The payloads of events not yet on disk (it was full), by seq. */
    private final TreeMap<Long, byte[]> inMemory = new TreeMap<>();
    private long nextSeq;

    private Outbox(Path dir, int capacity, Clock clock, DiskStatus disk) {
        this.dir = dir;
        this.capacity = capacity;
        this.clock = clock;
        this.disk = disk;
    }

    /** Opens (creating) {@code <stateDir>/outbox}, removing half-written files and loading what is queued. */
    public static Outbox open(Path stateDir, int capacity, Clock clock) {
        return open(stateDir, capacity, clock, new DiskStatus(clock, new FailureLog(clock, FailureLog.INTERVAL)));
    }

    /** As {@link #open(Path, int, Clock)}, reporting a full disk to {@code disk}. */
    public static Outbox open(Path stateDir, int capacity, Clock clock, DiskStatus disk) {
        if (capacity < 1) {
            throw new IllegalArgumentException("outbox capacity: expected >= 1, found " + capacity);
        }
        Outbox outbox = new Outbox(stateDir.resolve("outbox"), capacity, clock, disk);
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
        Event event = new Event(seq, kind, eventId, type, file);
        byte[] bytes = Json.bytes(node);
        // What waits in memory goes to disk first, so the directory stays the queue in order.
        if (retryWrites() && write(event, bytes)) {
            disk.ok(WRITER);
        } else if (!hold(event, bytes, dropped)) {
            return new Added(Optional.empty(), List.copyOf(dropped));
        }
        events.put(seq, event);
        return new Added(Optional.of(event), List.copyOf(dropped));
    }

    /**
     * Writes the events held in memory to disk, oldest first, while they fit; true when none is
     * left in memory. The fleet link calls it periodically, so writes resume without an event.
     */
    public synchronized boolean retryWrites() {
        if (inMemory.isEmpty()) {
            return true;
        }
        int before = inMemory.size();
        while (!inMemory.isEmpty()) {
            Map.Entry<Long, byte[]> first = inMemory.firstEntry();
            if (!write(events.get(first.getKey()), first.getValue())) {
                return false;
            }
            inMemory.remove(first.getKey());
        }
        disk.ok(WRITER);
        Logger.info("outbox: the disk has room again; {} event(s) held in memory are written to {}", before, dir);
        return true;
    }

    /** Writes one event's file; false when the disk is full (reported), a FleetException for any other failure. */
    private boolean write(Event event, byte[] bytes) {
        try {
            DurableFiles.replace(event.file(), bytes);
            return true;
        } catch (UncheckedIOException e) {
            Optional<DiskFullException> full = Disk.noSpace("outbox: event " + event.eventId() + " (" + event.type()
                    + ")", dir, bytes.length, e.getCause());
            if (full.isEmpty()) {
                throw new FleetException("outbox: cannot write " + event.file(), e.getCause());
            }
            disk.full(WRITER, full.get().getMessage() + "; held in memory (" + (inMemory.size() + 1) + " now) and "
                    + "written once there is room", full.get());
            return false;
        }
    }

    /**
     * Keeps an event that found no room on disk in memory, within {@link #MAX_IN_MEMORY} (health
     * events go first); false when it is itself dropped.
     */
    private boolean hold(Event event, byte[] bytes, List<String> dropped) {
        if (inMemory.size() >= MAX_IN_MEMORY) {
            Optional<Event> oldestHealth = inMemory.keySet().stream().map(events::get)
                    .filter(e -> e.kind() == Kind.HEALTH).findFirst();
            if (oldestHealth.isPresent()) {
                remove(oldestHealth.get());
                dropped.add(oldestHealth.get().eventId());
            } else if (event.kind() == Kind.HEALTH) {
                Logger.warn("outbox: {} decisions held in memory on a full disk; {} event dropped", inMemory.size(),
                        event.type());
                return false;
            }
        }
        inMemory.put(event.seq(), bytes);
        return true;
    }

    /** The queued events, oldest first. */
    public synchronized List<Event> pending() {
        return List.copyOf(events.values());
    }

    public synchronized int size() {
        return events.size();
    }

    /** Events held in memory because the disk was full; they are in {@link #size()} and {@link #pending()} too. */
    public synchronized int inMemory() {
        return inMemory.size();
    }

    /** The event's JSON as it goes on the wire. */
    public byte[] payload(Event event) {
        synchronized (this) {
            byte[] held = inMemory.get(event.seq());
            if (held != null) {
                return held;
            }
        }
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
        if (inMemory.remove(event.seq()) != null) {
            events.remove(event.seq());
            return;
        }
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
