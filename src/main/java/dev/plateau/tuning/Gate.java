package dev.plateau.tuning;

import dev.plateau.tuning.TuneReport.ClassChange;
import dev.plateau.tuning.TuneReport.Comparison;
import dev.plateau.tuning.TuneReport.GateDecision;
import dev.plateau.tuning.TuneReport.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The acceptance gate: a candidate is kept only when the data prove it better and prove it has
 * not forgotten, each at {@code gate_confidence}.
 *
 * <ol>
 *   <li><b>Better:</b> on the validation split (never trained or selected on) the paired gain in
 *       accuracy is significant by the exact sign test on the discordant pairs, and its lower
 *       confidence bound is at least {@code min_gain}.</li>
 *   <li><b>Not forgetting:</b> on the anchor guard (never trained or selected on) the upper
 *       confidence bound of the accuracy lost is below {@code max_forgetting} (a non-inferiority
 *       test), and no class loses more than {@code max_class_forgetting}.</li>
 * </ol>
 *
 * Both sides of each comparison come from {@link Scored}, the one evaluator.
 */
final class Gate {
    private Gate() {}

    /**
     * @param guardBefore the current model on the anchor guard, or null when the bundle has none
     * @param chance the most frequent training label, which a candidate must also beat: a gain
     *     that knowing the label frequencies alone gives is not learning from the inputs; -1 when
     *     the training data has a single class (a calibration on normal data)
     */
    static GateDecision decide(Scored valBefore, Scored valAfter, Scored guardBefore, Scored guardAfter,
                               List<String> labels, int chance, TuningConfig config) {
        return decide(valBefore, valAfter, null, guardBefore, guardAfter, labels, chance, config);
    }

    /**
     * @param validationRuns the run of consecutive samples (a sensor's minute) each validation
     *     sample belongs to, or null when they are independent: "better" must then also hold by
     *     the sign-flip test over runs ({@link PairedTest#clusteredSignP}) and its lower bound by
     *     the runs' spread ({@link PairedTest#clusteredLowerBound}), since samples of one run
     *     agree more than independent ones and a test that counts them singly overstates.
     */
    static GateDecision decide(Scored valBefore, Scored valAfter, int[] validationRuns, Scored guardBefore,
                               Scored guardAfter, List<String> labels, int chance, TuningConfig config) {
        double confidence = config.gateConfidence();
        double alpha = 1 - confidence;
        // Better: discordant pairs on the validation split.
        PairedTest gain = PairedTest.of(valBefore.correct(), valAfter.correct());
        double gainLow = gain.lowerBound(confidence);
        double gainP = gain.signTestP();
        String runs = "";
        if (validationRuns != null) {
            gainP = Math.max(gainP, PairedTest.clusteredSignP(valBefore.correct(), valAfter.correct(), validationRuns));
            gainLow = Math.min(gainLow, PairedTest.clusteredLowerBound(valBefore.correct(), valAfter.correct(),
                    validationRuns, confidence));
            runs = String.format(Locale.ROOT, " in %d runs of consecutive samples (tested by run)",
                    java.util.Arrays.stream(validationRuns).distinct().count());
        }
        Comparison better = new Comparison("validation", gain.n(), valBefore.accuracy(), valAfter.accuracy(),
                gain.difference(), gain.improved(), gain.worsened(), gainLow, gain.upperBound(confidence), gainP,
                config.minGain());
        // Not forgetting: the same paired machinery on the guard, as a loss (before minus after).
        Comparison kept = null;
        List<ClassChange> perClass = List.of();
        if (guardBefore != null) {
            PairedTest guard = PairedTest.of(guardBefore.correct(), guardAfter.correct());
            kept = new Comparison("anchor guard", guard.n(), guardBefore.accuracy(), guardAfter.accuracy(),
                    -guard.difference(), guard.improved(), guard.worsened(), -guard.upperBound(confidence),
                    -guard.lowerBound(confidence), guard.nonInferiorityP(config.maxForgetting()),
                    config.maxForgetting());
            perClass = perClass(guardBefore, guardAfter, labels, config);
        }
        int nonFinite = valAfter.nonFinite() + (guardAfter == null ? 0 : guardAfter.nonFinite());
        String pct = String.format(Locale.ROOT, "%.0f %%", confidence * 100);

        if (nonFinite > 0) {
            return new GateDecision(Verdict.NON_FINITE, nonFinite + " outputs of the candidate are not finite; "
                    + "nothing changes", confidence, better, kept, perClass, nonFinite);
        }
        boolean shownBetter = gainP <= alpha && gainLow >= config.minGain();
        if (!shownBetter) {
            String figures = String.format(Locale.ROOT,
                    "gain %+.3f on %d validation samples%s (%d improved, %d worsened) is %s: p = %.3g, "
                            + "at least %+.3f with %s confidence, min_gain %.3f", gain.difference(), gain.n(), runs,
                    gain.improved(), gain.worsened(), gainP > alpha ? "not significant"
                            : "significant but not shown to reach min_gain", gainP, gainLow, pct, config.minGain());
            String also = forgotten(kept, perClass, config);
            figures += also == null ? "" : "; it also " + also;
            // A point gain above min_gain that the data cannot confirm is a matter of sample size.
            return gain.difference() > config.minGain()
                    ? new GateDecision(Verdict.CANNOT_TELL, "cannot tell with this little data: " + figures
                            + "; more validation samples could show it", confidence, better, kept, perClass, 0)
                    : new GateDecision(Verdict.NOT_BETTER, "not shown to be better: " + figures, confidence, better,
                            kept, perClass, 0);
        }
        if (chance >= 0) {
            boolean[] constant = new boolean[valAfter.n()];
            for (int i = 0; i < constant.length; i++) {
                constant[i] = valAfter.labels()[i] == chance;
            }
            PairedTest overChance = PairedTest.of(constant, valAfter.correct());
            if (overChance.signTestP() > alpha) {
                return new GateDecision(Verdict.NOT_BETTER, String.format(Locale.ROOT,
                        "not shown to be better than always answering '%s', the most frequent training label: "
                                + "accuracy %.3f against %.3f on %d validation samples (%d right only for the "
                                + "candidate, %d only for the constant) is not significant: p = %.3g; the gain over "
                                + "the current model (%+.3f) may come from the label frequencies alone",
                        labels.get(chance), valAfter.accuracy(), accuracy(constant), overChance.n(),
                        overChance.improved(), overChance.worsened(), overChance.signTestP(), gain.difference()),
                        confidence, better, kept, perClass, 0);
            }
        }
        String forgot = forgotten(kept, perClass, config);
        if (forgot != null) {
            return new GateDecision(Verdict.FORGOT, forgot, confidence, better, kept, perClass, 0);
        }
        String betterText = String.format(Locale.ROOT,
                "on %d validation samples%s the candidate is right on %d the current model gets wrong and wrong on "
                        + "%d it gets right: accuracy %.3f -> %.3f, a gain of at least %+.3f with %s confidence "
                        + "(p = %.2g, min_gain %.3f)", gain.n(), runs, gain.improved(), gain.worsened(), better.before(),
                better.after(), gainLow, pct, gainP, config.minGain());
        if (kept == null) {
            return new GateDecision(Verdict.ACCEPTED, "accepted: " + betterText + "; the bundle has no anchor set, "
                    + "so forgetting was not checked", confidence, better, null, perClass, 0);
        }
        if (!(kept.upperBound() < config.maxForgetting())) {
            return new GateDecision(Verdict.CANNOT_TELL, String.format(Locale.ROOT,
                    "cannot tell with this little data whether it forgot: anchor accuracy %.3f -> %.3f on %d guard "
                            + "samples (%d lost, %d gained), a loss of up to %.3f with %s confidence, not below "
                            + "max_forgetting %.3f (p = %.3g); %s", kept.before(), kept.after(), kept.n(),
                    kept.lost(), kept.gained(), kept.upperBound(), pct, config.maxForgetting(),
                    kept.pValue(), betterText), confidence, better, kept, perClass, 0);
        }
        return new GateDecision(Verdict.ACCEPTED, String.format(Locale.ROOT,
                "accepted: %s; on %d anchor guard samples it loses at most %.3f with %s confidence (%.3f measured, "
                        + "%d lost, %d gained; max_forgetting %.3f, p = %.2g) and no class more than %.3f",
                betterText, kept.n(), kept.upperBound(), pct, kept.difference(), kept.lost(), kept.gained(),
                config.maxForgetting(), kept.pValue(), config.maxClassForgetting()), confidence, better, kept,
                perClass, 0);
    }

    /** Why the candidate counts as having forgotten the original task, or null when it does not. */
    private static String forgotten(Comparison kept, List<ClassChange> perClass, TuningConfig config) {
        if (kept != null && kept.difference() > config.maxForgetting()) {
            return String.format(Locale.ROOT, "forgot the original task: anchor accuracy %.3f -> %.3f on %d guard "
                            + "samples, a loss of %.3f (%d lost, %d gained) above max_forgetting %.3f", kept.before(),
                    kept.after(), kept.n(), kept.difference(), kept.lost(), kept.gained(), config.maxForgetting());
        }
        for (ClassChange c : perClass) {
            if (c.collapsed()) {
                return String.format(Locale.ROOT, "forgot class '%s': its anchor accuracy fell %.3f -> %.3f on %d "
                                + "guard samples (%d lost, %d gained), a loss of %.3f above max_class_forgetting %.3f",
                        c.label(), c.before(), c.after(), c.n(), c.lost(), c.gained(), c.before() - c.after(),
                        config.maxClassForgetting());
            }
        }
        return null;
    }

    private static List<ClassChange> perClass(Scored before, Scored after, List<String> labels, TuningConfig config) {
        List<ClassChange> out = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            boolean[] b = before.correctOf(c);
            if (b.length == 0) {
                continue;
            }
            PairedTest t = PairedTest.of(b, after.correctOf(c));
            double beforeAcc = accuracy(b);
            double afterAcc = accuracy(after.correctOf(c));
            // No class may collapse: a loss above the bound that is also significant (more lost
            // than gained by the sign test), so that a handful of guard samples cannot refuse alone.
            boolean significant = new PairedTest(t.n(), t.worsened(), t.improved()).signTestP()
                    <= 1 - config.gateConfidence();
            out.add(new ClassChange(labels.get(c), t.n(), beforeAcc, afterAcc, t.worsened(), t.improved(),
                    -t.lowerBound(config.gateConfidence()),
                    beforeAcc - afterAcc > config.maxClassForgetting() && significant));
        }
        return List.copyOf(out);
    }

    private static double accuracy(boolean[] correct) {
        int right = 0;
        for (boolean c : correct) {
            right += c ? 1 : 0;
        }
        return (double) right / correct.length;
    }
}
