package dev.plateau.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/** The fleet broker. Absent from the configuration means the device runs on its own. */
public record MqttConfig(
        URI broker,
        String clientId,
        Optional<String> username,
        Optional<Path> passwordFile,
        Optional<Tls> tls,
        int keepAliveSeconds,
        long sessionExpirySeconds,
        int healthPeriodSeconds,
        boolean publishResults,
        Commands commands) {

    /** Broker schemes that run over TLS. */
    public static final java.util.Set<String> TLS_SCHEMES = java.util.Set.of("ssl", "mqtts", "wss");

    /**
     * PKCS12 stores for TLS: the truststore holds the CA(s) the broker's certificate must chain to
     * (without one, the JVM's default CAs), the keystore the device's own key and certificate for
     * mutual TLS. Passwords are read from files so they stay out of the configuration.
     */
    public record Tls(Optional<Path> truststore, Optional<Path> truststorePasswordFile, Optional<Path> keystore,
                      Optional<Path> keystorePasswordFile) {
        public Tls {
            Checks.present("mqtt.tls.truststore", truststore);
            Checks.present("mqtt.tls.truststore_password_file", truststorePasswordFile);
            Checks.present("mqtt.tls.keystore", keystore);
            Checks.present("mqtt.tls.keystore_password_file", keystorePasswordFile);
        }
    }

    /**
     * How the device takes {@code cmd/*}. {@code keys}: a directory of operator Ed25519 public keys
     * ({@code *.pub}); when set, a command must carry a signature by one of them and be at most
     * {@code maxAgeSeconds} old. {@code windowSeconds}: how long a {@code cmdId} is remembered (and
     * answered with its first outcome), across restarts. At most {@code burst} commands at once
     * and {@code ratePerSecond} sustained are taken (a token bucket), and at most {@code queue}
     * wait to run; the others are refused with the reason.
     */
    public record Commands(Optional<Path> keys, int maxAgeSeconds, int windowSeconds, double ratePerSecond,
                           int burst, int queue) {
        /** Five minutes: the operator's and the device's clocks may differ, and a broker may hold a command. */
        public static final int DEFAULT_MAX_AGE_SECONDS = 300;
        /** One hour: a fleet tool retrying a command for an hour still gets the first outcome. */
        public static final int DEFAULT_WINDOW_SECONDS = 3600;
        /** Fleet commands are an operator's, a few a minute; two a second sustained leaves room for scripts. */
        public static final double DEFAULT_RATE_PER_SECOND = 2;
        /** A script labelling or activating across models sends a handful at once. */
        public static final int DEFAULT_BURST = 20;
        /** Commands run one at a time; a fine-tune takes minutes, so a few dozen may wait behind one. */
        public static final int DEFAULT_QUEUE = 32;
        /** How far a signed command's time may be ahead of the device's clock (clock skew). */
        public static final int FUTURE_SKEW_SECONDS = 30;

        public Commands {
            Checks.present("mqtt.command_keys", keys);
            Checks.inRange("mqtt.command_max_age_seconds", maxAgeSeconds, 1, 86_400);
            Checks.inRange("mqtt.command_window_seconds", windowSeconds, 1, 7 * 86_400);
            Checks.inRange("mqtt.command_rate_per_s", ratePerSecond, 0.001, 10_000);
            Checks.inRange("mqtt.command_burst", burst, 1, 100_000);
            Checks.inRange("mqtt.command_queue", queue, 1, 10_000);
            if (keys.isPresent() && windowSeconds < maxAgeSeconds + FUTURE_SKEW_SECONDS) {
                // A signed command not yet stale must still be remembered, or a replay would run it again.
                throw new IllegalArgumentException("mqtt.command_window_seconds: expected at least "
                        + "command_max_age_seconds + " + FUTURE_SKEW_SECONDS + " = "
                        + (maxAgeSeconds + FUTURE_SKEW_SECONDS) + " with command_keys, found " + windowSeconds);
            }
        }

        public static Commands defaults() {
            return new Commands(Optional.empty(), DEFAULT_MAX_AGE_SECONDS, DEFAULT_WINDOW_SECONDS,
                    DEFAULT_RATE_PER_SECOND, DEFAULT_BURST, DEFAULT_QUEUE);
        }

        /** The most cmdIds the window can hold: what the rate limit lets through in one window. */
        public int capacity() {
            return (int) Math.min(10_000_000, Math.ceil(ratePerSecond * windowSeconds) + burst);
        }
    }

    /** A connection with the default command settings. */
    public MqttConfig(URI broker, String clientId, Optional<String> username, Optional<Path> passwordFile,
                      Optional<Tls> tls, int keepAliveSeconds, long sessionExpirySeconds, int healthPeriodSeconds,
                      boolean publishResults) {
        this(broker, clientId, username, passwordFile, tls, keepAliveSeconds, sessionExpirySeconds,
                healthPeriodSeconds, publishResults, Commands.defaults());
    }

    public MqttConfig {
        Checks.present("mqtt.broker", broker);
        Checks.notBlank("mqtt.client_id", clientId);
        Checks.present("mqtt.username", username);
        Checks.present("mqtt.password_file", passwordFile);
        Checks.present("mqtt.tls", tls);
        Checks.inRange("mqtt.keepalive_s", keepAliveSeconds, 5, 3600);
        Checks.inRange("mqtt.session_expiry_s", sessionExpirySeconds, 0, 4_294_967_295L);
        Checks.inRange("mqtt.health_period_s", healthPeriodSeconds, 1, 86_400);
        Checks.present("mqtt.command_*", commands);
    }

    /** The same connection with other command settings. */
    public MqttConfig withCommands(Commands commands) {
        return new MqttConfig(broker, clientId, username, passwordFile, tls, keepAliveSeconds, sessionExpirySeconds,
                healthPeriodSeconds, publishResults, commands);
    }

    /** The same connection with other settings of those a running device may change. */
    public MqttConfig withLive(int healthPeriodSeconds, boolean publishResults) {
        return new MqttConfig(broker, clientId, username, passwordFile, tls, keepAliveSeconds, sessionExpirySeconds,
                healthPeriodSeconds, publishResults, commands);
    }
}
