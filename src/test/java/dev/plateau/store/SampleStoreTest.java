package dev.plateau.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.inference.Prediction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleStoreTest {
    @TempDir
    Path tmp;

    private final Clock clock = Clock.fixed(Instant.parse("2026-11-24T12:00:00Z"), ZoneOffset.UTC);
    private final Prediction prediction = new Prediction("a", 0, 0.9f, List.of("a", "b"), new float[] {0.9f, 0.1f},
            new float[] {1.1f, -1.1f}, 12);

    private Path input(String name) throws IOException {
        return Files.writeString(tmp.resolve(name), "data-" + name);
    }

    private List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void add_overCapacity_evictsOldestKeepingPairsWhole() throws IOException {
        SampleStore store = SampleStore.open(tmp.resolve("state"), 2, clock);
        String first = store.add("m", 1, "cam", input("1.png"), prediction);
        store.add("m", 1, "cam", input("2.png"), prediction);
        store.add("m", 1, "cam", input("3.png"), prediction);
        List<String> kept = files(store.root().resolve("m"));
        assertEquals(2, store.size("m"));
        assertEquals(4, kept.size(), kept.toString());
        assertFalse(kept.stream().anyMatch(f -> f.startsWith(first)), kept.toString());
    }

    @Test
    void add_overCapacity_evictsPlainSamplesBeforeDriftedOnesAndKeepsTheMarkAcrossARestart() throws IOException {
        SampleStore store = SampleStore.open(tmp.resolve("state"), 3, clock);
        String drifted = store.add("m", 1, "cam", input("1.png"), prediction);
        String plain = store.add("m", 1, "cam", input("2.png"), prediction);
        store.markDrifted("m", List.of(drifted));
        assertTrue(Files.readString(store.root().resolve("m/" + drifted + ".json")).contains("\"drifted\":true"));
        store.add("m", 1, "cam", input("3.png"), prediction);
        store.add("m", 1, "cam", input("4.png"), prediction);
        assertTrue(store.drifted("m", drifted), "the older drifted sample is kept");
        assertFalse(store.contains("m", plain), "the plain one went first");

        SampleStore reopened = SampleStore.open(tmp.resolve("state"), 3, Clock.offset(clock, java.time.Duration.ofSeconds(1)));
        reopened.add("m", 1, "cam", input("5.png"), prediction);
        assertTrue(reopened.drifted("m", drifted), "still kept first after a restart");
    }

    @Test
    void add_writesPredictionBesideACopyOfTheInput() throws IOException {
        SampleStore store = SampleStore.open(tmp.resolve("state"), 10, clock);
        String id = store.add("m", 3, "cam", input("frame.png"), prediction);
        Path dir = store.root().resolve("m");
        String meta = Files.readString(dir.resolve(id + ".json"));
        assertEquals("data-frame.png", Files.readString(dir.resolve(id + ".png")));
        assertTrue(meta.contains("\"predicted\":\"a\"") && meta.contains("\"version\":3")
                && meta.contains("\"original\":\"frame.png\"") && meta.contains("\"label\":null"), meta);
    }

    @Test
    void open_afterCrash_removesDebrisAndKeepsWholeSamples() throws IOException {
        SampleStore store = SampleStore.open(tmp.resolve("state"), 10, clock);
        String id = store.add("m", 1, "cam", input("1.png"), prediction);
        Path dir = store.root().resolve("m");
        Files.writeString(dir.resolve("0000000000001-000009.png"), "input written, json not yet");
        Files.writeString(dir.resolve(".tmp-0000000000001-000009.json"), "{\"half");
        SampleStore reopened = SampleStore.open(tmp.resolve("state"), 10, clock);
        assertEquals(1, reopened.size("m"));
        assertEquals(List.of(id + ".json", id + ".png"), files(dir));
    }

    @Test
    void add_overCapacity_keepsLabelledSamplesAndEvictsUnlabelledFirst() throws IOException {
        SampleStore store = SampleStore.open(tmp.resolve("state"), 2, clock);
        String first = store.add("m", 1, "cam", input("1.png"), prediction);
        store.label("m", List.of(first), "b");
        store.add("m", 1, "cam", input("2.png"), prediction);
        store.add("m", 1, "cam", input("3.png"), prediction);
        assertTrue(store.contains("m", first), "the labelled sample must outlive newer unlabelled ones");
        assertEquals(java.util.Map.of("b", 1), store.exportLabelled("m", tmp.resolve("export")));
        assertTrue(SampleStore.open(tmp.resolve("state"), 2, clock).contains("m", first), "and survive a restart");
    }

    @Test
    void label_unknownId_changesNothing() throws IOException {
        SampleStore store = SampleStore.open(tmp.resolve("state"), 5, clock);
        String id = store.add("m", 1, "cam", input("1.png"), prediction);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> store.label("m", List.of(id, "nope"), "b"));
        assertTrue(store.exportLabelled("m", tmp.resolve("export")).isEmpty());
    }
}
