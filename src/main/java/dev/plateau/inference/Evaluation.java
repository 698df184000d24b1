package dev.plateau.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Accuracy, mean cross-entropy and per-class accuracy of a model on a labelled directory; and
 * ROC AUC for two-class models, ranking the positive class's probability.
 */
public final class Evaluation {
    private Evaluation() {}

    /** Figures of one evaluation; {@code rocAuc} is NaN unless the model has two classes and both occur. */
    public record Result(int n, int rejected, double accuracy, double loss, Map<String, Double> perClass,
                         Map<String, Integer> countPerClass, double rocAuc, List<String> rejections) {}

    public static Result run(InferenceEngine engine, SampleDirectory data) {
        List<String> labels = engine.manifest().output().labels();
        int classes = labels.size();
        int[] correct = new int[classes];
        int[] total = new int[classes];
        List<double[]> positives = new ArrayList<>();
        int positive = engine.manifest().output().positiveIndex();
        double lossSum = 0;
        int n = 0;
        List<String> rejections = new ArrayList<>();
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
        return new Result(n, rejections.size(), n == 0 ? Double.NaN : (double) right / n,
                n == 0 ? Double.NaN : lossSum / n, perClass, counts, auc, List.copyOf(rejections));
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
