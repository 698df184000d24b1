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
        int keepAliveSeconds,
        long sessionExpirySeconds,
        int healthPeriodSeconds,
        boolean publishResults) {

    public MqttConfig {
        Checks.present("mqtt.broker", broker);
        Checks.notBlank("mqtt.client_id", clientId);
        Checks.present("mqtt.username", username);
        Checks.present("mqtt.password_file", passwordFile);
        Checks.inRange("mqtt.keepalive_s", keepAliveSeconds, 5, 3600);
        Checks.inRange("mqtt.session_expiry_s", sessionExpirySeconds, 0, 4_294_967_295L);
        Checks.inRange("mqtt.health_period_s", healthPeriodSeconds, 1, 86_400);
    }
}
