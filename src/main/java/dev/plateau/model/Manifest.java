package dev.plateau.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.plateau.config.Checks;
import dev.plateau.config.SourceConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A bundle's {@code manifest.yaml}: what the model expects, what it answers, where its head
 * starts, and how it was made and measured. Keys are snake_case in the file.
 */
public record Manifest(
        String name,
        int version,
        Task task,
        Input input,
        Output output,
        Head head,
        Baseline baseline,
        Alarm alarm,
        Map<String, Object> provenance) {

    public enum Task {
        @JsonProperty("classification") CLASSIFICATION
    }

    /** How a raw file becomes the input tensor; written in kebab-case in manifests. */
    public enum Decode {
        @JsonProperty("image-gray") IMAGE_GRAY,
        @JsonProperty("image-rgb") IMAGE_RGB,
        @JsonProperty("csv-window") CSV_WINDOW
    }

    public Manifest {
        Checks.notBlank("name", name);
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("name: expected 1-64 of [A-Za-z0-9._-], found '" + name + "'");
        }
        Checks.inRange("version", version, 0, Integer.MAX_VALUE);
        Checks.present("task", task);
        Checks.present("input", input);
        Checks.present("output", output);
        if (alarm != null && (output.labels().size() != 2 || output.positive() == null)) {
            throw new IllegalArgumentException("alarm: needs a two-class detector with output.positive, found labels "
                    + output.labels() + (output.positive() == null ? " and no output.positive" : ""));
        }
        provenance = provenance == null ? Map.of() : Map.copyOf(provenance);
    }

    public Optional<Head> headSpec() {
        return Optional.ofNullable(head);
    }

    public Optional<Baseline> baselineFigures() {
        return Optional.ofNullable(baseline);
    }

    /** The deck-level alarm's operating point, when site calibration has set one. */
    public Optional<Alarm> alarmSpec() {
        return Optional.ofNullable(alarm);
    }

    public int classCount() {
        return output.labels().size();
    }

    /** The model's input tensor and how raw files become it. */
    public record Input(
            String tensor,
            List<Integer> shape,
            Decode decode,
            Double scale,
            List<Double> mean,
            List<Double> std,
            Integer sampleRateHz,
            Integer length,
            List<String> channels,
            String units,
            List<Double> range) {

        public Input {
            Checks.notBlank("input.tensor", tensor);
            Checks.present("input.shape", shape);
            Checks.present("input.decode", decode);
            shape = List.copyOf(shape);
            for (int d : shape) {
                Checks.inRange("input.shape[]", d, 1, 1 << 20);
            }
            scale = scale == null ? 1.0 : scale;
            if (!Double.isFinite(scale) || scale == 0) {
                throw new IllegalArgumentException("input.scale: expected a finite non-zero number, found " + scale);
            }
            int planes = switch (decode) {
                case IMAGE_GRAY -> expectRank(shape, 3, 1, "image-gray expects [1, height, width]");
                case IMAGE_RGB -> expectRank(shape, 3, 3, "image-rgb expects [3, height, width]");
                case CSV_WINDOW -> expectRank(shape, 2, shape.get(0), "csv-window expects [channels, length]");
            };
            mean = mean == null ? java.util.Collections.nCopies(planes, 0.0) : List.copyOf(mean);
            std = std == null ? java.util.Collections.nCopies(planes, 1.0) : List.copyOf(std);
            if (mean.size() != planes || std.size() != planes) {
                throw new IllegalArgumentException("input.mean and input.std: expected " + planes
                        + " values each (one per channel), found " + mean.size() + " and " + std.size());
            }
            for (double s : std) {
                if (!(s > 0) || !Double.isFinite(s)) {
                    throw new IllegalArgumentException("input.std: every value must be > 0 and finite, found " + std);
                }
            }
            if (decode == Decode.CSV_WINDOW) {
                Checks.present("input.channels (csv-window)", channels);
                Checks.present("input.length (csv-window)", length);
                Checks.present("input.sample_rate_hz (csv-window)", sampleRateHz);
                channels = List.copyOf(channels);
                if (channels.size() != shape.get(0) || new HashSet<>(channels).size() != channels.size()) {
                    throw new IllegalArgumentException("input.channels: expected " + shape.get(0)
                            + " distinct names to match input.shape " + shape + ", found " + channels);
                }
                if (length.intValue() != shape.get(1)) {
                    throw new IllegalArgumentException("input.length: " + length + " does not match input.shape " + shape);
                }
                Checks.inRange("input.sample_rate_hz", sampleRateHz, 1, 1_000_000);
            } else {
                channels = channels == null ? List.of() : List.copyOf(channels);
            }
            if (range != null && (range.size() != 2 || !(range.get(0) < range.get(1)))) {
                throw new IllegalArgumentException("input.range: expected [min, max] with min < max, found " + range);
            }
        }

        /** Plausible raw values (before scaling); inputs outside are rejected, not clamped. */
        public Optional<List<Double>> rawRange() {
            return Optional.ofNullable(range);
        }

        private static int expectRank(List<Integer> shape, int rank, int first, String what) {
            if (shape.size() != rank || shape.get(0) != first) {
                throw new IllegalArgumentException("input.shape: " + what + ", found " + shape);
            }
            return first;
        }

        /** Elements of one sample. */
        public int sampleSize() {
            return shape.stream().mapToInt(Integer::intValue).reduce(1, (a, b) -> a * b);
        }
    }

    /** The model's output tensor and its class labels, in the model's class order. */
    public record Output(String tensor, List<String> labels, String positive) {
        public Output {
            Checks.notBlank("output.tensor", tensor);
            Checks.present("output.labels", labels);
            labels = List.copyOf(labels);
            if (labels.size() < 2) {
                throw new IllegalArgumentException("output.labels: a classifier needs at least 2 labels, found " + labels);
            }
            if (new HashSet<>(labels).size() != labels.size()) {
                throw new IllegalArgumentException("output.labels: duplicate label in " + labels);
            }
            for (String label : labels) {
                // Labels are directory names in sample and anchor sets.
                if (!label.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
                    throw new IllegalArgumentException("output.labels: '" + label
                            + "' is not usable as a directory name (expected [A-Za-z0-9._-])");
                }
            }
            if (positive != null && !labels.contains(positive)) {
                throw new IllegalArgumentException("output.positive: '" + positive + "' is not one of " + labels);
            }
        }

        /** Index of the class whose score ROC AUC ranks, for two-class models. */
        public int positiveIndex() {
            return positive == null ? labels.size() - 1 : labels.indexOf(positive);
        }
    }

    /** Where the trainable head starts: the tensor feeding its first dense layer. */
    public record Head(String embedding) {
        public Head {
            Checks.notBlank("head.embedding", embedding);
        }
    }

    /**
     * The operating point of a detector's deck-level alarm: raise when the mean per-window
     * log-odds of {@code output.positive} over the last {@code windows} windows is above
     * {@code threshold}. Written by site calibration; {@code false_alarm_rate} is the block
     * false-alarm rate the threshold was chosen for, kept for the record.
     */
    public record Alarm(Integer windows, Double threshold, Double falseAlarmRate) {
        public Alarm {
            Checks.present("alarm.windows", windows);
            Checks.inRange("alarm.windows", windows, 1, SourceConfig.Alarm.MAX_WINDOWS);
            Checks.present("alarm.threshold", threshold);
            if (!Double.isFinite(threshold)) {
                throw new IllegalArgumentException("alarm.threshold: expected a finite number (mean log-odds), found "
                        + threshold);
            }
            if (falseAlarmRate != null && !(falseAlarmRate > 0 && falseAlarmRate < 1)) {
                throw new IllegalArgumentException("alarm.false_alarm_rate: expected a rate with 0 < rate < 1, found "
                        + falseAlarmRate);
            }
        }

        public Optional<Double> falseAlarmRateFigure() {
            return Optional.ofNullable(falseAlarmRate);
        }
    }

    /** Figures measured by {@code plateau eval} on the held-out test data. */
    public record Baseline(Double accuracy, Double loss, Double rocAuc, Integer testSamples, String testData) {}
}
