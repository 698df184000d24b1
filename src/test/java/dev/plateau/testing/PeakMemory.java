package dev.plateau.testing;

import dev.plateau.cli.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code plateau} with its arguments, then one line {@code peak-rss-kib N} on standard error:
 * the process's peak resident set (VmHWM of /proc/self/status), read after the command ended
 * and before the JVM exits, so a child JVM's peak can be measured where it cannot be read from
 * outside once the process is gone.
 */
public final class PeakMemory {
    public static final String LINE = "peak-rss-kib ";

    private PeakMemory() {}

    public static void main(String[] args) throws IOException {
        int exit = Main.execute(args);
        System.out.flush();
        System.err.println(LINE + vmHwmKib(Path.of("/proc/self/status")));
        System.exit(exit);
    }

    /** VmHWM in KiB from a {@code /proc/PID/status} file, or -1 where it has no such line. */
    public static long vmHwmKib(Path status) throws IOException {
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
