package dev.plateau.tuning;

import dev.plateau.inference.GraphRunner;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.LogOdds;
import dev.plateau.inference.SampleDirectory.Sample;
import dev.plateau.model.HeadGraph;
import dev.plateau.model.HeadLayer;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModalFeatures;
import dev.plateau.model.ModelBundle;
import dev.plateau.model.NoveltyGraph;
import dev.plateau.tuning.CandidateWriter.Candidate;
import dev.plateau.tuning.TuneReport.GateDecision;
import dev.plateau.tuning.TuneReport.SiteReport;
import dev.plateau.tuning.TuneReport.Verdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Calibration of a two-class vibration detector to its site on the site's healthy windows only.
 *
 * <p>Healthy data cannot teach a detector what damage looks like, only where this site's healthy
 * windows sit. So the calibrated model is the trained head with its operating point set to this
 * site ({@link #HEAD_FALSE_ALARMS} of its healthy windows over the line), combined with a novelty
 * score on the site's {@link ModalFeatures} (made blind to all modes moving together, as
 * temperature moves them) plus the one-sided evidence of a mode's frequency falling:
 * {@code output[positive] = max(head log-odds, novelty + drop)}.
 * Both sides of every comparison are the whole graphs, the current one and the candidate, run by
 * ONNX Runtime on the same inputs, so a bundle calibrated before is judged with its own score.
 *
 * <p>The gate judges on the validation windows and on {@link Proxies} made from them, synthetic
 * damage the site's own data allow. It refuses as <b>blinded</b> a candidate whose log-odds do not
 * rise significantly from a proxy's source window to the proxy, or rise significantly less than
 * the current model's (in standard deviations of each model's healthy log-odds).
 */
final class SiteCalibration implements AutoCloseable {
    /** Proxies made from each validation window, with independent shifts. */
    static final int PROXIES_PER_WINDOW = 2;
    /** Share of the site's healthy windows the calibrated head alone may call damaged. */
    static final double HEAD_FALSE_ALARMS = 0.01;
    /** Standard deviations below the healthy mean a mode's frequency must fall before it counts as a drop. */
    static final double DROP_MARGIN = 0.5;

    private final ModelBundle bundle;
    private final TuningConfig config;
    private final int positive;
    private final int length;
    private final double rate;
    private final GraphRunner current;
    private final List<GraphRunner> opened = new ArrayList<>();
    private final float[][] fit;
    private final float[][] selection;
    private final float[][] validation;
    private final float[][] guard;
    /**
     * Fit, selection and validation windows, concatenated in that order, by their files' names:
     * time order, as a node numbers its windows.
     */
    private final int[] timeOrder;
    /** The fit windows in time order, cut into the runs of {@link BlockAlarm#WINDOWS} the splits keep whole. */
    private final int[][] fitRuns;
    /** The run (of {@link BlockAlarm#WINDOWS} consecutive windows in time order) of each validation window. */
    private final int[] validationRuns;
    private final List<ModalFeatures.Band> bands;
    private final List<ModalFeatures.Band> proxyBands;
    private final float[][] proxies;

    /** True for a two-class detector over three-axis windows, the kind this calibration is for. */
    static boolean applies(Manifest manifest) {
        Manifest.Input in = manifest.input();
        return manifest.output().labels().size() == 2 && manifest.output().positive() != null
                && in.decode() == Manifest.Decode.CSV_WINDOW && in.shape().size() == 2 && in.shape().get(0) == 3;
    }

    SiteCalibration(ModelBundle bundle, TuneData data, TuningConfig config) {
        this.bundle = bundle;
        this.config = config;
        Manifest m = bundle.manifest();
        this.positive = m.output().positiveIndex();
        this.length = m.input().shape().get(1);
        this.rate = m.input().sampleRateHz();
        try {
            this.current = GraphRunner.open(m, Files.readAllBytes(bundle.modelFile()), "the current model");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + bundle.modelFile(), e);
        }
        opened.add(current);
        this.fit = raw(data.fit(), "training data");
        this.selection = raw(data.selection(), "selection split of the training data");
        this.validation = raw(data.validation(), "validation data");
        List<Sample> all = new ArrayList<>(data.fit());
        all.addAll(data.selection());
        all.addAll(data.validation());
        this.timeOrder = inTimeOrder(all);
        this.fitRuns = runs(inTimeOrder(data.fit()), BlockAlarm.WINDOWS);
        this.validationRuns = runOf(runs(inTimeOrder(data.validation()), BlockAlarm.WINDOWS), validation.length);
        this.guard = raw(data.guard().stream().filter(s -> s.label() == positive).toList(), "anchor guard");
        this.bands = ModalBands.find(concat(fit, selection), length, rate);
        List<ModalFeatures.Band> widened = new ArrayList<>();
        for (int k = 0; k < bands.size(); k++) {
            widened.add(ModalBands.proxyBand(bands, k));
        }
        this.proxyBands = List.copyOf(widened);
        this.proxies = Proxies.of(validation, PROXIES_PER_WINDOW, length, rate, proxyBands, config.seed() + 7);
    }

    /**
     * A candidate with, for the deck-level threshold, the fit windows' log-odds each from a
     * novelty score fitted without its minute (in fit order; empty without a novelty score).
     */
    record Calibrated(Candidate candidate, double[] fitOutOfFold) {}

    /** The trained head at this site's operating point, with the modal novelty score when {@code novelty}. */
    Calibrated candidate(HeadGraph head, List<HeadLayer> trained, boolean novelty) {
        // Only ever quieter: a head already quieter than the target on this site stays as trained.
        double[] trainedLogOdds = logOdds(run(head.withHead(trained), "the trained head"), selection);
        double shift = Math.max(0, NoveltyFit.quantile(trainedLogOdds, 1 - HEAD_FALSE_ALARMS));
        byte[] file = head.withHead(shifted(trained, shift));
        NoveltyGraph.Score score = null;
        double[] outOfFold = new double[0];
        if (novelty) {
            NoveltyGraph.Modal modal = new NoveltyGraph.Modal(bundle.manifest().input().tensor(), length, rate, bands);
            GraphRunner features = run(modal.exposedIn(file), "the modal features");
            float[][] normal = features(features, fit);
            float[][] unseen = features(features, selection);
            score = novelty(normal, unseen);
            outOfFold = outOfFold(logOdds(run(file, "the calibrated head"), fit), normal, unseen);
            file = NoveltyGraph.append(file, modal, head.outputTensor(), positive, score);
        }
        GraphRunner candidate = run(file, "the candidate");
        return new Calibrated(new Candidate(file, score, (rows, n) -> candidate.run(rows, n, head.outputTensor()), shift),
                outOfFold);
    }

    /** The novelty score with its drop term, fitted on {@code normal} and set on {@code unseen}. */
    private NoveltyGraph.Score novelty(float[][] normal, float[][] unseen) {
        float[][] shuffled = normal.clone();
        Collections.shuffle(Arrays.asList(shuffled), new Random(config.seed()));
        NoveltyGraph.Score score = withDrop(NoveltyFit.fit(shuffled, temperature(bands.size())), normal, bands.size(),
                gravityChannel(fit));
        return atFalseAlarms(score, unseen, HEAD_FALSE_ALARMS);
    }

    /**
     * Each fit window's calibrated log-odds with the novelty score fitted on the other minutes
     * (leave one run out), as the candidate scores a minute it never saw; empty when the fit
     * has fewer than two runs or a fold is too small to fit.
     *
     * @param head the calibrated head's log-odds of the fit windows
     */
    private double[] outOfFold(double[] head, float[][] normal, float[][] unseen) {
        if (fitRuns.length < 2) {
            return new double[0];
        }
        double[] out = new double[normal.length];
        float[] logits = new float[2];
        for (int[] run : fitRuns) {
            boolean[] left = new boolean[normal.length];
            for (int i : run) {
                left[i] = true;
            }
            List<float[]> rest = new ArrayList<>();
            for (int i = 0; i < normal.length; i++) {
                if (!left[i]) {
                    rest.add(normal[i]);
                }
            }
            NoveltyGraph.Score fold;
            try {
                fold = novelty(rest.toArray(float[][]::new), unseen);
            } catch (TuningDataException e) {
                return new double[0];
            }
            for (int i : run) {
                logits[positive] = (float) head[i];
                logits[1 - positive] = 0;
                float[] z = fold.apply(logits, normal[i], positive);
                out[i] = z[positive] - z[1 - positive];
            }
        }
        return out;
    }

    /**
     * Adds the one-sided evidence that damage leaves and temperature mostly does not in the same
     * amount: a mode's frequency below this site's healthy spread, {@code sum_k relu(-(f_k -
     * mean_k) / sd_k - DROP_MARGIN)} over the modes, standardised on the training windows (mean 0,
     * one log-odds unit per standard deviation), so it adds up over the windows an alarm averages.
     * Each mode counts by its healthy share of the vertical axis (the one gravity is on): cracked
     * girders soften bending, so the modes that move the deck up and down are the ones whose drop
     * is evidence; a sway or a traffic peak in the lateral axis counts little.
     *
     * @param vertical the channel gravity is on
     */
    private static NoveltyGraph.Score withDrop(NoveltyGraph.Score score, float[][] normal, int modes, int vertical) {
        int e = normal[0].length;
        float[] weights = new float[e * modes];
        float[] bias = new float[modes];
        for (int k = 0; k < modes; k++) {
            double mean = 0;
            for (float[] row : normal) {
                mean += row[k] / normal.length;
            }
            double variance = 0;
            for (float[] row : normal) {
                variance += (row[k] - mean) * (row[k] - mean) / Math.max(1, normal.length - 1);
            }
            double sd = Math.max(Math.sqrt(variance), 1e-6);
            // Features are [log f (modes), log share per channel (modes each)]: this mode's vertical share.
            double share = 0;
            for (float[] row : normal) {
                share += Math.exp(row[modes * (1 + vertical) + k]) / normal.length;
            }
            // relu(w . v) = w . relu(v) for w >= 0: the weight goes into both parts.
            weights[k * modes + k] = (float) (-share / sd);
            bias[k] = (float) (share * (mean / sd - DROP_MARGIN));
        }
        NoveltyGraph.Score unit = score.withDrop(weights, bias, 1f, 0f);
        double[] sums = Arrays.stream(normal).mapToDouble(unit::drop).toArray();
        double mean = Arrays.stream(sums).average().orElse(0);
        double sd = Math.sqrt(Arrays.stream(sums).map(x -> (x - mean) * (x - mean)).sum()
                / Math.max(1, sums.length - 1));
        if (!(sd > 0)) {
            return score;
        }
        return score.withDrop(weights, bias, (float) (1 / sd), (float) (mean / sd));
    }

    /**
     * The score with its drop offset moved so that novelty plus drop is 0 at the {@code 1 -
     * rate} point of windows the fit did not see.
     */
    private static NoveltyGraph.Score atFalseAlarms(NoveltyGraph.Score score, float[][] unseen, double rate) {
        if (score.dropWeights() == null) {
            return score;
        }
        double[] evidence = new double[unseen.length];
        for (int i = 0; i < unseen.length; i++) {
            evidence[i] = score.beta() * (score.distance2(unseen[i]) / score.tau() - 1)
                    + score.dropSlope() * score.drop(unseen[i]) - score.dropOffset();
        }
        double at = NoveltyFit.quantile(evidence, 1 - rate);
        return score.withDrop(score.dropWeights(), score.dropBias(), score.dropSlope(), (float) (score.dropOffset() + at));
    }

    /** Indices of {@code files} ordered by the files' names. */
    private static int[] inTimeOrder(List<Sample> files) {
        return java.util.stream.IntStream.range(0, files.size()).boxed()
                .sorted(Comparator.comparing(i -> files.get(i).file().getFileName().toString()))
                .mapToInt(Integer::intValue).toArray();
    }

    /** The run each of {@code size} indices is in. */
    private static int[] runOf(int[][] runs, int size) {
        int[] out = new int[size];
        for (int r = 0; r < runs.length; r++) {
            for (int i : runs[r]) {
                out[i] = r;
            }
        }
        return out;
    }

    /** {@code order} cut into consecutive runs of {@code n} (the last may be shorter). */
    private static int[][] runs(int[] order, int n) {
        int[][] out = new int[(order.length + n - 1) / n][];
        for (int r = 0; r < out.length; r++) {
            out[r] = Arrays.copyOfRange(order, r * n, Math.min(order.length, (r + 1) * n));
        }
        return out;
    }

    /** The channel whose mean is largest in magnitude over the windows: the one gravity is on. */
    private int gravityChannel(float[][] windows) {
        double[] sum = new double[3];
        for (float[] w : windows) {
            for (int c = 0; c < 3; c++) {
                for (int t = 0; t < length; t++) {
                    sum[c] += w[c * length + t];
                }
            }
        }
        int best = 0;
        for (int c = 1; c < 3; c++) {
            best = Math.abs(sum[c]) > Math.abs(sum[best]) ? c : best;
        }
        return best;
    }

    /** All log frequencies moving together, as temperature moves a deck's modes; the shares stay. */
    private static double[] temperature(int modes) {
        double[] t = new double[ModalFeatures.width(modes)];
        Arrays.fill(t, 0, modes, 1.0);
        return t;
    }

    private float[][] features(GraphRunner runner, float[][] windows) {
        int width = ModalFeatures.width(bands.size());
        float[] flat = runner.run(flatten(windows), windows.length, ModalFeatures.OUTPUT);
        float[][] rows = new float[windows.length][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return rows;
    }

    /** The validation windows as the candidate's rows, for the written file's check. */
    Samples validationRows() {
        return Samples.classification(validation, labels(validation.length, 1 - positive));
    }

    /** The gate's decision with the blinding guard first, and the site's figures for the report. */
    record Judged(GateDecision gate, SiteReport site) {}

    Judged judge(Calibrated calibrated, List<String> labels) {
        Candidate candidate = calibrated.candidate();
        Scored.Model before = (rows, n) -> current.run(rows, n, bundle.manifest().output().tensor());
        int negative = 1 - positive;
        // Better: fewer false alarms on the site's own healthy windows. The proxies judge blinding
        // only: a model that raises alarms everywhere "detects" them too.
        Samples val = validationRows();
        Scored valBefore = Scored.of(before, val);
        Scored valAfter = Scored.of(candidate.model(), val);
        float[][] rows = concat(validation, proxies);
        Samples withProxies = Samples.classification(rows, labels(rows.length, negative));
        Samples anchors = guard.length == 0 ? null : Samples.classification(guard, labels(guard.length, positive));
        double[] sBefore = logOdds(before, withProxies);
        double[] sAfter = logOdds(candidate.model(), withProxies);
        SiteReport.Blinding blinding = new BlindingGuard(validation.length, proxyBands.size(), config)
                .judge(sBefore, sAfter);
        SiteReport.Alarm alarm = BlockAlarm.threshold(unseenInTimeOrder(calibrated));
        SiteReport site = new SiteReport(bands.stream().map(b -> List.of(b.lowHz(), b.highHz())).toList(),
                proxyBands.stream().map(b -> List.of(b.lowHz(), b.highHz())).toList(), Proxies.MIN_SHIFT, Proxies.MAX_SHIFT,
                candidate.headShift(), HEAD_FALSE_ALARMS, blinding, alarm);
        if (blinding.blinded() && valAfter.nonFinite() == 0) {
            return new Judged(new GateDecision(Verdict.BLINDED, blinding.reason(), config.gateConfidence(), null,
                    null, List.of(), 0), site);
        }
        GateDecision gate = Gate.decide(valBefore, valAfter, validationRuns, anchors == null ? null
                        : Scored.of(before, anchors),
                anchors == null ? null : Scored.of(candidate.model(), anchors), labels, -1, config);
        return new Judged(gate, site);
    }

    /**
     * The log-odds of every calibration window from a candidate that never saw its minute, in time
     * order: the selection and validation windows' from the candidate, the fit windows' out of
     * fold; without those, the selection and validation windows alone.
     */
    private double[] unseenInTimeOrder(Calibrated calibrated) {
        double[] sel = logOdds(calibrated.candidate().model(), Samples.classification(selection,
                labels(selection.length, 1 - positive)));
        double[] val = logOdds(calibrated.candidate().model(), validationRows());
        double[] fitted = calibrated.fitOutOfFold();
        double[] all = new double[fit.length + sel.length + val.length];
        boolean[] known = new boolean[all.length];
        System.arraycopy(fitted, 0, all, 0, fitted.length);
        Arrays.fill(known, 0, fitted.length, true);
        System.arraycopy(sel, 0, all, fit.length, sel.length);
        System.arraycopy(val, 0, all, fit.length + sel.length, val.length);
        Arrays.fill(known, fit.length, all.length, true);
        return Arrays.stream(timeOrder).filter(i -> known[i]).mapToDouble(i -> all[i]).toArray();
    }

    private GraphRunner run(byte[] file, String what) {
        GraphRunner runner = GraphRunner.open(bundle.manifest(), file, what);
        opened.add(runner);
        return runner;
    }

    private double[] logOdds(GraphRunner runner, float[][] rows) {
        return logOdds((r, n) -> runner.run(r, n, bundle.manifest().output().tensor()),
                Samples.classification(rows, labels(rows.length, 0)));
    }

    /** The positive class's log-odds per row, as alarms average them ({@link LogOdds}). */
    private double[] logOdds(Scored.Model model, Samples rows) {
        float[] logits = model.logits(rows.data(), rows.size());
        double[] out = new double[rows.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = LogOdds.of(Arrays.copyOfRange(logits, 2 * i, 2 * i + 2), positive);
        }
        return out;
    }

    /** The head with its log-odds lowered by {@code shift}: half from each class's bias. */
    private List<HeadLayer> shifted(List<HeadLayer> layers, double shift) {
        List<HeadLayer> out = new ArrayList<>(layers);
        for (int i = out.size() - 1; i >= 0; i--) {
            if (out.get(i) instanceof HeadLayer.Dense d) {
                float[] bias = d.bias();
                bias[positive] -= (float) (shift / 2);
                bias[1 - positive] += (float) (shift / 2);
                out.set(i, new HeadLayer.Dense(d.name(), d.inputs(), d.outputs(), d.weight(), bias));
                return List.copyOf(out);
            }
        }
        throw new IllegalStateException("the head has no dense layer");
    }

    private float[][] raw(List<Sample> files, String what) {
        float[][] out = new float[files.size()][];
        List<String> rejected = new ArrayList<>();
        for (int i = 0; i < out.length; i++) {
            try {
                out[i] = current.input(files.get(i).file());
            } catch (InputRejectedException e) {
                rejected.add(e.getMessage());
            }
        }
        if (!rejected.isEmpty()) {
            throw new TuningDataException(what + ": " + rejected.size() + " of " + files.size()
                    + " files cannot be used: " + rejected.subList(0, Math.min(10, rejected.size())));
        }
        return out;
    }

    private static int[] labels(int n, int label) {
        int[] y = new int[n];
        Arrays.fill(y, label);
        return y;
    }

    private static float[][] concat(float[][] a, float[][] b) {
        float[][] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float[] flatten(float[][] rows) {
        int dim = rows[0].length;
        float[] out = new float[rows.length * dim];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * dim, dim);
        }
        return out;
    }

    @Override
    public void close() {
        opened.forEach(GraphRunner::close);
    }
}
