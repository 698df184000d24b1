package dev.plateau.fleet;

import dev.plateau.config.DeviceConfig;
import dev.plateau.config.MqttConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Random;

/**
 * What {@link Fleet} needs: the {@code mqtt} section, the device's identity and state directory,
 * plus the tunables that are not configuration (outbox bound, first-connect backoff), with the
 * clock and randomness injected for tests.
 */
public record FleetSettings(MqttConfig mqtt, String group, String node, Path stateDir, int outboxCapacity,
                            Duration backoffMin, Duration backoffMax, Clock clock, Random random) {
    public static final int DEFAULT_OUTBOX_CAPACITY = 10_000;
    public static final Duration DEFAULT_BACKOFF_MIN = Duration.ofSeconds(1);
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofMinutes(2);

    public FleetSettings {
        if (outboxCapacity < 1) {
            throw new IllegalArgumentException("outboxCapacity: expected >= 1, found " + outboxCapacity);
        }
        new Backoff(backoffMin, backoffMax, random);
        new Topics(group, node);
    }

    /** Settings for a configured device; the configuration must have an {@code mqtt} section. */
    public static FleetSettings of(DeviceConfig config, Clock clock) {
        MqttConfig mqtt = config.mqtt().orElseThrow(() -> new IllegalArgumentException("mqtt: section absent"));
        return of(mqtt, config.device().group(), config.device().node(), config.stateDir(), clock);
    }

    public static FleetSettings of(MqttConfig mqtt, String group, String node, Path stateDir, Clock clock) {
        return new FleetSettings(mqtt, group, node, stateDir, DEFAULT_OUTBOX_CAPACITY, DEFAULT_BACKOFF_MIN,
                DEFAULT_BACKOFF_MAX, clock, new Random());
    }

    public FleetSettings withBackoff(Duration min, Duration max) {
        return new FleetSettings(mqtt, group, node, stateDir, outboxCapacity, min, max, clock, random);
    }

    public FleetSettings withOutboxCapacity(int capacity) {
        return new FleetSettings(mqtt, group, node, stateDir, capacity, backoffMin, backoffMax, clock, random);
    }

    Duration healthPeriod() {
        return Duration.ofSeconds(mqtt.healthPeriodSeconds());
    }

    /** Paho's spelling of the broker URI: {@code mqtt} is {@code tcp}, {@code mqtts} is {@code ssl}. */
    String pahoUri() {
        return pahoUri(mqtt.broker());
    }

    static String pahoUri(URI broker) {
        String scheme = switch (broker.getScheme()) {
            case "mqtt" -> "tcp";
            case "mqtts" -> "ssl";
            default -> broker.getScheme();
        };
        int port = broker.getPort();
        String path = broker.getRawPath() == null ? "" : broker.getRawPath();
        return scheme + "://" + broker.getHost() + (port < 0 ? "" : ":" + port) + path;
    }
}
