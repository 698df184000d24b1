package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The cmdIds of the last {@code window}, each with a digest of its request and its latest
 * reply, kept in {@code <state>/fleet-commands.jsonl} so a restart forgets none of them. Each
 * change is one appended line, forced to disk before the caller goes on; the file is rewritten
 * with only the live entries (write-temp, fsync, rename) at open and whenever it has grown to
 * twice that, so it stays bounded by {@code capacity} entries. A command whose last record is
 * {@code accepted} when the log is opened never finished: it reads as {@code failed}, and is not
 * run again.
 *
 * <p>Thread-safe: the link's thread and the command thread both record.
 */
final class CommandLog implements AutoCloseable {
    static final String FILE = "fleet-commands.jsonl";
    /** Lines beyond twice the live entries before the file is rewritten; spares rewriting a small log often. */
    private static final int COMPACT_SLACK = 256;

    /** One remembered command: when it first came, what it asked (a digest), what it was last answered. */
    record Entry(String cmdId, Instant at, String digest, ObjectNode reply) {
        String state() {
            return reply.path("state").asText();
        }
    }

    private final Path file;
    private final Duration window;
    private final int capacity;
    private final Clock clock;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private FileChannel out;
    private int lines;

    private CommandLog(Path file, Duration window, int capacity, Clock clock) {
        this.file = file;
        this.window = window;
        this.capacity = capacity;
        this.clock = clock;
    }

    static CommandLog open(Path stateDir, Duration window, int capacity, Clock clock) {
        CommandLog log = new CommandLog(stateDir.resolve(FILE), window, capacity, clock);
        log.read();
        log.compact();
        return log;
    }

    private void read() {
        if (!Files.exists(file)) {
            return;
        }
        List<String> all;
        try {
            all = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the command log " + file, e);
        }
        int unreadable = 0;
        for (String line : all) {
            try {
                JsonNode n = Json.MAPPER.readTree(line);
                Entry e = new Entry(n.get("cmdId").asText(), Instant.parse(n.get("at").asText()),
                        n.get("digest").asText(), (ObjectNode) n.get("reply"));
                // A later line of the same cmdId keeps its place: the map stays in arrival order.
                entries.put(e.cmdId(), e);
            } catch (IOException | RuntimeException e) {
                // A line torn by a power cut, the last one: the command it recorded was not answered yet.
                unreadable++;
            }
        }
        if (unreadable > 0) {
            Logger.warn("fleet: {}: {} unreadable line(s) skipped (a write cut short)", file, unreadable);
        }
        entries.replaceAll((id, e) -> e.state().equals("accepted") ? interrupted(e) : e);
    }

    private static Entry interrupted(Entry e) {
        ObjectNode reply = e.reply().deepCopy();
        reply.put("state", "failed");
        reply.put("reason", "interrupted: the daemon stopped before this command finished; not run again");
        return new Entry(e.cmdId(), e.at(), e.digest(), reply);
    }

    /** The entry of {@code cmdId} if it came within the window. */
    synchronized Optional<Entry> get(String cmdId) {
        prune();
        return Optional.ofNullable(entries.get(cmdId));
    }

    /** Whether the log holds {@code capacity} live entries: a new cmdId cannot be remembered. */
    synchronized boolean full() {
        prune();
        return entries.size() >= capacity;
    }

    /**
     * Remembers {@code reply} as the latest of {@code cmdId}, on disk before returning.
     *
     * @throws UncheckedIOException when the line cannot be written or forced: the caller must not
     *         run a command it could not record
     */
    synchronized void record(String cmdId, String digest, ObjectNode reply) {
        prune();
        Entry old = entries.get(cmdId);
        Entry e = new Entry(cmdId, old == null ? clock.instant() : old.at(), digest, reply);
        try {
            if (out == null) {
                out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND);
            }
            out.write(ByteBuffer.wrap(line(e)));
            out.force(false);
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot append to the command log " + file, ex);
        }
        lines++;
        entries.put(cmdId, e);
        if (lines > 2 * entries.size() + COMPACT_SLACK) {
            compact();
        }
    }

    private static byte[] line(Entry e) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("cmdId", e.cmdId());
        n.put("at", e.at().toString());
        n.put("digest", e.digest());
        n.set("reply", e.reply());
        byte[] json = Json.bytes(n);
        byte[] withNewline = java.util.Arrays.copyOf(json, json.length + 1);
        withNewline[json.length] = '\n';
        return withNewline;
    }

    private void prune() {
        Instant oldest = clock.instant().minus(window);
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            if (it.next().at().isBefore(oldest)) {
                it.remove();
            } else {
                // Entries are in arrival order: the rest are younger.
                break;
            }
        }
    }

    private void compact() {
        prune();
        closeChannel();
        if (entries.isEmpty()) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove the command log " + file, e);
            }
        } else {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            entries.values().forEach(e -> b.writeBytes(line(e)));
            DurableFiles.replace(file, b.toByteArray());
        }
        lines = entries.size();
    }

    synchronized int size() {
        prune();
        return entries.size();
    }

    private void closeChannel() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                Logger.debug("fleet: closing {}: {}", file, e.getMessage());
            }
            out = null;
        }
    }

    @Override
    public synchronized void close() {
        closeChannel();
    }
}
