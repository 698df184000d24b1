package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessMetricsTest {
    @TempDir
    Path dir;

    @Test
    void rssBytes_procStatus_kilobytesAsBytes() throws Exception {
        Path status = Files.writeString(dir.resolve("status"), "Name:\tjava\nVmPeak:\t  9 kB\nVmRSS:\t  123456 kB\n");

        assertEquals(123_456L * 1024, ProcessMetrics.rssBytes(status));
    }

    @Test
    void rssBytes_noVmRssLine_minusOne() throws Exception {
        Path status = Files.writeString(dir.resolve("status"), "Name:\tjava\n");

        assertEquals(-1, ProcessMetrics.rssBytes(status));
    }

    @Test
    void rssBytes_missingFile_minusOne() {
        assertEquals(-1, ProcessMetrics.rssBytes(dir.resolve("absent")));
    }
}
