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
        boolean publishResults) {

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

    public MqttConfig {
        Checks.present("mqtt.broker", broker);
        Checks.notBlank("mqtt.client_id", clientId);
        Checks.present("mqtt.username", username);
        Checks.present("mqtt.password_file", passwordFile);
        Checks.present("mqtt.tls", tls);
        Checks.inRange("mqtt.keepalive_s", keepAliveSeconds, 5, 3600);
        Checks.inRange("mqtt.session_expiry_s", sessionExpirySeconds, 0, 4_294_967_295L);
        Checks.inRange("mqtt.health_period_s", healthPeriodSeconds, 1, 86_400);
    }

    /** The same connection with other settings of those a running device may change. */
    public MqttConfig withLive(int healthPeriodSeconds, boolean publishResults) {
        return new MqttConfig(broker, clientId, username, passwordFile, tls, keepAliveSeconds, sessionExpirySeconds,
                healthPeriodSeconds, publishResults);
    }
}
