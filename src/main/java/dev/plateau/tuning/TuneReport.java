package dev.plateau.tuning;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one fine-tune did and decided, as written to {@code report.json} and printed by
 * {@code plateau tune}: the data and what hygiene did to it, every settings trial, the chosen
 * run's epochs, and the gate's figures. Absent parts are left out of the JSON.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TuneReport(String model, int baseVersion, String baseModelSha256, long seed, DataReport data,
                         SearchReport search, Map<String, String> hyperparameters, List<EpochReport> epochs,
                         String stopReason, String stopMessage, int bestEpoch, long steps, NoveltyReport novelty,
                         SiteReport site, GateDecision gate, String decision, String verdict, String reason, Integer version,
                         Double fileCheckMaxAbsDiff, long wallMs, long estimatedPeakBytes, long jvmHeapUsedBytes) {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    /** The gate's overall finding; {@code accepted} is the only one that writes a version. */
    public enum Verdict {
        ACCEPTED, NOT_BETTER, CANNOT_TELL, FORGOT, BLINDED, NON_FINITE, TRAINING_STOPPED, BUDGET;

        @JsonValue
        public String key() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** Sample counts per split and what data hygiene changed, each change with its reason. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record DataReport(Map<String, Integer> trainPerClass, Map<String, Integer> selectionPerClass,
                             Map<String, Integer> validationPerClass, int anchorRehearsalSamples,
                             int anchorSelectionSamples, int anchorGuardSamples, List<String> notes) {}

    /**
     * One settings trial of the search: what it tried, how it scored on the selection split, the
     * forgetting it showed on the anchors' selection part and the guard bound that implies, what
     * it cost. Trials whose expected bound is not below {@code max_forgetting} score below all others.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Trial(int trial, int rung, Map<String, String> settings, double selectionAccuracy,
                        Double anchorDropEstimate, Double expectedGuardBound, double score, int bestEpoch,
                        String stopReason, long millis) {}

    /** The search: every trial, the winner and why it won. */
    public record SearchReport(String mode, List<Trial> trials, int winner, String why, long millis) {}

    /**
     * One epoch of the chosen run. {@code weightChange} is the relative L2 change of the head's
     * weights over the epoch; {@code unchangedPredictions} the share of selection predictions
     * the same as after the previous epoch (weight stabilisation, functional consistency).
     */
    public record EpochReport(int epoch, Double trainLoss, Double valLoss, Double valAccuracy, Double gradNorm,
                              double lr, long steps, Double weightChange, Double unchangedPredictions) {}

    /** The site novelty score fitted on a two-class detector's normal data. */
    public record NoveltyReport(double tau, double beta, double fitShare, double quantile, double shrinkage,
                                String guard) {}

    /**
     * A vibration detector's calibration to its site: the modal bands its features follow, the
     * synthetic-damage proxies it was judged on, the head's shift to the site's operating point,
     * the blinding guard and the deck-level alarm threshold.
     */
    public record SiteReport(List<List<Double>> modalBandsHz, List<List<Double>> proxyBandsHz, double proxyMinShift,
                             double proxyMaxShift, double headShift, double headFalseAlarms, Blinding blinding,
                             Alarm alarm) {
        /**
         * How the current model and the candidate respond to the proxies: the mean rise of the
         * log-odds from source window to proxy in healthy standard deviations, its p-values, and
         * the share of proxy blocks a deck-level alarm would catch.
         */
        public record Blinding(int proxies, int sourceWindows, double responseBefore, double responseAfter,
                               double riseP, double lowerP, double blockDetectionBefore, double blockDetectionAfter,
                               boolean blinded, String reason) {}

        /**
         * The threshold on the mean log-odds of {@code windows} consecutive windows for a block
         * false-alarm rate, from {@code healthyWindows} held-out windows in {@code blocks} blocks;
         * {@code designEffect} is how many times the variance of a block's mean exceeds that of
         * independent windows, as those blocks show (1: independent, or fewer than two blocks).
         */
        public record Alarm(int windows, double threshold, double falseAlarmRate, int healthyWindows, int blocks,
                            double designEffect) {}
    }

    /**
     * One paired comparison: {@code difference} is after minus before for the validation split
     * and before minus after (accuracy lost) for the anchor guard; {@code gained} and {@code lost}
     * count the samples the candidate newly gets right and newly gets wrong; the bounds are
     * one-sided at the gate's confidence; {@code threshold} is {@code min_gain} or
     * {@code max_forgetting}.
     */
    public record Comparison(String on, int n, double before, double after, double difference, int gained, int lost,
                             double lowerBound, double upperBound, double pValue, double threshold) {}

    /**
     * One class on the anchor guard; {@code collapsed} when it lost more than
     * {@code max_class_forgetting} and lost significantly more samples than it gained.
     */
    public record ClassChange(String label, int n, double before, double after, int lost, int gained,
                              double lossUpperBound, boolean collapsed) {}

    /** The gate's verdict, its one-sentence reason and the figures behind it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record GateDecision(Verdict verdict, String reason, double confidence, Comparison better, Comparison kept,
                               List<ClassChange> perClass, int nonFiniteOutputs) {
        public boolean accepted() {
            return verdict == Verdict.ACCEPTED;
        }
    }

    public boolean accepted() {
        return "accepted".equals(decision);
    }

    /** The report as one JSON line. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write a fine-tune report as JSON", e);
        }
    }

    /** The report as indented JSON, for {@code report.json}. */
    public String toPrettyJson() {
        try {
            return JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write a fine-tune report as JSON", e);
        }
    }

    public JsonNode toTree() {
        return JSON.valueToTree(this);
    }
}
