package dev.plateau.tuning;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.Prediction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * What a model version's inputs looked like when it was written or activated: per reference
 * sample its top-1 confidence, prediction entropy, predicted class and the head-input embedding
 * projected on the reference's first {@link #COMPONENTS} principal axes and whitened (unit
 * variance per axis). A live window is compared with these figures by four statistics
 * ({@link #statistics}); {@link #thresholds} gives each one's level for a false-alarm rate from
 * its distribution under "the window comes from the reference population".
 *
 * <p>Written beside a fine-tuned version (on its validation inputs, the new data it was judged
 * on) by the code that writes versions; for a version without one, computed from the version's
 * anchor set when it is loaded.
 */
public final class DriftReference {
    /** The file beside a version's manifest. */
    public static final String FILE = "drift-reference.json";
    /**
     * Principal axes of the embedding kept: enough to see a global change of the backbone's
     * features (brightness, noise, blur move the first few), few enough that a window of a few
     * hundred samples estimates their mean well and the chi-squared approximation holds.
     */
    public static final int COMPONENTS = 8;
    /** Fewer reference samples than this give figures too noisy to test a window against. */
    public static final int MIN_SAMPLES = 100;
    /** Spread given to a figure that does not vary over the reference (in its own units: probability, nats). */
    private static final double MIN_SD = 1e-3;
    /** Subspace iterations of the principal axes: the top 8 of 1,568 converge in far fewer. */
    private static final int POWER_ITERATIONS = 30;
    /** Pseudo-count per class of the reference class shares, so a class the reference never predicted has a share. */
    private static final double CLASS_PSEUDO_COUNT = 0.5;
    /** The four statistics a window is tested on; the false-alarm rate is split between them (Bonferroni). */
    public static final List<String> STATISTICS = List.of("confidence", "entropy", "classes", "embedding");
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One input's figures: top-1 confidence, entropy (nats), predicted class, whitened projection. */
    public record Row(double confidence, double entropy, int predicted, double[] z) {
        /** The input's squared Mahalanobis distance from the reference in the projection: how unusual it is alone. */
        public double distance() {
            double s = 0;
            for (double v : z) {
                s += v * v;
            }
            return s;
        }
    }

    /** The four statistics of a window, or the four levels they are compared with, in {@link #STATISTICS} order. */
    public record Figures(double confidence, double entropy, double classes, double embedding) {
        public double get(int i) {
            return switch (i) {
                case 0 -> confidence;
                case 1 -> entropy;
                case 2 -> classes;
                case 3 -> embedding;
                default -> throw new IndexOutOfBoundsException(i);
            };
        }
    }

    private final String basis;
    private final int classes;
    private final float[] mean;
    /** {@code COMPONENTS x width}: each axis divided by the square root of its variance. */
    private final float[][] axes;
    private final List<Row> rows;
    private final Moments confidence;
    private final Moments entropy;

    private DriftReference(String basis, int classes, float[] mean, float[][] axes, List<Row> rows) {
        this.basis = basis;
        this.classes = classes;
        this.mean = mean;
        this.axes = axes;
        this.rows = List.copyOf(rows);
        this.confidence = rows.isEmpty() ? null : Moments.of(rows.stream().mapToDouble(Row::confidence).toArray());
        this.entropy = rows.isEmpty() ? null : Moments.of(rows.stream().mapToDouble(Row::entropy).toArray());
    }

    /**
     * Fits the reference of a version on its inputs' embeddings and class probabilities.
     *
     * @param basis what the inputs were ({@code anchor}, {@code validation}), said in events
     * @throws TuningDataException when there are fewer than {@link #MIN_SAMPLES} inputs
     */
    public static DriftReference fit(String basis, List<float[]> embeddings, List<float[]> probabilities) {
        int n = embeddings.size();
        if (n < MIN_SAMPLES || probabilities.size() != n) {
            throw new TuningDataException("drift reference: needs at least " + MIN_SAMPLES + " inputs with their "
                    + "predictions, found " + n + " embeddings and " + probabilities.size() + " predictions");
        }
        int width = embeddings.get(0).length;
        int k = Math.min(COMPONENTS, Math.min(width, n - 1));
        float[] mean = new float[width];
        double[] sum = new double[width];
        for (float[] e : embeddings) {
            for (int i = 0; i < width; i++) {
                sum[i] += e[i];
            }
        }
        for (int i = 0; i < width; i++) {
            mean[i] = (float) (sum[i] / n);
        }
        double[][] x = new double[n][width];
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < width; i++) {
                x[s][i] = embeddings.get(s)[i] - mean[i];
            }
        }
        double[][] axes = principalAxes(x, k);
        float[][] scaled = new float[k][width];
        for (int a = 0; a < k; a++) {
            double var = 0;
            for (double[] row : x) {
                double p = dot(row, axes[a]);
                var += p * p;
            }
            var /= n - 1;
            // A constant axis (a dead feature space) contributes nothing rather than dividing by 0.
            double scale = var > 0 ? 1 / Math.sqrt(var) : 0;
            for (int i = 0; i < width; i++) {
                scaled[a][i] = (float) (axes[a][i] * scale);
            }
        }
        DriftReference shell = new DriftReference(basis, probabilities.get(0).length, mean, scaled, List.of());
        List<Row> rows = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            rows.add(shell.row(embeddings.get(s), probabilities.get(s)));
        }
        return new DriftReference(basis, shell.classes, mean, scaled, rows);
    }

    /**
     * The reference of the version {@code engine} serves (loaded with its embedding exposed) on
     * {@code files}, run one by one as inference runs them. An input the engine rejects is left
     * out and named in the result's {@code rejected}.
     */
    public static Measured measure(InferenceEngine engine, List<Path> files, String basis) {
        int width = engine.embeddingWidth().orElseThrow(() -> new IllegalArgumentException("drift reference: the "
                + "engine of " + engine.manifest().name() + " does not expose its embedding"));
        List<float[]> embeddings = new ArrayList<>();
        List<float[]> probabilities = new ArrayList<>();
        List<String> rejected = new ArrayList<>();
        for (Path file : files) {
            float[] e = new float[width];
            try {
                Prediction p = engine.infer(file, e);
                embeddings.add(e);
                probabilities.add(p.scores());
            } catch (InputRejectedException ex) {
                rejected.add(ex.getMessage());
            }
        }
        return new Measured(fit(basis, embeddings, probabilities), List.copyOf(rejected));
    }

    /** A measured reference, and the messages of the inputs left out. */
    public record Measured(DriftReference reference, List<String> rejected) {}

    /** The first {@code k} principal axes of the centred rows, by subspace iteration with Rayleigh-Ritz. */
    private static double[][] principalAxes(double[][] x, int k) {
        int width = x[0].length;
        int m = Math.min(width, 2 * k);
        Random random = new Random(0);
        double[][] q = new double[m][width];
        for (double[] v : q) {
            for (int i = 0; i < width; i++) {
                v[i] = random.nextGaussian();
            }
        }
        orthonormalise(q);
        for (int it = 0; it < POWER_ITERATIONS; it++) {
            q = covarianceTimes(x, q);
            orthonormalise(q);
        }
        // Rayleigh-Ritz: the small matrix Q^T C Q, diagonalised, rotates Q onto the axes.
        double[][] cq = covarianceTimes(x, q);
        double[][] small = new double[m][m];
        for (int a = 0; a < m; a++) {
            for (int b = 0; b < m; b++) {
                small[a][b] = dot(q[a], cq[b]);
            }
        }
        double[][] vectors = Jacobi.eigenvectorsByValue(small);
        double[][] out = new double[k][width];
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < m; b++) {
                for (int i = 0; i < width; i++) {
                    out[a][i] += vectors[a][b] * q[b][i];
                }
            }
        }
        return out;
    }

    /** {@code X^T X v} for each v (the covariance up to a factor, which orthonormalising removes). */
    private static double[][] covarianceTimes(double[][] x, double[][] vs) {
        double[][] out = new double[vs.length][x[0].length];
        for (double[] row : x) {
            for (int a = 0; a < vs.length; a++) {
                double p = dot(row, vs[a]);
                double[] o = out[a];
                for (int i = 0; i < row.length; i++) {
                    o[i] += p * row[i];
                }
            }
        }
        return out;
    }

    private static void orthonormalise(double[][] vs) {
        for (int a = 0; a < vs.length; a++) {
            for (int b = 0; b < a; b++) {
                double p = dot(vs[a], vs[b]);
                for (int i = 0; i < vs[a].length; i++) {
                    vs[a][i] -= p * vs[b][i];
                }
            }
            double norm = Math.sqrt(dot(vs[a], vs[a]));
            for (int i = 0; i < vs[a].length; i++) {
                vs[a][i] = norm > 0 ? vs[a][i] / norm : 0;
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** The figures of one input: its embedding projected, and its class probabilities summarised. */
    public Row row(float[] embedding, float[] probabilities) {
        if (embedding.length != mean.length || probabilities.length != classes) {
            throw new IllegalArgumentException("drift reference: an input of " + embedding.length + " embedding "
                    + "values and " + probabilities.length + " classes, expected " + mean.length + " and " + classes);
        }
        double[] z = new double[axes.length];
        for (int a = 0; a < axes.length; a++) {
            double s = 0;
            float[] axis = axes[a];
            for (int i = 0; i < mean.length; i++) {
                s += axis[i] * (embedding[i] - mean[i]);
            }
            z[a] = s;
        }
        int top = 0;
        double entropy = 0;
        for (int c = 0; c < classes; c++) {
            double p = probabilities[c];
            if (p > probabilities[top]) {
                top = c;
            }
            if (p > 0) {
                entropy -= p * Math.log(p);
            }
        }
        return new Row(probabilities[top], entropy, top, z);
    }

    /**
     * The window's statistics against the reference: its mean confidence's and mean entropy's
     * differences from the reference's in standard errors (absolute, skew-corrected); Pearson's chi-squared of its predicted
     * classes against the reference's class shares; and its mean projected embedding's squared
     * Mahalanobis distance from the reference mean times the window size (Hotelling's statistic
     * with the reference covariance).
     */
    public Figures statistics(List<Row> window) {
        int w = window.size();
        double conf = 0;
        double ent = 0;
        int[] counts = new int[classes];
        double[] zMean = new double[axes.length];
        for (Row r : window) {
            conf += r.confidence();
            ent += r.entropy();
            counts[r.predicted()]++;
            for (int a = 0; a < zMean.length; a++) {
                zMean[a] += r.z()[a];
            }
        }
        double[] share = classShares();
        double chi = 0;
        for (int c = 0; c < classes; c++) {
            double expected = w * share[c];
            chi += (counts[c] - expected) * (counts[c] - expected) / expected;
        }
        double hotelling = 0;
        for (int a = 0; a < zMean.length; a++) {
            double m = zMean[a] / w;
            hotelling += m * m;
        }
        return new Figures(Math.abs(standardised(conf / w, confidence, w)), Math.abs(standardised(ent / w, entropy, w)),
                chi, w * hotelling);
    }

    /**
     * A window mean as a standard normal value under the reference: its difference from the
     * reference mean in standard errors ({@code sd * sqrt(1/w + 1/n)}), corrected for the skew of
     * a mean of {@code w} skewed values by the inverse of the Cornish-Fisher expansion's first
     * term (confidences pile up near 1 with a long tail down, so a plain normal quantile
     * under-states how often a low window mean happens by chance).
     */
    private double standardised(double windowMean, Moments m, int w) {
        double x = (windowMean - m.mean()) / (m.sd() * Math.sqrt(1.0 / w + 1.0 / rows.size()));
        double skew = m.skew() / Math.sqrt(w);
        return x - (x * x - 1) * skew / 6;
    }

    /** Mean, standard deviation and skewness of one figure over the reference rows. */
    private record Moments(double mean, double sd, double skew) {
        static Moments of(double[] v) {
            double m = Arrays.stream(v).average().orElseThrow();
            double s2 = 0;
            double s3 = 0;
            for (double x : v) {
                s2 += (x - m) * (x - m);
                s3 += (x - m) * (x - m) * (x - m);
            }
            double sd = Math.sqrt(s2 / (v.length - 1));
            // A constant figure (every reference input at confidence 1) has no spread to compare with.
            double floor = sd > 0 ? sd : MIN_SD;
            return new Moments(m, floor, sd > 0 ? s3 / v.length / (sd * sd * sd) : 0);
        }
    }

    /**
     * The level of each statistic that a window of {@code window} reference-like inputs exceeds
     * with probability {@code falseAlarmRate / 4} (so the four together at most
     * {@code falseAlarmRate}): the two-sided normal quantile for the standardised mean confidence
     * and entropy (in standard errors), chi-squared with {@code classes - 1} and
     * {@link #COMPONENTS} degrees of freedom for the class and embedding statistics, widened by
     * {@code 1 + window / n} because the reference's own figures come from {@code n} samples,
     * not the whole population.
     */
    public Figures thresholds(int window, double falseAlarmRate) {
        double each = falseAlarmRate / STATISTICS.size();
        double inflation = 1 + (double) window / rows.size();
        double z = Normal.quantile(1 - each / 2);
        return new Figures(z, z, ChiSquared.quantile(1 - each, classes - 1) * inflation,
                ChiSquared.quantile(1 - each, axes.length) * inflation);
    }

    public double meanConfidence() {
        return confidence.mean();
    }

    public double meanEntropy() {
        return entropy.mean();
    }

    /** The reference's predicted-class shares, with {@link #CLASS_PSEUDO_COUNT} per class. */
    public double[] classShares() {
        double[] share = new double[classes];
        for (Row r : rows) {
            share[r.predicted()]++;
        }
        double total = rows.size() + CLASS_PSEUDO_COUNT * classes;
        for (int c = 0; c < classes; c++) {
            share[c] = (share[c] + CLASS_PSEUDO_COUNT) / total;
        }
        return share;
    }

    public String basis() {
        return basis;
    }

    public int samples() {
        return rows.size();
    }

    public int classes() {
        return classes;
    }

    public int embeddingWidth() {
        return mean.length;
    }

    /** The reference samples' rows, in the order they were fitted. */
    public List<Row> rows() {
        return rows;
    }

    // ---- the file ----------------------------------------------------------------------------

    /** Writes the reference to {@code file} through a temporary file and a rename. */
    public void write(Path file) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("v", FORMAT);
        root.put("basis", basis);
        root.put("classes", classes);
        ArrayNode m = root.putArray("mean");
        for (float v : mean) {
            m.add(v);
        }
        ArrayNode ax = root.putArray("axes");
        for (float[] axis : axes) {
            ArrayNode a = ax.addArray();
            for (float v : axis) {
                a.add(v);
            }
        }
        ArrayNode rs = root.putArray("rows");
        for (Row r : rows) {
            ArrayNode a = rs.addArray();
            a.add((float) r.confidence()).add((float) r.entropy()).add(r.predicted());
            for (double v : r.z()) {
                a.add((float) v);
            }
        }
        Path tmp = file.resolveSibling(".tmp-" + file.getFileName());
        JSON.writeValue(tmp.toFile(), root);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Reads a reference written by {@link #write}.
     *
     * @throws IOException when the file is not one, or its figures are inconsistent
     */
    public static DriftReference read(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        if (root == null || root.path("v").asInt() != FORMAT || !root.path("mean").isArray()
                || !root.path("axes").isArray() || !root.path("rows").isArray()) {
            throw new IOException(file.getFileName() + ": not a drift reference of format " + FORMAT);
        }
        int classes = root.path("classes").asInt();
        float[] mean = floats(root.get("mean"));
        float[][] axes = new float[root.get("axes").size()][];
        for (int a = 0; a < axes.length; a++) {
            axes[a] = floats(root.get("axes").get(a));
            if (axes[a].length != mean.length) {
                throw new IOException(file.getFileName() + ": axis " + a + " has " + axes[a].length + " values, the "
                        + "mean " + mean.length);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (JsonNode r : root.get("rows")) {
            if (r.size() != 3 + axes.length || r.get(2).asInt() < 0 || r.get(2).asInt() >= classes) {
                throw new IOException(file.getFileName() + ": a row is not [confidence, entropy, class, "
                        + axes.length + " projections] of " + classes + " classes");
            }
            double[] z = new double[axes.length];
            for (int a = 0; a < z.length; a++) {
                z[a] = r.get(3 + a).asDouble();
            }
            rows.add(new Row(r.get(0).asDouble(), r.get(1).asDouble(), r.get(2).asInt(), z));
        }
        if (rows.size() < MIN_SAMPLES || classes < 1) {
            throw new IOException(file.getFileName() + ": " + rows.size() + " rows of " + classes + " classes, "
                    + "expected at least " + MIN_SAMPLES + " rows");
        }
        return new DriftReference(root.path("basis").asText("unknown"), classes, mean, axes, rows);
    }

    private static float[] floats(JsonNode array) throws IOException {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            double v = array.get(i).asDouble(Double.NaN);
            if (!Double.isFinite(v)) {
                throw new IOException("a value is not a finite number");
            }
            out[i] = (float) v;
        }
        return out;
    }
}
