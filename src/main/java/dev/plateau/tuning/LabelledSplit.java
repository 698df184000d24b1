package dev.plateau.tuning;

import dev.plateau.inference.SampleDirectory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The new data's training and validation files, checked before anything expensive happens:
 * enough samples per class, and more than one class unless rehearsal supplies the others.
 */
record LabelledSplit(List<SampleDirectory.Sample> train, List<SampleDirectory.Sample> validation, int[] trainCounts,
                     int[] validationCounts) {

    /**
     * @param validation a separate validation directory, or null to hold out a stratified
     *     {@code val_fraction} of {@code data} (at least one sample of each class)
     * @param run files held out together ({@link TuneData#run})
     */
    static LabelledSplit of(SampleDirectory data, SampleDirectory validation, int run, TuningConfig config) {
        int classes = data.labels().size();
        List<SampleDirectory.Sample> train = new ArrayList<>();
        List<SampleDirectory.Sample> val = new ArrayList<>();
        if (validation != null) {
            train.addAll(data.samples());
            val.addAll(validation.samples());
        } else {
            Random random = new Random(config.seed());
            for (int c = 0; c < classes; c++) {
                List<SampleDirectory.Sample> ofClass = new ArrayList<>();
                for (SampleDirectory.Sample s : data.samples()) {
                    if (s.label() == c) {
                        ofClass.add(s);
                    }
                }
                int held = ofClass.isEmpty() ? 0 : Math.max(1, (int) Math.round(ofClass.size() * config.valFraction()));
                List<List<SampleDirectory.Sample>> parts = TuneData.takeRuns(ofClass, held, run, random);
                val.addAll(parts.get(0));
                train.addAll(parts.get(1));
            }
        }
        int[] trainCounts = counts(train, classes);
        int[] valCounts = counts(val, classes);
        check(data, trainCounts, valCounts, config);
        return new LabelledSplit(List.copyOf(train), List.copyOf(val), trainCounts, valCounts);
    }

    private static int[] counts(List<SampleDirectory.Sample> samples, int classes) {
        int[] counts = new int[classes];
        samples.forEach(s -> counts[s.label()]++);
        return counts;
    }

    private static void check(SampleDirectory data, int[] train, int[] val, TuningConfig config) {
        List<String> labels = data.labels();
        List<String> present = new ArrayList<>();
        List<String> tooFew = new ArrayList<>();
        for (int c = 0; c < train.length; c++) {
            int total = train[c] + val[c];
            if (total > 0) {
                present.add(labels.get(c));
                if (train[c] < config.minPerClass()) {
                    tooFew.add(labels.get(c) + "=" + train[c]);
                }
            }
        }
        if (present.isEmpty()) {
            throw new TuningDataException(data.dir() + ": no samples (expected DIR/<label>/<file>, labels " + labels + ")");
        }
        if (!tooFew.isEmpty()) {
            throw new TuningDataException("too few training samples per class: " + tooFew + " (min_per_class="
                    + config.minPerClass() + ", after holding out the validation split)");
        }
        if (present.size() == 1 && config.rehearsalRatio() == 0) {
            throw new TuningDataException("the data has a single class " + present
                    + " and rehearsal is off (rehearsal_ratio=0): a classifier cannot learn from one class; "
                    + "turn rehearsal on so the anchor set supplies the others, or add samples of other classes");
        }
        if (java.util.Arrays.stream(val).sum() == 0) {
            throw new TuningDataException("the validation split is empty: give --val DIR or more samples");
        }
    }
}
