package dev.plateau.inference;

import dev.plateau.model.Manifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Accuracy, mean cross-entropy and per-class accuracy of a model on a labelled directory; and
 * ROC AUC for two-class models, ranking the positive class's probability. With a sequence length
 * N, also the deck-level figures of a detector: see {@link Sequence}.
 */
public final class Evaluation {
    private Evaluation() {}

    /** Figures of one evaluation; {@code rocAuc} is NaN unless the model has two classes and both occur. */
    public record Result(int n, int rejected, double accuracy, double loss, Map<String, Double> perClass,
                         Map<String, Integer> countPerClass, double rocAuc, List<String> rejections,
                         Optional<Sequence> sequence) {}

    /**
     * Deck-level figures: each class folder's inferred windows, in name order, cut into
     * non-overlapping blocks of {@code n}; a block's score is the mean of its windows' log-odds
     * of the positive class (as the daemon's alarm aggregates them), and it alarms when that
     * mean is above {@code threshold}. A trailing partial block of a class is dropped, its files
     * counted in {@code droppedFiles}; rejected files are not windows and are left out.
     *
     * @param blocks         blocks per label
     * @param alarm          the manifest's alarm section the threshold came from, or empty for
     *                       threshold 0, the model's own operating point
     * @param falseAlarmRate share of the other classes' blocks that alarm; NaN without such blocks
     * @param detectionRate  share of the positive class's blocks that alarm; NaN without them
     * @param rocAuc         of the block scores, the positive class against the rest; NaN unless both occur
     */
    public record Sequence(int n, Map<String, Integer> blocks, int droppedFiles, double threshold,
                           Optional<Manifest.Alarm> alarm, double falseAlarmRate, double detectionRate,
                           double rocAuc) {}

    public static Result run(InferenceEngine engine, SampleDirectory data) {
        return run(engine, data, OptionalInt.empty());
    }

    /**
     * As {@link #run(InferenceEngine, SampleDirectory)}, and with {@code sequence} N the
     * {@link Sequence} figures of blocks of N windows.
     *
     * @throws IllegalArgumentException when a sequence is asked of a model without {@code output.positive}
     */
    public static Result run(InferenceEngine engine, SampleDirectory data, OptionalInt sequence) {
        Manifest manifest = engine.manifest();
        if (sequence.isPresent()) {
            requireDetector(manifest, sequence.getAsInt());
        }
        List<String> labels = manifest.output().labels();
        int classes = labels.size();
        int[] correct = new int[classes];
        int[] total = new int[classes];
        List<double[]> positives = new ArrayList<>();
        int positive = manifest.output().positiveIndex();
        double lossSum = 0;
        int n = 0;
        List<String> rejections = new ArrayList<>();
        // Per class, in the directory's (name) order: the windows' log-odds, for blocks.
        List<List<Double>> odds = new ArrayList<>();
        labels.forEach(l -> odds.add(new ArrayList<>()));
        for (SampleDirectory.Sample sample : data.samples()) {
            Prediction p;
            try {
                p = engine.infer(sample.file());
            } catch (InputRejectedException e) {
                rejections.add(e.getMessage());
                continue;
            }
            n++;
            total[sample.label()]++;
            if (p.index() == sample.label()) {
                correct[sample.label()]++;
            }
            lossSum += -Math.log(Math.max(p.score(sample.label()), 1e-12));
            positives.add(new double[] {p.score(positive), sample.label() == positive ? 1 : 0});
            odds.get(sample.label()).add(p.logOdds(positive));
        }
        Map<String, Double> perClass = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int c = 0; c < classes; c++) {
            counts.put(labels.get(c), total[c]);
            if (total[c] > 0) {
                perClass.put(labels.get(c), (double) correct[c] / total[c]);
            }
        }
        int right = Arrays.stream(correct).sum();
        double auc = classes == 2 ? rocAuc(positives) : Double.NaN;
        Optional<Sequence> blocks = sequence.isPresent()
                ? Optional.of(sequence(manifest, odds, sequence.getAsInt())) : Optional.empty();
        return new Result(n, rejections.size(), n == 0 ? Double.NaN : (double) right / n,
                n == 0 ? Double.NaN : lossSum / n, perClass, counts, auc, List.copyOf(rejections), blocks);
    }

    private static void requireDetector(Manifest manifest, int n) {
        if (manifest.output().positive() == null) {
            throw new IllegalArgumentException("--sequence: model " + manifest.name() + " has no output.positive, "
                    + "so its windows carry no evidence to accumulate (labels " + manifest.output().labels()
                    + "); deck-level figures need a detector whose manifest names its positive class");
        }
        if (n < 1) {
            throw new IllegalArgumentException("--sequence: expected N >= 1 windows per block, found " + n);
        }
    }

    /** Blocks of {@code n} windows per class, scored and judged as {@link Sequence} says. */
    private static Sequence sequence(Manifest manifest, List<List<Double>> odds, int n) {
        List<String> labels = manifest.output().labels();
        int positive = manifest.output().positiveIndex();
        Optional<Manifest.Alarm> alarm = manifest.alarmSpec();
        double threshold = alarm.map(Manifest.Alarm::threshold).orElse(0.0);
        Map<String, Integer> blocks = new LinkedHashMap<>();
        List<double[]> scored = new ArrayList<>();
        int dropped = 0;
        int[] alarmed = new int[2];
        int[] total = new int[2];
        for (int c = 0; c < labels.size(); c++) {
            List<Double> windows = odds.get(c);
            int full = windows.size() / n;
            dropped += windows.size() - full * n;
            blocks.put(labels.get(c), full);
            int kind = c == positive ? 1 : 0;
            for (int b = 0; b < full; b++) {
                double[] block = windows.subList(b * n, (b + 1) * n).stream().mapToDouble(Double::doubleValue).toArray();
                double mean = LogOdds.mean(block);
                total[kind]++;
                alarmed[kind] += LogOdds.above(mean, threshold) ? 1 : 0;
                scored.add(new double[] {mean, kind});
            }
        }
        return new Sequence(n, blocks, dropped, threshold, alarm, rate(alarmed[0], total[0]),
                rate(alarmed[1], total[1]), rocAuc(scored));
    }

    private static double rate(int count, int of) {
        return of == 0 ? Double.NaN : (double) count / of;
    }

    /**
     * Area under the ROC curve by the rank-sum (Mann-Whitney U) statistic, ties counted half.
     * Each entry is {score, 1 if positive else 0}.
     */
    static double rocAuc(List<double[]> scored) {
        double[][] sorted = scored.toArray(double[][]::new);
        Arrays.sort(sorted, (a, b) -> Double.compare(a[0], b[0]));
        long pos = 0;
        long neg = 0;
        double rankSum = 0;
        int i = 0;
        while (i < sorted.length) {
            int j = i;
            while (j < sorted.length && sorted[j][0] == sorted[i][0]) {
                j++;
            }
            double meanRank = (i + 1 + j) / 2.0;
            for (int k = i; k < j; k++) {
                if (sorted[k][1] == 1) {
                    pos++;
                    rankSum += meanRank;
                } else {
                    neg++;
                }
            }
            i = j;
        }
        if (pos == 0 || neg == 0) {
            return Double.NaN;
        }
        return (rankSum - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }
}
