package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a site's novelty score into a two-class graph with plain ONNX ops, so the output stays
 * the manifest's labels and every tool measures the calibrated model the same way:
 *
 * <pre>
 *   d2 = || (features - mean) . M ||^2           squared Mahalanobis distance (M M^T = precision)
 *   n  = beta * (d2 / tau - 1)                    novelty as log-odds: 0 at the threshold
 *   u  = slope . sum_d relu(x . W_d + b_d) - offset   optional, added to n: one-sided evidence, e.g.
 *                                                 how far a mode's frequency fell below the site's
 *   z  = logit[positive] - logit[other]           the head's own log-odds
 *   output[positive] = max(z, n + u), output[other] = 0
 * </pre>
 *
 * The features are the head's embedding or, for an accelerometer window, the site's
 * {@link ModalFeatures}. A window unlike this site's normal is flagged even when the head,
 * trained on other sites, would call it normal. {@link #strip} takes all of it out again, so a
 * calibrated model can be calibrated anew.
 */
public final class NoveltyGraph {
    private static final String PREFIX = "novelty/";

    private NoveltyGraph() {}

    /**
     * The fitted score: {@code mean} [E], {@code projection} M row-major [E][E], threshold and
     * slope; optionally a one-sided <em>drop</em> term over D chosen features, {@code dropWeights}
     * [E][D] row-major and {@code dropBias} [D]: {@code slope . sum_d relu(x . W_d + b_d) - offset}
     * is added to the novelty (null weights: none).
     */
    public record Score(float[] mean, float[] projection, float tau, float beta, float[] dropWeights,
                        float[] dropBias, float dropSlope, float dropOffset) {
        public Score {
            int e = mean.length;
            if (e < 1 || projection.length != e * e) {
                throw new IllegalArgumentException("novelty: expected a mean of E values and an E x E projection, found "
                        + e + " and " + projection.length);
            }
            if (!(tau > 0) || !Float.isFinite(tau) || !(beta > 0) || !Float.isFinite(beta)) {
                throw new IllegalArgumentException("novelty: tau and beta must be finite and > 0, found " + tau
                        + " and " + beta);
            }
            if (dropWeights != null && (dropBias == null || dropBias.length < 1
                    || dropWeights.length != e * dropBias.length || !Float.isFinite(dropSlope)
                    || !Float.isFinite(dropOffset))) {
                throw new IllegalArgumentException("novelty: a drop term needs E x D weights, D biases and a finite "
                        + "slope and offset, found " + dropWeights.length + " weights, "
                        + (dropBias == null ? 0 : dropBias.length) + " biases, slope " + dropSlope + ", offset "
                        + dropOffset);
            }
            mean = mean.clone();
            projection = projection.clone();
            dropWeights = dropWeights == null ? null : dropWeights.clone();
            dropBias = dropBias == null ? null : dropBias.clone();
        }

        public Score(float[] mean, float[] projection, float tau, float beta) {
            this(mean, projection, tau, beta, null, null, 0f, 0f);
        }

        /** This score with a drop term added. */
        public Score withDrop(float[] weights, float[] bias, float slope, float offset) {
            return new Score(mean, projection, tau, beta, weights, bias, slope, offset);
        }

        /** The drop term's sum of rectified parts for one row, before slope and offset. */
        public double drop(float[] x) {
            int e = mean.length;
            int d = dropBias.length;
            double sum = 0;
            for (int k = 0; k < d; k++) {
                double v = dropBias[k];
                for (int i = 0; i < e; i++) {
                    v += x[i] * (double) dropWeights[i * d + k];
                }
                sum += Math.max(0, v);
            }
            return sum;
        }

        /** The squared distance of one embedding, as the graph computes it. */
        public double distance2(float[] embedding) {
            int e = mean.length;
            double sum = 0;
            for (int j = 0; j < e; j++) {
                double y = 0;
                for (int i = 0; i < e; i++) {
                    y += (embedding[i] - mean[i]) * (double) projection[i * e + j];
                }
                sum += y * y;
            }
            return sum;
        }

        /** The calibrated two-class logits for the head's {@code logits}, as the graph computes them. */
        public float[] apply(float[] logits, float[] embedding, int positive) {
            double z = logits[positive] - logits[1 - positive];
            double n = beta * (distance2(embedding) / tau - 1);
            if (dropWeights != null) {
                n += dropSlope * drop(embedding) - dropOffset;
            }
            float[] out = new float[2];
            out[positive] = (float) Math.max(z, n);
            return out;
        }
    }

    /** What the score measures the distance on. */
    public sealed interface Features {
        /** The tensor the score reads. */
        String tensor();

        /** Adds the nodes that compute {@link #tensor()}, if any. */
        void append(OnnxMl.GraphProto.Builder graph);
    }

    /** A tensor the graph already has, such as the head's embedding. */
    public record Existing(String tensor) implements Features {
        @Override
        public void append(OnnxMl.GraphProto.Builder graph) {}
    }

    /** The site's modal features of the raw accelerometer window {@code input} [N, 3, length]. */
    public record Modal(String input, int length, double sampleRateHz, List<ModalFeatures.Band> bands)
            implements Features {
        public Modal {
            bands = List.copyOf(bands);
        }

        @Override
        public String tensor() {
            return ModalFeatures.OUTPUT;
        }

        @Override
        public void append(OnnxMl.GraphProto.Builder graph) {
            ModalFeatures.append(graph, input, length, sampleRateHz, bands);
        }

        /** A copy of {@code model} that also outputs the features, for fitting the score on them. */
        public byte[] exposedIn(byte[] model) {
            OnnxMl.ModelProto proto = HeadGraph.parse(model);
            OnnxMl.GraphProto.Builder graph = proto.getGraph().toBuilder();
            append(graph);
            byte[] withNodes = proto.toBuilder().setGraph(graph).build().toByteArray();
            return HeadGraph.withEmbeddingOutput(withNodes, tensor());
        }
    }

    /**
     * A copy of {@code model} whose output {@code outputTensor} is the novelty-calibrated logits.
     *
     * @param positive index of the class novelty argues for (the manifest's {@code positive})
     */
    public static byte[] append(byte[] model, Features features, String outputTensor, int positive, Score score) {
        if (positive != 0 && positive != 1) {
            throw new IllegalArgumentException("novelty: needs a two-class model, positive index " + positive);
        }
        OnnxMl.ModelProto proto = HeadGraph.parse(model);
        OnnxMl.GraphProto.Builder graph = proto.getGraph().toBuilder();
        features.append(graph);
        String embeddingTensor = features.tensor();
        String head = headOutput(outputTensor);
        boolean renamed = false;
        for (OnnxMl.NodeProto.Builder node : graph.getNodeBuilderList()) {
            for (int i = 0; i < node.getOutputCount(); i++) {
                if (node.getOutput(i).equals(outputTensor)) {
                    node.setOutput(i, head);
                    renamed = true;
                }
            }
        }
        if (!renamed) {
            throw new GraphException("novelty: no node produces the output '" + outputTensor + "'");
        }
        int e = score.mean().length;
        float[] toLogOdds = new float[2];
        toLogOdds[positive] = 1;
        toLogOdds[1 - positive] = -1;
        float[] spread = new float[2];
        spread[positive] = 1;
        graph.addInitializer(FloatTensors.create("novelty/mean", List.of((long) e), score.mean()));
        graph.addInitializer(FloatTensors.create("novelty/projection", List.of((long) e, (long) e), score.projection()));
        graph.addInitializer(FloatTensors.create("novelty/slope", List.of(1L), new float[] {score.beta() / score.tau()}));
        graph.addInitializer(FloatTensors.create("novelty/offset", List.of(1L), new float[] {score.beta()}));
        graph.addInitializer(FloatTensors.create("novelty/to_log_odds", List.of(2L, 1L), toLogOdds));
        graph.addInitializer(FloatTensors.create("novelty/spread", List.of(1L, 2L), spread));
        node(graph, "Sub", "novelty/center", List.of(embeddingTensor, "novelty/mean"), "novelty/centered");
        node(graph, "MatMul", "novelty/whiten", List.of("novelty/centered", "novelty/projection"), "novelty/white");
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("ReduceSumSquare").setName("novelty/distance2")
                .addInput("novelty/white").addOutput("novelty/d2")
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axes")
                        .setType(OnnxMl.AttributeProto.AttributeType.INTS).addInts(1))
                .addAttribute(ModalFeatures.intAttribute("keepdims", 1)));
        node(graph, "Mul", "novelty/scale", List.of("novelty/d2", "novelty/slope"), "novelty/scaled");
        node(graph, "Sub", "novelty/shift", List.of("novelty/scaled", "novelty/offset"), "novelty/score");
        node(graph, "MatMul", "novelty/head_log_odds", List.of(head, "novelty/to_log_odds"), "novelty/z");
        List<String> arguments = new ArrayList<>(List.of("novelty/z", "novelty/score"));
        if (score.dropWeights() != null) {
            long d = score.dropBias().length;
            graph.addInitializer(FloatTensors.create("novelty/drop_weights", List.of((long) e, d), score.dropWeights()));
            graph.addInitializer(FloatTensors.create("novelty/drop_bias", List.of(d), score.dropBias()));
            graph.addInitializer(FloatTensors.create("novelty/drop_slope", List.of(1L), new float[] {score.dropSlope()}));
            graph.addInitializer(FloatTensors.create("novelty/drop_offset", List.of(1L),
                    new float[] {score.dropOffset()}));
            graph.addInitializer(ModalFeatures.ints("novelty/drop_axes", 1));
            node(graph, "MatMul", "novelty/drop_project", List.of(embeddingTensor, "novelty/drop_weights"),
                    "novelty/drop_projected");
            node(graph, "Add", "novelty/drop_shift", List.of("novelty/drop_projected", "novelty/drop_bias"),
                    "novelty/drop_shifted");
            node(graph, "Relu", "novelty/drop_excess", List.of("novelty/drop_shifted"), "novelty/drop_excess");
            graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("ReduceSum").setName("novelty/drop_sum")
                    .addInput("novelty/drop_excess").addInput("novelty/drop_axes").addOutput("novelty/drop_total")
                    .addAttribute(ModalFeatures.intAttribute("keepdims", 1)));
            node(graph, "Mul", "novelty/drop_scale", List.of("novelty/drop_total", "novelty/drop_slope"),
                    "novelty/drop_scaled");
            node(graph, "Sub", "novelty/drop_log_odds", List.of("novelty/drop_scaled", "novelty/drop_offset"),
                    "novelty/drop");
            node(graph, "Add", "novelty/both", List.of("novelty/score", "novelty/drop"), "novelty/evidence");
            arguments.set(1, "novelty/evidence");
        }
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Max").setName("novelty/either")
                .addAllInput(arguments).addOutput("novelty/log_odds"));
        node(graph, "MatMul", "novelty/logits", List.of("novelty/log_odds", "novelty/spread"), outputTensor);
        return proto.toBuilder().setGraph(graph).build().toByteArray();
    }

    /**
     * A copy of {@code model} without any calibration nodes ({@code novelty/*}, {@code modal/*}):
     * the head's own logits are {@code outputTensor} again. A model without them is returned as is.
     */
    public static byte[] strip(byte[] model, String outputTensor) {
        OnnxMl.ModelProto proto = HeadGraph.parse(model);
        OnnxMl.GraphProto.Builder graph = proto.getGraph().toBuilder();
        boolean calibrated = graph.getNodeList().stream().anyMatch(n -> calibration(n.getName()));
        if (!calibrated) {
            return model;
        }
        String head = headOutput(outputTensor);
        List<OnnxMl.NodeProto> kept = new ArrayList<>();
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            if (calibration(node.getName())) {
                continue;
            }
            OnnxMl.NodeProto.Builder b = node.toBuilder();
            for (int i = 0; i < b.getOutputCount(); i++) {
                if (b.getOutput(i).equals(head)) {
                    b.setOutput(i, outputTensor);
                }
            }
            kept.add(b.build());
        }
        List<OnnxMl.TensorProto> initializers = graph.getInitializerList().stream()
                .filter(t -> !calibration(t.getName())).toList();
        graph.clearNode().addAllNode(kept).clearInitializer().addAllInitializer(initializers);
        return proto.toBuilder().setGraph(graph).build().toByteArray();
    }

    private static boolean calibration(String name) {
        return name.startsWith(PREFIX) || name.startsWith(ModalFeatures.PREFIX);
    }

    private static String headOutput(String outputTensor) {
        return PREFIX + "head_" + outputTensor;
    }

    private static void node(OnnxMl.GraphProto.Builder graph, String op, String name, List<String> inputs, String output) {
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output));
    }
}
