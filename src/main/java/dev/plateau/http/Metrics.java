package dev.plateau.http;

import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.LatencyHistogram;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code /metrics}: the device's figures in the Prometheus text format, read from the
 * {@link DeviceView} at each scrape (nothing is counted twice), beside the client's JVM and
 * process metrics. Names follow Prometheus practice: base units, {@code _total} counters,
 * {@code _seconds} histograms, labels of low cardinality (model, reason, source, state).
 */
final class Metrics {
    /** Probation states, each a 0/1 series so a dashboard can count models in each. */
    static final List<String> PROBATION_STATES = List.of("none", "running", "kept", "rolled_back", "superseded");
    /** HTTP status classes counted per handler. */
    private static final List<String> CODES = List.of("2xx", "4xx", "5xx");
    private static final double MICROS = 1e-6;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormatWriter writer = PrometheusTextFormatWriter.create();
    private final List<String> handlers;
    private final AtomicLongArray requests;

    Metrics(DeviceView device, List<String> handlers) {
        this.handlers = List.copyOf(handlers);
        this.requests = new AtomicLongArray(handlers.size() * CODES.size());
        JvmMetrics.builder().register(registry);
        registry.register((MultiCollector) () -> collect(device));
    }

    String contentType() {
        return writer.getContentType();
    }

    void write(OutputStream out) throws IOException {
        writer.write(out, registry.scrape());
    }

    /** Counts one answered request of {@code handler} (one of the names given at construction). */
    void answered(String handler, int status) {
        int h = handlers.indexOf(handler);
        int c = status >= 500 ? 2 : status >= 400 ? 1 : 0;
        if (h >= 0) {
            requests.incrementAndGet(h * CODES.size() + c);
        }
    }

    private MetricSnapshots collect(DeviceView device) {
        List<DeviceView.ModelView> models = device.models();
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(gauge("plateau_ready", "1 when every model is loaded and every source started",
                List.of(point(device.ready() ? 1 : 0, Labels.EMPTY))));

        List<CounterDataPointSnapshot> inferences = new ArrayList<>();
        List<CounterDataPointSnapshot> rejections = new ArrayList<>();
        List<CounterDataPointSnapshot> errors = new ArrayList<>();
        List<CounterDataPointSnapshot> dropped = new ArrayList<>();
        List<CounterDataPointSnapshot> fineTunes = new ArrayList<>();
        List<GaugeDataPointSnapshot> versions = new ArrayList<>();
        List<GaugeDataPointSnapshot> probation = new ArrayList<>();
        List<GaugeDataPointSnapshot> alarms = new ArrayList<>();
        List<GaugeDataPointSnapshot> drifts = new ArrayList<>();
        List<HistogramDataPointSnapshot> runs = new ArrayList<>();
        List<HistogramDataPointSnapshot> handling = new ArrayList<>();
        List<HistogramDataPointSnapshot> tuneDurations = new ArrayList<>();
        for (DeviceView.ModelView m : models) {
            Labels model = Labels.of("model", m.name());
            inferences.add(counter(m.stats().inferences(), model));
            for (InputRejectedException.Reason reason : InputRejectedException.Reason.values()) {
                long n = m.stats().rejectedByReason().getOrDefault(reason, 0L);
                rejections.add(counter(n, Labels.of("model", m.name(), "reason", reason.label())));
            }
            errors.add(counter(m.stats().errors(), model));
            dropped.add(counter(m.dropped(), model));
            versions.add(point(m.version(), model));
            for (String state : PROBATION_STATES) {
                probation.add(point(state.equals(m.probation()) ? 1 : 0,
                        Labels.of("model", m.name(), "state", state)));
            }
            m.alarmsRaised().forEach((source, raised) -> alarms.add(point(raised ? 1 : 0,
                    Labels.of("model", m.name(), "source", source))));
            m.drifted().ifPresent(d -> drifts.add(point(d ? 1 : 0, model)));
            for (Map.Entry<String, Long> e : m.fineTunes().entrySet()) {
                fineTunes.add(counter(e.getValue(), Labels.of("model", m.name(), "decision", e.getKey())));
            }
            runs.add(histogram(m.modelRun(), model));
            handling.add(histogram(m.handling(), model));
            tuneDurations.add(histogram(m.fineTuneDurations(), model));
        }
        out.add(counter("plateau_inferences", "Inputs classified, by model", inferences));
        out.add(counter("plateau_input_rejections", "Inputs turned away by a guard, by model and reason",
                rejections));
        out.add(counter("plateau_inference_errors", "Inferences the runtime failed, by model", errors));
        out.add(counter("plateau_inputs_dropped", "Messages a push source's full queue dropped, by model", dropped));
        out.add(gauge("plateau_model_active_version", "The store version each model serves", versions));
        out.add(gauge("plateau_model_probation", "1 for the probation state of each model's last activation",
                probation));
        out.add(histogramFamily("plateau_inference_duration_seconds",
                "Model run: the ONNX Runtime session and the softmax, per input", runs));
        out.add(histogramFamily("plateau_input_duration_seconds",
                "Full path of one input: read, decode, guards, model run, sample store, reports", handling));
        if (!alarms.isEmpty()) {
            out.add(gauge("plateau_alarm_raised", "1 while a source's deck-level alarm is raised", alarms));
        }
        if (!drifts.isEmpty()) {
            out.add(gauge("plateau_drift_detected", "1 while the drift monitor finds a model's inputs drifted",
                    drifts));
        }
        out.add(counter("plateau_finetunes", "Fine-tunes ended, by model and decision", fineTunes));
        out.add(histogramFamily("plateau_finetune_duration_seconds", "Wall time of a fine-tune, by model",
                tuneDurations));
        Optional<DeviceView.FleetView> fleet = device.fleet();
        fleet.ifPresent(f -> {
            out.add(gauge("plateau_fleet_connected", "1 while the fleet link is connected to its broker",
                    List.of(point(f.connected() ? 1 : 0, Labels.EMPTY))));
            out.add(gauge("plateau_outbox_events", "Events in the durable outbox not yet acknowledged by the broker",
                    List.of(point(f.outboxDepth(), Labels.EMPTY))));
        });
        List<CounterDataPointSnapshot> answered = new ArrayList<>();
        for (int h = 0; h < handlers.size(); h++) {
            for (int c = 0; c < CODES.size(); c++) {
                answered.add(counter(requests.get(h * CODES.size() + c),
                        Labels.of("handler", handlers.get(h), "code", CODES.get(c))));
            }
        }
        out.add(counter("plateau_http_requests", "Requests answered by this server, by handler and status class",
                answered));
        return new MetricSnapshots(out);
    }

    private static CounterDataPointSnapshot counter(double value, Labels labels) {
        return CounterDataPointSnapshot.builder().value(value).labels(labels).build();
    }

    private static GaugeDataPointSnapshot point(double value, Labels labels) {
        return GaugeDataPointSnapshot.builder().value(value).labels(labels).build();
    }

    private static CounterSnapshot counter(String name, String help, List<CounterDataPointSnapshot> points) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        points.forEach(b::dataPoint);
        return b.build();
    }

    private static GaugeSnapshot gauge(String name, String help, List<GaugeDataPointSnapshot> points) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        points.forEach(b::dataPoint);
        return b.build();
    }

    private static HistogramSnapshot histogramFamily(String name, String help, List<HistogramDataPointSnapshot> points) {
        HistogramSnapshot.Builder b = HistogramSnapshot.builder().name(name).help(help).unit(Unit.SECONDS);
        points.forEach(b::dataPoint);
        return b.build();
    }

    /** The histogram's power-of-two buckets in seconds; Prometheus wants each bucket's own count. */
    private static HistogramDataPointSnapshot histogram(LatencyHistogram.Cumulative h, Labels labels) {
        long[] bounds = h.upperBoundsMicros();
        double[] upper = new double[bounds.length + 1];
        long[] counts = new long[bounds.length + 1];
        long below = 0;
        for (int i = 0; i < bounds.length; i++) {
            upper[i] = bounds[i] * MICROS;
            counts[i] = h.cumulative()[i] - below;
            below = h.cumulative()[i];
        }
        upper[bounds.length] = Double.POSITIVE_INFINITY;
        counts[bounds.length] = h.count() - below;
        return HistogramDataPointSnapshot.builder().classicHistogramBuckets(ClassicHistogramBuckets.of(upper, counts))
                .sum(h.sumMicros() * MICROS).labels(labels).build();
    }
}
