package dev.plateau.tuning;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The fine-tune report's chart: losses, selection accuracy and the two stability indicators
 * (share of predictions unchanged, weights moved) per epoch, the kept epoch and the stop marked.
 */
final class Chart {
    private static final int W = 720;
    private static final int H = 260;
    private static final int PAD = 48;

    private Chart() {}

    static String svg(List<EpochRecord> epochs, int bestEpoch, String stopReason) {
        StringBuilder svg = new StringBuilder();
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"")
                .append(3 * H + 60).append("\" font-family=\"sans-serif\" font-size=\"12\">\n")
                .append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        panel(svg, 0, "loss", epochs, bestEpoch, stopReason,
                List.of(new Series("train loss", "#1f77b4", EpochRecord::trainLoss),
                        new Series("selection loss", "#d62728", EpochRecord::valLoss)));
        panel(svg, H + 30, "selection accuracy", epochs, bestEpoch, stopReason,
                List.of(new Series("selection accuracy", "#2ca02c", EpochRecord::valAccuracy)));
        panel(svg, 2 * (H + 30), "convergence: predictions unchanged, weights moved (relative)", epochs, bestEpoch,
                stopReason, List.of(new Series("predictions unchanged", "#9467bd", EpochRecord::unchangedPredictions),
                        new Series("weights moved", "#ff7f0e", EpochRecord::weightChange)));
        return svg.append("</svg>\n").toString();
    }

    private record Series(String name, String colour, ToDoubleFunction<EpochRecord> value) {}

    private static void panel(StringBuilder svg, int top, String title, List<EpochRecord> epochs, int bestEpoch,
                              String stopReason, List<Series> series) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (EpochRecord e : epochs) {
                double v = s.value().applyAsDouble(e);
                if (Double.isFinite(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        if (!Double.isFinite(min)) {
            min = 0;
            max = 1;
        }
        if (max - min < 1e-9) {
            max = min + 1;
        }
        int n = Math.max(1, epochs.size());
        double lo = min;
        double hi = max;
        java.util.function.IntToDoubleFunction x = i -> PAD + (W - 2.0 * PAD) * (n == 1 ? 0.5 : (double) i / (n - 1));
        java.util.function.DoubleUnaryOperator y = v -> top + H - PAD + 10 - (H - 2.0 * PAD) * (v - lo) / (hi - lo);
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>%n", PAD, top + 20, title));
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>%n",
                PAD, y.applyAsDouble(lo), W - PAD, y.applyAsDouble(lo)));
        svg.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"%.1f\">%.3g</text><text x=\"4\" y=\"%.1f\">%.3g</text>%n",
                y.applyAsDouble(hi), hi, y.applyAsDouble(lo), lo));
        int legend = 0;
        for (Series s : series) {
            StringBuilder points = new StringBuilder();
            for (int i = 0; i < epochs.size(); i++) {
                double v = s.value().applyAsDouble(epochs.get(i));
                if (Double.isFinite(v)) {
                    points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x.applyAsDouble(i), y.applyAsDouble(v)));
                }
            }
            svg.append(String.format(Locale.ROOT,
                    "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n", s.colour(), points));
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>%n",
                    W - PAD - 160, top + 20 + 14 * legend++, s.colour(), s.name()));
        }
        for (int i = 0; i < epochs.size(); i++) {
            if (epochs.get(i).epoch() == bestEpoch) {
                svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                        + "stroke=\"black\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\">kept: epoch %d</text>%n",
                        x.applyAsDouble(i), top + 28, x.applyAsDouble(i), top + H - PAD + 10,
                        x.applyAsDouble(i) + 4, top + 40, bestEpoch));
            }
        }
        if (!epochs.isEmpty()) {
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">stop: %s</text>%n",
                    x.applyAsDouble(epochs.size() - 1), top + H - PAD + 28, escape(stopReason)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">epoch 1..%d</text>%n", PAD, top + H - PAD + 28, n));
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
