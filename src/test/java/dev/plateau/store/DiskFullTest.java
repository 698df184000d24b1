package dev.plateau.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.inference.Prediction;
import dev.plateau.testing.ManualClock;
import dev.plateau.testing.Mounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A state directory on a real 2 MiB tmpfs that runs full: every refusal names it, nothing half-written stays. */
class DiskFullTest {
    private static final String NO_SPACE = "no space left on .*: need \\d+ bytes, have \\d+";

    @TempDir
    Path tmp;

    private final Mounts mounts = new Mounts();
    private Path state;
    private ModelStore store;

    @BeforeEach
    void setUp() throws Exception {
        state = mounts.tmpfs(tmp.resolve("state"), "2m");
        store = new ModelStore(state, new ManualClock(), 3, null);
        store.open(Bundles.MODEL, Bundles.bundle(tmp.resolve("shipped"), 1));
    }

    @AfterEach
    void tearDown() throws Exception {
        mounts.close();
    }

    private List<String> entries(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void write_versionLargerThanTheDisk_namesNoSpaceAndRemovesItsTemporaryDirectoryAtOnce() throws Exception {
        DiskFullException e = assertThrows(DiskFullException.class, () -> store.write(Bundles.MODEL, 1, dir -> {
            Bundles.bundle(dir, 1);
            Files.write(dir.resolve("padding.bin"), new byte[3 << 20]);
        }));

        assertTrue(e.getMessage().matches("cannot write model tiny-gray version 1: " + NO_SPACE), e.getMessage());
        assertTrue(e.getMessage().contains(store.versionsDir(Bundles.MODEL).toString()), e.getMessage());
        assertEquals(List.of(), entries(store.versionsDir(Bundles.MODEL)), "no .tmp-0001 left behind");
        assertEquals(List.of(), store.versions(Bundles.MODEL));
        assertEquals(List.of(), store.leftovers());
    }

    @Test
    void write_lessRoomThanTheActiveVersionTakes_isRefusedBeforeWriting() throws Exception {
        Path big = Bundles.bundle(tmp.resolve("big"), 1);
        Files.write(big.resolve("padding.bin"), new byte[1 << 20]);
        store.open(Bundles.MODEL, big);
        Files.write(state.resolve("ballast.bin"), new byte[(2 << 20) - (512 << 10)]);
        boolean[] called = {false};

        DiskFullException e = assertThrows(DiskFullException.class, () -> store.write(Bundles.MODEL, 1, dir -> {
            called[0] = true;
        }));

        assertFalse(called[0], "the writer must not start");
        assertTrue(e.needed() > (1 << 20) && e.usable() < e.needed(), e.getMessage());
        assertTrue(e.getMessage().matches(".*" + NO_SPACE), e.getMessage());
        assertEquals(List.of(), entries(store.versionsDir(Bundles.MODEL)));
    }

    @Test
    void sampleStore_fullDisk_refusesNamingNoSpaceAndLeavesNoDebris() throws Exception {
        SampleStore samples = SampleStore.open(state, 100, new ManualClock());
        Path input = Files.write(tmp.resolve("in.png"), new byte[64 << 10]);
        Prediction p = new Prediction("a", 0, 0.9f, List.of("a", "b"), new float[] {0.9f, 0.1f},
                new float[] {1.1f, -1.1f}, 10);
        samples.add("m", 0, "cam", input, p);
        Mounts.fill(state);

        DiskFullException e = assertThrows(DiskFullException.class, () -> samples.add("m", 0, "cam", input, p));

        assertTrue(e.getMessage().matches("cannot store sample \\S+ of m: " + NO_SPACE), e.getMessage());
        assertEquals(1, samples.size("m"));
        assertEquals(2, entries(samples.root().resolve("m")).size(), "one whole sample, nothing else: "
                + entries(samples.root().resolve("m")));
    }
}
