package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tuning data is scanned without following links out of its directory. */
class SampleDirectoryTest {
    private static final List<String> LABELS = List.of("healthy", "damaged");

    @TempDir
    Path tmp;

    private Path data() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(Files.createDirectories(data.resolve("healthy")).resolve("a.csv"), "x");
        return data;
    }

    @Test
    void scan_labelDirectoryLinkingOutside_refusedNamingTheLink() throws IOException {
        Path data = data();
        Path outside = Files.createDirectories(tmp.resolve("etc"));
        Files.writeString(outside.resolve("passwd.csv"), "root:x:0:0");
        Files.createSymbolicLink(data.resolve("damaged"), outside);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SampleDirectory.scan(data, LABELS));
        assertTrue(e.getMessage().endsWith("damaged: a symbolic link; expected only label directories [healthy, damaged] "
                + "(links are not followed)"), e.getMessage());
    }

    @Test
    void scan_sampleLinkingToAFileOutside_refusedNamingTheLink() throws IOException {
        Path data = data();
        Path secret = Files.writeString(tmp.resolve("device.key"), "secret");
        Files.createSymbolicLink(data.resolve("healthy/k.csv"), secret);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SampleDirectory.scan(data, LABELS));
        assertTrue(e.getMessage().endsWith("k.csv: is a symbolic link (links are not followed), expected a regular file"),
                e.getMessage());
    }

    @Test
    void scan_dataDirectoryItselfALink_followedOnce() throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("current"), data());
        assertEquals(1, SampleDirectory.scan(link, LABELS).samples().size());
    }

    @Test
    void allFiles_linkToAFileOutside_notListed() throws IOException {
        Path data = data();
        Files.createSymbolicLink(data.resolve("healthy/k.csv"), Files.writeString(tmp.resolve("device.key"), "secret"));
        assertEquals(List.of(data.resolve("healthy/a.csv")), SampleDirectory.allFiles(data));
    }
}
