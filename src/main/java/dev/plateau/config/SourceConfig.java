package dev.plateau.config;

import java.nio.file.Path;

/** Where inputs come from; each source feeds one model. */
public sealed interface SourceConfig permits SourceConfig.Replay, SourceConfig.Directory {

    String name();

    String model();

    Path path();

    enum Type { REPLAY, DIRECTORY }

    /** Cycles over the files of a directory (ImageFolder layout or flat) at a fixed rate. */
    record Replay(String name, String model, Path path, double rateHz, boolean shuffle, long seed)
            implements SourceConfig {
        public Replay {
            Checks.notBlank("sources[].name", name);
            Checks.notBlank("sources[].model", model);
            Checks.present("sources[].path", path);
            Checks.inRange("sources[].rate_hz", rateHz, 0.001, 1000.0);
        }
    }

    /**
     * Watches a directory for new files; each is inferred and then moved to
     * {@code processed/} or {@code rejected/} beside it, never deleted.
     */
    record Directory(String name, String model, Path path, int pollMillis, int settleMillis)
            implements SourceConfig {
        public Directory {
            Checks.notBlank("sources[].name", name);
            Checks.notBlank("sources[].model", model);
            Checks.present("sources[].path", path);
            Checks.inRange("sources[].poll_ms", pollMillis, 10, 3_600_000);
            Checks.inRange("sources[].settle_ms", settleMillis, 0, 600_000);
        }
    }
}
