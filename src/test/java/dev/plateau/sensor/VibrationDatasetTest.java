package dev.plateau.sensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VibrationDatasetTest {
    /** 8 windows round-robin over 2 sites: each site alternates healthy, damaged. */
    static final VibrationDataset.Spec SMALL = new VibrationDataset.Spec(8, 5L, 9L, 2, 0.5, -10.0, 35.0);

    @TempDir
    Path dir;

    @Test
    void write_smallRun_imageFolderLayoutWithWindowNumbers() throws IOException {
        VibrationDataset.Summary summary = VibrationDataset.write(dir.resolve("out"), SMALL);

        assertEquals(Map.of("healthy", 4, "damaged", 4), summary.counts());
        assertEquals(List.of("damaged", "healthy"), names(dir.resolve("out")));
        assertEquals(List.of("00000.csv", "00001.csv", "00004.csv", "00005.csv"), names(dir.resolve("out/healthy")));
        assertEquals(List.of("00002.csv", "00003.csv", "00006.csv", "00007.csv"), names(dir.resolve("out/damaged")));
    }

    @Test
    void write_smallRun_csvHasHeaderAndOneRowPerSampleWithFourDecimals() throws IOException {
        VibrationDataset.write(dir.resolve("out"), SMALL);

        List<String> lines = Files.readAllLines(dir.resolve("out/damaged/00002.csv"));
        assertEquals("ax,ay,az", lines.get(0));
        assertEquals(VibrationSimulator.LENGTH + 1, lines.size());
        for (String row : lines.subList(1, lines.size())) {
            assertTrue(row.matches("-?\\d+\\.\\d{4},-?\\d+\\.\\d{4},-?\\d+\\.\\d{4}"), row);
        }
        double az = Double.parseDouble(lines.get(1).split(",")[2]);
        assertEquals(9.81, az, 1.0);
    }

    @Test
    void write_sameSeeds_identicalFiles() throws IOException {
        VibrationDataset.write(dir.resolve("a"), SMALL);
        VibrationDataset.write(dir.resolve("b"), SMALL);

        for (String file : List.of("healthy/00000.csv", "healthy/00005.csv", "damaged/00003.csv")) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(file)),
                    Files.readAllBytes(dir.resolve("b").resolve(file)), file);
        }
    }

    @Test
    void write_largerRun_startsWithTheWindowsOfASmallerOne() throws IOException {
        VibrationDataset.write(dir.resolve("small"), SMALL);
        VibrationDataset.write(dir.resolve("large"), new VibrationDataset.Spec(12, 5L, 9L, 2, 0.5, -10.0, 35.0));

        assertArrayEquals(Files.readAllBytes(dir.resolve("small/damaged/00007.csv")),
                Files.readAllBytes(dir.resolve("large/damaged/00007.csv")));
    }

    @Test
    void write_nonEmptyDirectory_rejected() throws IOException {
        Files.writeString(dir.resolve("stale.csv"), "ax,ay,az\n");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VibrationDataset.write(dir, SMALL));

        assertTrue(e.getMessage().startsWith("out: directory is not empty"), e.getMessage());
    }

    @Test
    void damaged_quarterFraction_everyFourthWindowOfASite() {
        List<Boolean> labels = Stream.iterate(0, i -> i + 1).limit(8)
                .map(i -> VibrationDataset.damaged(i, 0.25)).toList();

        assertEquals(List.of(false, false, false, true, false, false, false, true), labels);
    }

    @Test
    void spec_temperatureMaxBelowMin_rejectedNamingValueAndRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new VibrationDataset.Spec(8, 5L, 9L, 2, 0.5, 20.0, 10.0));

        assertEquals("temperatureMaxC: out of range (value 10.0, allowed [20.0, 60.0])", e.getMessage());
    }

    @Test
    void spec_damagedFractionAboveOne_rejectedNamingValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new VibrationDataset.Spec(8, 5L, 9L, 2, 1.5, -10.0, 35.0));

        assertEquals("damagedFraction: out of range (value 1.5, allowed [0.0, 1.0])", e.getMessage());
    }

    @Test
    void appendFixed_roundsToFourDecimalsWithoutNegativeZero() {
        StringBuilder text = new StringBuilder();
        for (double v : new double[] {9.80665, -1.23456, -0.00004, 0.5, -12.0}) {
            CsvWindow.appendFixed(text, v);
            text.append(' ');
        }

        assertEquals("9.8067 -1.2346 0.0000 0.5000 -12.0000 ", text.toString());
    }

    private static List<String> names(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
