package dev.plateau.store;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code journal.jsonl}: one JSON object per line, appended and fsynced; a torn last line is skipped on read. */
final class Journal {
    private final Path file;
    private final Clock clock;

    Journal(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
    }

    /** Appends {@code event} with a timestamp; {@code fields} alternate key and value. */
    synchronized void append(String event, Object... fields) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("ts", clock.instant().toString());
        entry.put("event", event);
        for (int i = 0; i + 1 < fields.length; i += 2) {
            entry.put(String.valueOf(fields[i]), fields[i + 1]);
        }
        try {
            Files.createDirectories(file.getParent());
            byte[] line = (Hashes.JSON.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.READ)) {
                long size = ch.size();
                // A crash mid-append leaves a line without its newline; start a fresh line after it.
                if (size > 0) {
                    ByteBuffer last = ByteBuffer.allocate(1);
                    ch.read(last, size - 1);
                    if (last.get(0) != '\n') {
                        ch.write(ByteBuffer.wrap(new byte[] {'\n'}), size);
                        size++;
                    }
                }
                ByteBuffer buf = ByteBuffer.wrap(line);
                while (buf.hasRemaining()) {
                    size += ch.write(buf, size);
                }
                ch.force(true);
            }
        } catch (IOException e) {
            String what = "cannot append to journal " + file;
            throw Disk.translate(what, file.getParent(), 0, e).<RuntimeException>map(x -> x)
                    .orElseGet(() -> new UncheckedIOException(what, e));
        }
    }

    List<Map<String, Object>> read() {
        List<Map<String, Object>> entries = new ArrayList<>();
        if (!Files.exists(file)) {
            return entries;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                try {
                    entries.add(Hashes.JSON.readValue(line, new TypeReference<Map<String, Object>>() {}));
                } catch (IOException torn) {
                    // Only a crash mid-append produces this; the entry was never acknowledged.
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read journal " + file, e);
        }
        return entries;
    }
}
