package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.List;

/**
 * Builds a site's novelty score into a two-class graph with plain ONNX ops, so the output stays
 * the manifest's labels and every tool measures the calibrated model the same way:
 *
 * <pre>
 *   d2 = || (embedding - mean) . M ||^2          squared Mahalanobis distance (M M^T = precision)
 *   n  = beta * (d2 / tau - 1)                    novelty as log-odds: 0 at the threshold
 *   z  = logit[positive] - logit[other]           the head's own log-odds
 *   output[positive] = max(z, n), output[other] = 0
 * </pre>
 *
 * A window unlike this site's normal is flagged even when the head, trained on other sites,
 * would call it normal.
 */
public final class NoveltyGraph {
    private NoveltyGraph() {}

    /** The fitted score: {@code mean} [E], {@code projection} M row-major [E][E], threshold and slope. */
    public record Score(float[] mean, float[] projection, float tau, float beta) {
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
            mean = mean.clone();
            projection = projection.clone();
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
            float[] out = new float[2];
            out[positive] = (float) Math.max(z, n);
            return out;
        }
    }

    /**
     * A copy of {@code model} whose output {@code outputTensor} is the novelty-calibrated logits.
     *
     * @param positive index of the class novelty argues for (the manifest's {@code positive})
     */
    public static byte[] append(byte[] model, String embeddingTensor, String outputTensor, int positive, Score score) {
        if (positive != 0 && positive != 1) {
            throw new IllegalArgumentException("novelty: needs a two-class model, positive index " + positive);
        }
        OnnxMl.ModelProto proto;
        try {
            proto = OnnxMl.ModelProto.parseFrom(model);
        } catch (InvalidProtocolBufferException e) {
            throw new GraphException("not an ONNX model (" + model.length + " bytes): " + e.getMessage(), e);
        }
        OnnxMl.GraphProto.Builder graph = proto.getGraph().toBuilder();
        String head = "novelty/head_" + outputTensor;
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
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("keepdims")
                        .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1)));
        node(graph, "Mul", "novelty/scale", List.of("novelty/d2", "novelty/slope"), "novelty/scaled");
        node(graph, "Sub", "novelty/shift", List.of("novelty/scaled", "novelty/offset"), "novelty/score");
        node(graph, "MatMul", "novelty/head_log_odds", List.of(head, "novelty/to_log_odds"), "novelty/z");
        node(graph, "Max", "novelty/either", List.of("novelty/z", "novelty/score"), "novelty/log_odds");
        node(graph, "MatMul", "novelty/logits", List.of("novelty/log_odds", "novelty/spread"), outputTensor);
        return proto.toBuilder().setGraph(graph).build().toByteArray();
    }

    private static void node(OnnxMl.GraphProto.Builder graph, String op, String name, List<String> inputs, String output) {
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output));
    }
}
