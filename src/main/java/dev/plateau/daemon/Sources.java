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
import dev.plateau.store.SampleStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The source factory: builds each configured input source with its pipeline (the model's slot,
 * the sample store, reports, recent predictions, its alarm, the model's drift monitor) and its progress marks, starts them,
 * and stops them again. The local HTTP API's pipelines are made here too, so every input goes
 * one way.
 */
final class Sources implements AutoCloseable {
    /** Under the state directory: what a shifted replay hands on, one file per source. */
    static final String SCRATCH = "replay";

    private final DeviceConfig config;
    private final Map<String, ModelSlot> slots;
    private final Optional<SampleStore> samples;
    private final InputReports reports;
    private final SampleHealth sampleHealth;
    private final Alarms alarms;
    private final Drifts drifts;
    private final RecentPredictions recent;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final Clock monotonic;
    private final List<Source> started = new ArrayList<>();
    private final List<Progress> progress = new ArrayList<>();

    /** @param slots by the configuration's model name, as sources name them */
    Sources(DeviceConfig config, Map<String, ModelSlot> slots, Optional<SampleStore> samples, InputReports reports,
            SampleHealth sampleHealth, Alarms alarms, Drifts drifts, RecentPredictions recent,
            ScheduledExecutorService scheduler, Clock clock, Clock monotonic) {
        this.drifts = drifts;
        this.config = config;
        this.slots = slots;
        this.samples = samples;
        this.reports = reports;
        this.sampleHealth = sampleHealth;
        this.alarms = alarms;
        this.recent = recent;
        this.scheduler = scheduler;
        this.clock = clock;
        this.monotonic = monotonic;
    }

    /** Builds and starts every configured source, in order; those started stay listed if one fails. */
    void startAll() {
        for (SourceConfig sc : config.sources()) {
            Progress marks = new Progress(sc.name(), period(sc), monotonic);
            ModelSlot slot = slots.get(sc.model());
            ProgressHandler handler = new ProgressHandler(pipeline(slot, alarms.track(sc, slot)), marks);
            Source source = create(sc, config, handler, new SourceScheduler(scheduler, marks), clock, monotonic,
                    (queue, n) -> reports.dropped(slot.name(), queue, n));
            started.add(source);
            progress.add(marks);
            source.start();
        }
    }

    /** A pipeline onto {@code slot}, as a source's, without an alarm: the HTTP API's. */
    Pipeline pipeline(ModelSlot slot) {
        return pipeline(slot, Optional.empty());
    }

    private Pipeline pipeline(ModelSlot slot, Optional<AlarmTracker> alarm) {
        return new Pipeline(slot, samples, reports, sampleHealth, alarm, drifts.of(slot.name()), recent);
    }

    /** The sources started, in the configuration's order. */
    List<Source> started() {
        return List.copyOf(started);
    }

    List<Progress> progress() {
        return List.copyOf(progress);
    }

    /** Stops every source; an input being handled is finished by the scheduler's shutdown. */
    @Override
    public void close() {
        started.forEach(Source::close);
    }

    /** The source {@code source} configures, handing its inputs to {@code handler}; not started. */
    private static Source create(SourceConfig source, DeviceConfig config, InputHandler handler,
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
