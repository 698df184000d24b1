package dev.plateau.daemon;

import dev.plateau.config.DeviceConfig;
import dev.plateau.config.MqttConfig;
import dev.plateau.config.SourceConfig;
import dev.plateau.fleet.TopicSubscriber;
import dev.plateau.sensor.DirectorySource;
import dev.plateau.sensor.DropListener;
import dev.plateau.sensor.InputHandler;
import dev.plateau.sensor.MqttSource;
import dev.plateau.sensor.ReplaySource;
import dev.plateau.sensor.Source;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/** Builds the configured input sources, and says how often each is meant to run. */
final class Sources {
    /** Under the state directory: what a shifted replay hands on, one file per source. */
    static final String SCRATCH = "replay";

    private Sources() {}

    /** The source {@code source} configures, handing its inputs to {@code handler}; not started. */
    static Source create(SourceConfig source, DeviceConfig config, InputHandler handler,
                         ScheduledExecutorService scheduler, Clock clock, Clock monotonic,
                         DropListener drops) {
        if (source instanceof SourceConfig.Replay r) {
            return new ReplaySource(r, handler, scheduler, config.stateDir().resolve(SCRATCH).resolve(r.name()));
        }
        if (source instanceof SourceConfig.Directory d) {
            return new DirectorySource(d, handler, scheduler, clock);
        }
        SourceConfig.Mqtt m = (SourceConfig.Mqtt) source;
        return new MqttSource(m, subscriber(m, config), handler, scheduler, config.stateDir(), monotonic, drops);
    }

    /**
     * An MQTT source's client: on the broker it names, anonymously, or else on the fleet broker
     * with the fleet link's credentials and TLS.
     */
    private static MqttSource.Subscriber subscriber(SourceConfig.Mqtt source, DeviceConfig config) {
        Optional<MqttConfig> fleetMqtt = config.mqtt();
        URI broker = source.broker().or(() -> fleetMqtt.map(MqttConfig::broker)).orElseThrow(
                () -> new IllegalArgumentException("source " + source.name() + ": no broker and no mqtt section"));
        Optional<MqttConfig> credentials = source.broker().isPresent() ? Optional.empty() : fleetMqtt;
        String clientId = fleetMqtt.map(MqttConfig::clientId).orElse("plateau-" + config.device().node())
                + "-source-" + source.name();
        return payloads -> TopicSubscriber.start(broker, credentials, clientId, source.topic(), source.qos(), payloads);
    }

    /** How often a source is scheduled to run: what its progress is measured against. */
    static Duration period(SourceConfig source) {
        if (source instanceof SourceConfig.Replay r) {
            return Duration.ofNanos(Math.max(1_000, Math.round(1_000_000_000 / r.rateHz())));
        }
        return source instanceof SourceConfig.Directory d ? Duration.ofMillis(d.pollMillis())
                : Duration.ofMillis(MqttSource.DRAIN_MILLIS);
    }
}
