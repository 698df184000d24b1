package dev.plateau.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** Where inputs come from; each source feeds one model. */
public sealed interface SourceConfig permits SourceConfig.Replay, SourceConfig.Directory, SourceConfig.Mqtt {

    String name();

    String model();

    enum Type { REPLAY, DIRECTORY, MQTT }

    /**
     * A deck-level alarm over this source's windows (a two-class detector's): raise when the mean
     * per-window log-odds of the positive class over {@code windows} windows is above the
     * manifest's {@code alarm.threshold} (0 without one); clear once that mean has stayed at or
     * below it for {@code clearWindows} windows in a row.
     *
     * @param windows      N, used when the manifest has no {@code alarm.windows} (the manifest's
     *                     wins: its threshold was set for it)
     * @param clearWindows consecutive windows with the mean at or below the threshold that clear a raised alarm
     */
    record Alarm(int windows, int clearWindows) {
        /** One minute of 5.12 s windows: the block the issue measured a deck's evidence over. */
        public static final int DEFAULT_WINDOWS = 12;
        /**
         * Five minutes of 5.12 s windows. Damage does not heal by itself, so a clear means weather
         * or traffic raised it, or the deck was repaired: asking for five minutes of evidence costs
         * little and keeps a borderline deck from raising and clearing every minute.
         */
        public static final int DEFAULT_CLEAR_WINDOWS = 60;
        /**
         * One hour of 5-s windows: the window is kept in memory, written to the state directory
         * and sent with each alarm event, so it stays small. Manifests' {@code alarm.windows} too.
         */
        public static final int MAX_WINDOWS = 720;
        /** A day of 5-s windows: only a count is kept. */
        public static final int MAX_CLEAR_WINDOWS = 17_280;

        public Alarm {
            Checks.inRange("sources[].alarm.windows", windows, 1, MAX_WINDOWS);
            Checks.inRange("sources[].alarm.clear_windows", clearWindows, 1, MAX_CLEAR_WINDOWS);
        }
    }

    /** The source's deck-level alarm, when configured. */
    Optional<Alarm> alarm();

    /**
     * A simulated camera fault for a replay of images: from the {@code afterSeconds}-th second of
     * the replay on (counted in inputs at the nominal rate, so a slow device shifts after as many
     * inputs), each image is delivered darker ({@code gain} times every pixel) and noisier
     * (Gaussian noise of {@code noise} times full scale), as a fogged lens or a failing exposure would.
     */
    record Shift(double afterSeconds, double gain, double noise) {
        public Shift {
            Checks.inRange("sources[].shift.after_s", afterSeconds, 0.0, 1e9);
            Checks.inRange("sources[].shift.gain", gain, 0.01, 1.0);
            Checks.inRange("sources[].shift.noise", noise, 0.0, 1.0);
        }
    }

    /** Cycles over the files of a directory (ImageFolder layout or flat) at a fixed rate. */
    record Replay(String name, String model, Path path, double rateHz, boolean shuffle, long seed,
                  Optional<Alarm> alarm, Optional<Shift> shift)
            implements SourceConfig {
        public Replay {
            Checks.notBlank("sources[].name", name);
            Checks.notBlank("sources[].model", model);
            Checks.present("sources[].path", path);
            Checks.inRange("sources[].rate_hz", rateHz, 0.001, 1000.0);
            Checks.present("sources[].alarm", alarm);
            Checks.present("sources[].shift", shift);
        }

        public Replay(String name, String model, Path path, double rateHz, boolean shuffle, long seed,
                      Optional<Alarm> alarm) {
            this(name, model, path, rateHz, shuffle, seed, alarm, Optional.empty());
        }
    }

    /**
     * Watches a directory for new files; each is inferred and then moved to
     * {@code processed/} or {@code rejected/} beside it, never deleted.
     */
    record Directory(String name, String model, Path path, int pollMillis, int settleMillis,
                     Optional<Alarm> alarm)
            implements SourceConfig {
        public Directory {
            Checks.notBlank("sources[].name", name);
            Checks.notBlank("sources[].model", model);
            Checks.present("sources[].path", path);
            Checks.inRange("sources[].poll_ms", pollMillis, 10, 3_600_000);
            Checks.inRange("sources[].settle_ms", settleMillis, 0, 600_000);
            Checks.present("sources[].alarm", alarm);
        }
    }

    /**
     * Inputs published on an MQTT topic, one image or CSV window per message, as a sensor gateway
     * would publish them. Without {@code broker} the fleet broker of the {@code mqtt} section is
     * used, with its credentials and TLS; a broker named here (a gateway's local one) is reached
     * anonymously. At most {@code queue} messages wait; when full, {@code drop} says which goes.
     */
    record Mqtt(String name, String model, String topic, Optional<URI> broker, int qos, int queue, Drop drop,
                Optional<Alarm> alarm)
            implements SourceConfig {
        /** A queue of 32 holds 1.6 s of a 20 Hz sensor: enough to ride out a slow inference, short enough to stay live. */
        public static final int DEFAULT_QUEUE = 32;

        public Mqtt {
            Checks.notBlank("sources[].name", name);
            Checks.notBlank("sources[].model", model);
            Checks.notBlank("sources[].topic", topic);
            Checks.present("sources[].broker", broker);
            Checks.inRange("sources[].qos", qos, 0, 1);
            Checks.inRange("sources[].queue", queue, 1, 10_000);
            Checks.present("sources[].drop", drop);
            Checks.present("sources[].alarm", alarm);
        }
    }

    /** Which message goes when an MQTT source's queue is full. */
    enum Drop {
        /** The oldest waiting message: a live sensor's newest window matters most (the default). */
        OLDEST,
        /** The message arriving: what waits keeps its place, e.g. a sequence that must stay contiguous. */
        NEWEST;

        /** As the configuration spells it: {@code oldest}, {@code newest}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
