package dev.plateau.daemon;

import dev.plateau.config.DeviceConfig;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.tinylog.configuration.Configuration;
import org.tinylog.jul.JulTinylogBridge;

/**
 * Configures tinylog once per process, before the first log line: tinylog freezes its
 * configuration at first use. java.util.logging (Paho's) is routed into it.
 */
public final class LogSetup {
    private static final String FORMAT = "{date:yyyy-MM-dd'T'HH:mm:ss.SSSZ} {level|min-size=5} [{thread}] {message}";

    private LogSetup() {}

    /** For one-shot commands: warnings and errors to stderr, stdout stays the command's output. */
    public static void forCommand() {
        Map<String, String> config = new HashMap<>();
        config.put("writer", "dev.plateau.daemon.StdoutWriter");
        config.put("writer.stream", "err");
        config.put("writer.level", "warn");
        config.put("writer.format", "{level}: {message}");
        apply(config, false);
    }

    /** For the daemon: one line per event to stdout, and the optional rolling file. */
    public static void forDaemon(DeviceConfig.Logging logging) {
        Map<String, String> config = new HashMap<>();
        String level = logging.level().name().toLowerCase(Locale.ROOT);
        config.put("writer", "dev.plateau.daemon.StdoutWriter");
        config.put("writer.level", level);
        // journald adds its own timestamp; a terminal needs one.
        config.put("writer.format", System.getenv("JOURNAL_STREAM") != null
                ? "{level|min-size=5} [{thread}] {message}" : FORMAT);
        logging.file().ifPresent(file -> {
            config.put("writer2", "rolling file");
            config.put("writer2.level", level);
            config.put("writer2.format", FORMAT);
            config.put("writer2.file", file.toAbsolutePath() + ".{count}");
            config.put("writer2.latest", file.toAbsolutePath().toString());
            config.put("writer2.policies", "size: " + logging.fileMaxMb() + "mb");
            config.put("writer2.backups", String.valueOf(logging.fileKeep()));
            config.put("writer2.buffered", "false");
        });
        config.put("writingthread", "false");
        apply(config, true);
    }

    // Activating the JUL bridge starts tinylog, which freezes its configuration: commands set a
    // default first and the daemon replaces it, so only the last call may activate.
    private static void apply(Map<String, String> config, boolean activate) {
        if (!Configuration.isFrozen()) {
            Configuration.replace(config);
        }
        if (activate) {
            JulTinylogBridge.activate();
        }
    }
}
