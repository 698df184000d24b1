package dev.plateau.fleet;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The process-level half of a health report; each value is -1 where this platform cannot say. */
final class ProcessMetrics {
    static final Path PROC_STATUS = Path.of("/proc/self/status");

    private ProcessMetrics() {}

    /** Resident set size from a {@code /proc/<pid>/status} file ({@code VmRSS:  1234 kB}). */
    static long rssBytes(Path procStatus) {
        try {
            List<String> lines = Files.readAllLines(procStatus);
            for (String line : lines) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    long value = Long.parseLong(parts[0]);
                    return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value;
                }
            }
            return -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    static Map<String, Object> snapshot(Path stateDir) {
        Map<String, Object> m = new LinkedHashMap<>();
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        Map<String, Object> cpu = new LinkedHashMap<>();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            cpu.put("process_load", round(sun.getProcessCpuLoad()));
            cpu.put("system_load", round(sun.getCpuLoad()));
        }
        cpu.put("load_avg_1m", round(os.getSystemLoadAverage()));
        cpu.put("cores", os.getAvailableProcessors());
        m.put("cpu", cpu);
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        Map<String, Object> memory = new LinkedHashMap<>();
        memory.put("rss_bytes", rssBytes(PROC_STATUS));
        memory.put("heap_used_bytes", heap.getUsed());
        memory.put("heap_max_bytes", heap.getMax());
        m.put("memory", memory);
        long free;
        try {
            free = Files.getFileStore(stateDir).getUsableSpace();
        } catch (IOException e) {
            free = -1;
        }
        m.put("disk", Map.of("state_free_bytes", free));
        return m;
    }

    /** Loads are 0..1, or negative when unavailable; three decimals are plenty. */
    private static double round(double load) {
        return load < 0 ? -1 : Math.round(load * 1000) / 1000.0;
    }
}
