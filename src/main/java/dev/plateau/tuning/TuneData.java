package dev.plateau.tuning;

import dev.plateau.inference.SampleDirectory;
import dev.plateau.inference.SampleDirectory.Sample;
import dev.plateau.model.ModelBundle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The files of one fine-tune, split so that every decision is made on data nothing before it has
 * seen: the trainer fits on {@code fit}, early stopping and the settings search choose on
 * {@code selection}, and the gate judges on {@code validation} and the anchor {@code guard},
 * which neither training nor selection ever touch. Anchors are split into a rehearsal part,
 * a selection part (the search's forgetting estimate) and the guard.
 *
 * <p>Hygiene: a file whose bytes equal another's is used once, in the part that matters most
 * (guard, then validation, then training), and each drop is noted; class imbalance is noted
 * and balanced by oversampling in {@link #balancedFit}.
 */
record TuneData(List<Sample> fit, List<Sample> selection, List<Sample> validation, List<Sample> rehearsal,
                List<Sample> anchorSelection, List<Sample> guard, List<String> labels, List<String> notes) {

    /**
     * Shares of the anchor set: rehearsal and the search's forgetting estimate; the other half
     * guards, because the gate's non-inferiority bound narrows with the guard's size.
     */
    static final double ANCHOR_REHEARSAL_SHARE = 0.35;
    static final double ANCHOR_SELECTION_SHARE = 0.15;
    /** Majority over minority class count above which the fit split is balanced by oversampling. */
    static final double IMBALANCE_RATIO = 1.5;

    static TuneData prepare(ModelBundle bundle, Path dataDir, Path validationDir, TuningConfig config) {
        List<String> labels = bundle.manifest().output().labels();
        List<String> notes = new ArrayList<>();
        Hashes hashes = new Hashes();
        List<Sample> anchors = bundle.anchorDir().map(d -> scan(d, labels).samples()).orElse(List.of());
        anchors = hashes.unique(anchors, "anchor", notes);
        SampleDirectory data = scan(dataDir, labels);
        SampleDirectory val = validationDir == null ? null : scan(validationDir, labels);
        if (val != null) {
            val = new SampleDirectory(val.dir(), labels, hashes.unique(val.samples(), "validation", notes));
        }
        data = new SampleDirectory(data.dir(), labels, hashes.unique(data.samples(), "training", notes));
        LabelledSplit split;
        try {
            split = LabelledSplit.of(data, val, run(bundle), config);
        } catch (TuningDataException e) {
            // What hygiene dropped is often why too little is left.
            throw notes.isEmpty() ? e : new TuningDataException(e.getMessage() + "; " + String.join("; ", notes), e);
        }
        List<List<Sample>> fitAndSelection = stratified(split.train(), config.valFraction(), run(bundle), config.seed() + 1);
        List<Sample> rehearsal = List.of();
        List<Sample> anchorSelection = List.of();
        List<Sample> guard = anchors;
        if (!anchors.isEmpty()) {
            List<List<Sample>> rest = stratified(anchors, 1 - ANCHOR_REHEARSAL_SHARE, 1, config.seed() + 2);
            rehearsal = rest.get(1);
            List<List<Sample>> selAndGuard = stratified(rest.get(0),
                    ANCHOR_SELECTION_SHARE / (1 - ANCHOR_REHEARSAL_SHARE), 1, config.seed() + 3);
            anchorSelection = selAndGuard.get(0);
            guard = selAndGuard.get(1);
        }
        if (rehearsalNeeded(config) && rehearsal.isEmpty()) {
            throw new TuningDataException("rehearsal_ratio=" + config.rehearsalRatio() + " but bundle "
                    + bundle.dir() + " has no anchor/ set; set rehearsal_ratio=0 or ship anchors");
        }
        TuneData d = new TuneData(fitAndSelection.get(1), fitAndSelection.get(0), split.validation(), rehearsal,
                anchorSelection, guard, labels, notes);
        d.noteImbalance();
        return d;
    }

    private static boolean rehearsalNeeded(TuningConfig config) {
        return config.rehearsalRatio() > 0 && !config.searches("rehearsal_ratio");
    }

    /**
     * The label most frequent in the training data (fit and selection; never validation), or -1
     * when the training data has a single class.
     */
    int mostFrequentTrainingLabel() {
        int[] counts = counts(fit);
        int[] sel = counts(selection);
        int best = 0;
        int present = 0;
        for (int c = 0; c < counts.length; c++) {
            counts[c] += sel[c];
            present += counts[c] > 0 ? 1 : 0;
            best = counts[c] > counts[best] ? c : best;
        }
        return present < 2 ? -1 : best;
    }

    /** True when neither training nor validation data hold a sample of class {@code positive}. */
    boolean negativeOnly(int positive) {
        return counts(fit)[positive] == 0 && counts(selection)[positive] == 0 && counts(validation)[positive] == 0;
    }

    int[] counts(List<Sample> samples) {
        int[] counts = new int[labels.size()];
        samples.forEach(s -> counts[s.label()]++);
        return counts;
    }

    Map<String, Integer> perClass(List<Sample> samples) {
        int[] counts = counts(samples);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] > 0) {
                out.put(labels.get(c), counts[c]);
            }
        }
        return out;
    }

    /**
     * The fit split with the rarer classes repeated (in a seeded order) until every present class
     * has as many rows as the largest, when the imbalance exceeds {@link #IMBALANCE_RATIO}.
     */
    Samples balancedFit(Samples fit) {
        int[] counts = new int[labels.size()];
        for (int i = 0; i < fit.size(); i++) {
            counts[fit.label(i)]++;
        }
        int max = balanceTarget(counts);
        if (max < 0) {
            return fit;
        }
        List<float[]> rows = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] == 0) {
                continue;
            }
            List<Integer> ofClass = new ArrayList<>();
            for (int i = 0; i < fit.size(); i++) {
                if (fit.label(i) == c) {
                    ofClass.add(i);
                }
            }
            for (int k = 0; k < max; k++) {
                rows.add(fit.row(ofClass.get(k % ofClass.size())));
                ys.add(c);
            }
        }
        return Samples.classification(rows.toArray(float[][]::new), ys.stream().mapToInt(Integer::intValue).toArray());
    }

    private void noteImbalance() {
        int[] counts = counts(fit);
        int max = balanceTarget(counts);
        if (max >= 0) {
            int min = Arrays.stream(counts).filter(c -> c > 0).min().orElse(0);
            notes.add("classes are imbalanced (" + min + " to " + max + " training samples per class): the rarer "
                    + "classes are oversampled to " + max + " each");
        }
    }

    /** The largest class count when the present classes are more than IMBALANCE_RATIO apart, else -1. */
    private static int balanceTarget(int[] counts) {
        int max = Arrays.stream(counts).max().orElse(0);
        int min = Arrays.stream(counts).filter(c -> c > 0).min().orElse(0);
        return max > IMBALANCE_RATIO * min ? max : -1;
    }

    /**
     * Splits off a seeded, stratified {@code share} of each class (first) from the rest (second),
     * in whole runs of {@code run} consecutive files ({@link #takeRuns}).
     */
    private static List<List<Sample>> stratified(List<Sample> samples, double share, int run, long seed) {
        Random random = new Random(seed);
        Map<Integer, List<Sample>> byClass = new java.util.TreeMap<>();
        for (Sample s : samples) {
            byClass.computeIfAbsent(s.label(), k -> new ArrayList<>()).add(s);
        }
        List<Sample> taken = new ArrayList<>();
        List<Sample> rest = new ArrayList<>();
        for (List<Sample> ofClass : byClass.values()) {
            int k = ofClass.size() < 2 ? 0 : Math.max(1, (int) Math.round(ofClass.size() * share));
            List<List<Sample>> parts = takeRuns(ofClass, Math.min(k, ofClass.size() - 1), run, random);
            taken.addAll(parts.get(0));
            rest.addAll(parts.get(1));
        }
        return List.of(List.copyOf(taken), List.copyOf(rest));
    }

    /**
     * Runs of a sensor's files for the splits: the {@link BlockAlarm#WINDOWS} windows
     * a deck-level alarm averages for a detector over sensor windows, else single files. A
     * sensor's consecutive windows share their weather, traffic and wind; a window held out
     * beside its neighbours in training is not unseen, and a decision made on it is optimistic
     * (measured on a finite-element deck: healthy windows of unseen years scored 0.4-0.8 log-odds
     * higher than the held-out windows of a split by single windows).
     */
    static int run(ModelBundle bundle) {
        return SiteCalibration.applies(bundle.manifest()) ? BlockAlarm.WINDOWS : 1;
    }

    /**
     * About {@code count} of {@code ofClass} taken in whole runs of {@code run} files consecutive in
     * name order (the order a node numbers them in), the runs in a seeded random order (first),
     * and the rest (second): runs are taken while the taken part is more than half a run short of
     * {@code count}, at least one and never the last one left. With runs of one file, or a class
     * too small for two runs, the first {@code count} of a seeded shuffle of single files.
     */
    static List<List<Sample>> takeRuns(List<Sample> ofClass, int count, int run, Random random) {
        List<Sample> inOrder = new ArrayList<>(ofClass);
        if (run > 1 && inOrder.size() >= 2 * run) {
            inOrder.sort(java.util.Comparator.comparing(s -> s.file().getFileName().toString()));
        } else {
            run = 1;
        }
        List<List<Sample>> runs = new ArrayList<>();
        for (int i = 0; i < inOrder.size(); i += run) {
            runs.add(inOrder.subList(i, Math.min(inOrder.size(), i + run)));
        }
        Collections.shuffle(runs, random);
        List<Sample> taken = new ArrayList<>();
        List<Sample> rest = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            List<Sample> r = runs.get(i);
            boolean lastLeft = run > 1 && i == runs.size() - 1 && rest.isEmpty();
            boolean take = count > 0 && !lastLeft && (taken.isEmpty() || taken.size() + r.size() / 2 < count);
            (take ? taken : rest).addAll(r);
        }
        return List.of(taken, rest);
    }

    private static SampleDirectory scan(Path dir, List<String> labels) {
        try {
            return SampleDirectory.scan(dir, labels);
        } catch (IllegalArgumentException e) {
            throw new TuningDataException(e.getMessage(), e);
        }
    }

    /** Content hashes seen so far, in priority order of the parts they were first seen in. */
    private static final class Hashes {
        private final Map<String, String> seenIn = new HashMap<>();

        List<Sample> unique(List<Sample> samples, String part, List<String> notes) {
            List<Sample> out = new ArrayList<>();
            Map<String, Integer> dropped = new LinkedHashMap<>();
            for (Sample s : samples) {
                String h = sha256(s.file());
                String first = seenIn.putIfAbsent(h, part);
                if (first == null) {
                    out.add(s);
                } else {
                    dropped.merge(first, 1, Integer::sum);
                }
            }
            dropped.forEach((where, count) -> notes.add(count + " " + part + " file(s) dropped: "
                    + (part.equals(where) ? "byte-identical duplicates within the " + part + " data"
                    : "byte-identical to " + where + " files (a sample may be in one part only)")));
            return List.copyOf(out);
        }
    }

    static String sha256(Path file) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
