package dev.plateau.http;

import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.LatencyHistogram;
import dev.plateau.inference.ModelStats;
import dev.plateau.inference.Prediction;
import dev.plateau.model.Manifest;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the HTTP layer sees of the running device and may ask of it. Every read is lock-free and
 * quick: a scrape or a page refresh must never wait on an inference or a model swap.
 */
public interface DeviceView {
    /** True once every model is loaded and every source started; false again while stopping. */
    boolean ready();

    /** Each model's figures, in the configuration's order. */
    List<ModelView> models();

    /** The per-model part of the health report, as the fleet's MQTT {@code health} message carries it. */
    Map<String, ?> health();

    /** The fleet link, when an {@code mqtt} section configures one. */
    Optional<FleetView> fleet();

    /** The most recent predictions of {@code model} (sources and this API alike), newest first. */
    List<Recent> recent(String model);

    /** The newest fine-tune report of {@code model} ({@code report.json}, accepted or rejected). */
    Optional<String> lastFineTuneReport(String model);

    /**
     * Infers one input through the pipeline the sources use: the same guards, statistics,
     * probation, sample store and result reports.
     *
     * @param model the store name of a model, one of {@link #models()}
     * @throws InputRejectedException when the input is not what the model takes
     * @throws dev.plateau.inference.InferenceException when the runtime fails
     */
    Served infer(String model, Input input) throws InputRejectedException;

    /**
     * One model's figures at one instant. {@code drifted} is the drift monitor's verdict, empty when
     * the model has none.
     */
    record ModelView(String name, int version, Manifest manifest, ModelStats.Snapshot stats,
                     LatencyHistogram.Cumulative modelRun, LatencyHistogram.Cumulative handling, long dropped,
                     String probation, Map<String, Boolean> alarmsRaised, Optional<Boolean> drifted,
                     Map<String, Long> fineTunes, LatencyHistogram.Cumulative fineTuneDurations) {
        public ModelView {
            alarmsRaised = Map.copyOf(alarmsRaised);
            fineTunes = Map.copyOf(fineTunes);
        }
    }

    /** The fleet link: connected to its broker or not, and the events waiting in the outbox. */
    record FleetView(boolean connected, int outboxDepth) {}

    /**
     * One recent prediction; {@code content} is the input itself when it was small enough to keep
     * (a thumbnail or a window), of {@code mediaType}.
     */
    record Recent(Instant at, String source, String input, int version, String label, float score,
                  Optional<String> mediaType, Optional<byte[]> content) {}

    /** One input for {@link #infer}. */
    sealed interface Input permits Input.Encoded, Input.Tensor {
        /** A file's bytes as a source would read them: {@code extension} is png, jpg or csv. */
        record Encoded(String extension, byte[] bytes) implements Input {}

        /** The model's input tensor itself, already preprocessed, channel-major. */
        record Tensor(float[] values) implements Input {}
    }

    /** A classification and the version that made it. */
    record Served(int version, Prediction prediction) {}
}
