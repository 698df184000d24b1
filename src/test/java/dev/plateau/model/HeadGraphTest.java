package dev.plateau.model;

import static dev.plateau.model.HeadRuns.assertRowsEqual;
import static dev.plateau.model.HeadRuns.forward;
import static dev.plateau.model.TestGraph.floats;
import static dev.plateau.model.TestGraph.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import dev.plateau.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeadGraphTest {
    private static final double TOLERANCE = 1e-5;

    /** {@code x [N, 2, 3] -> Flatten -> emb [N, 6]}, the backbone of most graphs here. */
    private static TestGraph flattened(long seed) {
        return new TestGraph(seed).input("x", -1, 2, 3)
                .node("Flatten", "flatten", List.of("x"), "emb", ints("axis", 1))
                .valueInfo("emb", -1, 6);
    }

    /**
     * {@code x [N, 6] -> MatMul(B0) -> Relu -> emb [N, 6] -> Gemm(W1 [6, 5], transB=0) -> Relu
     * -> MatMul(W2 [5, 3]) + Add(b2) -> y [N, 3]}: a backbone with weights of its own and a two-layer head.
     */
    private static byte[] deep() {
        return new TestGraph(4).input("x", -1, 6).output("y", -1, 3)
                .initializer("B0", true, 6, 6)
                .node("MatMul", "backbone/mm", List.of("x", "B0"), "h")
                .node("Relu", "backbone/relu", List.of("h"), "emb")
                .initializer("W1", false, 6, 5).initializer("b1", true, 5)
                .node("Gemm", "head/fc1", List.of("emb", "W1", "b1"), "z1", ints("transB", 0))
                .node("Relu", "head/relu", List.of("z1"), "a1")
                .initializer("W2", true, 5, 3).initializer("b2", true, 3)
                .node("MatMul", "head/fc2", List.of("a1", "W2"), "z2")
                .node("Add", "head/fc2/bias", List.of("z2", "b2"), "y")
                .build();
    }

    /** ORT's output {@code y} of the full model equals the Java head applied to Flatten(x). */
    private static void assertHeadMatchesOrt(byte[] model, List<HeadLayer> layers) throws OrtException {
        float[][] x = HeadRuns.random(new Random(7), 5, 6);
        float[][] actual = HeadRuns.run(model, "x", x, new long[] {2, 3}, "y").get("y");
        float[][] expected = new float[x.length][];
        for (int r = 0; r < x.length; r++) {
            expected[r] = forward(layers, x[r]);
        }
        assertRowsEqual(expected, actual, TOLERANCE);
    }

    private static String message(byte[] model, String embedding, String output) {
        return assertThrows(GraphException.class, () -> HeadGraph.read(model, embedding, output)).getMessage();
    }

    @Test
    void read_gemmTransB1_matchesOnnxRuntime() throws OrtException {
        byte[] model = flattened(1).output("y", -1, 4).initializer("W", true, 4, 6).initializer("b", true, 4)
                .node("Gemm", "fc", List.of("emb", "W", "b"), "y", ints("transB", 1)).build();

        HeadGraph head = HeadGraph.read(model, "emb", "y");

        assertEquals(List.of("Dense[fc, 4x6]"), head.layers().stream().map(Object::toString).toList());
        assertEquals(6, head.embeddingWidth());
        assertHeadMatchesOrt(model, head.layers());
    }

    @Test
    void read_gemmTransB0FloatData_matchesOnnxRuntime() throws OrtException {
        byte[] model = flattened(2).output("y", -1, 4).initializer("W", false, 6, 4).initializer("b", false, 4)
                .node("Gemm", "fc", List.of("emb", "W", "b"), "y", ints("transB", 0)).build();

        HeadGraph head = HeadGraph.read(model, "emb", "y");

        assertEquals(List.of("Dense[fc, 4x6]"), head.layers().stream().map(Object::toString).toList());
        assertHeadMatchesOrt(model, head.layers());
    }

    @Test
    void read_gemmAlphaBeta_foldsThemIntoWeights() throws OrtException {
        byte[] model = flattened(3).output("y", -1, 4).initializer("W", true, 4, 6).initializer("b", true, 1, 4)
                .node("Gemm", "fc", List.of("emb", "W", "b"), "y", ints("transB", 1), floats("alpha", 0.5f),
                        floats("beta", -2f)).build();

        assertHeadMatchesOrt(model, HeadGraph.read(model, "emb", "y").layers());
    }

    @Test
    void read_matMulAdd_matchesOnnxRuntime() throws OrtException {
        byte[] model = flattened(4).output("y", -1, 4).initializer("W", true, 6, 4).initializer("b", true, 4)
                .node("MatMul", "fc", List.of("emb", "W"), "z")
                .node("Add", "fc/bias", List.of("b", "z"), "y").build();

        HeadGraph head = HeadGraph.read(model, "emb", "y");

        assertEquals(List.of("Dense[fc, 4x6]"), head.layers().stream().map(Object::toString).toList());
        assertHeadMatchesOrt(model, head.layers());
    }

    @Test
    void read_gemmWithoutBiasAndMatMulWithoutAdd_haveZeroBiases() throws OrtException {
        byte[] model = flattened(5).output("y", -1, 3).initializer("W1", true, 5, 6).initializer("W2", true, 5, 3)
                .node("Gemm", "fc1", List.of("emb", "W1"), "z1", ints("transB", 1))
                .node("MatMul", "fc2", List.of("z1", "W2"), "y").build();

        List<HeadLayer> layers = HeadGraph.read(model, "emb", "y").layers();

        for (HeadLayer layer : layers) {
            assertArrayEquals(new float[layer.outputs()], ((HeadLayer.Dense) layer).bias(), 0f);
        }
        assertHeadMatchesOrt(model, layers);
    }

    @Test
    void read_weightFromConstantNode_matchesOnnxRuntime() throws OrtException {
        byte[] model = flattened(6).output("y", -1, 4).constant("W", 4, 6).constant("b", 4)
                .node("Gemm", "fc", List.of("emb", "W", "b"), "y", ints("transB", 1)).build();

        assertHeadMatchesOrt(model, HeadGraph.read(model, "emb", "y").layers());
    }

    @Test
    void read_twoDenseWithRelu_matchesOnnxRuntime() throws OrtException {
        byte[] model = deep();

        HeadGraph head = HeadGraph.read(model, "emb", "y");

        assertEquals(List.of(new HeadLayer.Relu("head/relu", 5)), head.layers().subList(1, 2));
        assertEquals("[Dense[head/fc1, 5x6], Relu[name=head/relu, size=5], Dense[head/fc2, 3x5]]",
                head.layers().toString());
        float[][] x = HeadRuns.random(new Random(8), 5, 6);
        Map<String, float[][]> out = HeadRuns.run(head.withEmbeddingOutput(), "x", x, new long[] {6}, "emb", "y");
        float[][] expected = new float[x.length][];
        for (int r = 0; r < x.length; r++) {
            expected[r] = forward(head.layers(), out.get("emb")[r]);
        }
        assertRowsEqual(expected, out.get("y"), TOLERANCE);
    }

    @Test
    void read_sigmoidInChain_failsNamingNodeOpAndSupportedOps() {
        byte[] model = flattened(7).output("y", -1, 4).initializer("W", true, 4, 6)
                .node("Gemm", "fc", List.of("emb", "W"), "z", ints("transB", 1))
                .node("Sigmoid", "act", List.of("z"), "y").build();

        assertEquals("head: node 'act' (Sigmoid) is not supported between 'emb' and 'y'; supported: Gemm, MatMul+Add, Relu",
                message(model, "emb", "y"));
    }

    @Test
    void read_batchNormalizationInChain_failsNamingIt() {
        byte[] model = flattened(8).output("y", -1, 4).initializer("W", true, 4, 6)
                .initializer("s", true, 4).initializer("o", true, 4).initializer("m", true, 4).initializer("v", true, 4)
                .node("Gemm", "fc", List.of("emb", "W"), "z", ints("transB", 1))
                .node("BatchNormalization", "bn", List.of("z", "s", "o", "m", "v"), "y").build();

        assertTrue(message(model, "emb", "y").startsWith("head: node 'bn' (BatchNormalization) is not supported"));
    }

    @Test
    void read_addOfNonConstantAfterMatMul_failsNamingTheAdd() {
        byte[] model = flattened(9).output("y", -1, 6).initializer("W", true, 6, 6)
                .node("Relu", "r", List.of("x"), "skip")
                .node("Flatten", "f2", List.of("skip"), "skip_flat", ints("axis", 1))
                .node("MatMul", "fc", List.of("emb", "W"), "z")
                .node("Add", "residual", List.of("z", "skip_flat"), "y").build();

        assertTrue(message(model, "emb", "y").startsWith("head: node 'residual' (Add) is not supported between"));
    }

    @Test
    void read_unknownEmbedding_failsListingCandidates() {
        byte[] model = deep();

        assertEquals("head: embedding tensor 'embedding' is not in the graph; candidates: [emb, x, a1]",
                message(model, "embedding", "y"));
    }

    @Test
    void read_unknownOutput_failsListingGraphOutputs() {
        assertEquals("head: output tensor 'logits' is not in the graph; graph outputs: [y]",
                message(deep(), "emb", "logits"));
    }

    @Test
    void read_outputNotDownstreamOfEmbedding_fails() {
        assertEquals("head: the chain from 'a1' ends at 'y', which no node reads, before reaching output 'z1'",
                message(deep(), "a1", "z1"));
    }

    @Test
    void read_embeddingFeedsTwoNodes_failsNamingBoth() {
        byte[] model = flattened(10).output("y", -1, 4).output("side", -1, 6).initializer("W", true, 4, 6)
                .node("Gemm", "fc", List.of("emb", "W"), "y", ints("transB", 1))
                .node("Relu", "side", List.of("emb"), "side").build();

        assertEquals("head: tensor 'emb' feeds 2 nodes, node 'fc' (Gemm), node 'side' (Relu); the head must be a"
                + " single chain from 'emb' to 'y'", message(model, "emb", "y"));
    }

    @Test
    void read_weightComputedByNode_failsNamingTheProducer() {
        byte[] model = flattened(11).output("y", -1, 4).initializer("Wt", true, 6, 4)
                .node("Transpose", "tr", List.of("Wt"), "W")
                .node("Gemm", "fc", List.of("emb", "W"), "y", ints("transB", 1)).build();

        assertEquals("head: node 'fc' (Gemm) takes its weight 'W' from node 'tr' (Transpose); weights must be float"
                + " initializers or Constant nodes", message(model, "emb", "y"));
    }

    @Test
    void read_gemmTransA_fails() {
        byte[] model = flattened(12).output("y", -1, 4).initializer("W", true, 4, 6)
                .node("Gemm", "fc", List.of("emb", "W"), "y", ints("transA", 1), ints("transB", 1)).build();

        assertEquals("head: node 'fc' (Gemm) has transA=1; only transA=0 is supported", message(model, "emb", "y"));
    }

    @Test
    void read_declaredEmbeddingWidthDisagreesWithWeights_fails() {
        byte[] model = new TestGraph(13).input("x", -1, 6).output("y", -1, 4).valueInfo("emb", -1, 7)
                .node("Relu", "r", List.of("x"), "emb").initializer("W", true, 4, 6)
                .node("Gemm", "fc", List.of("emb", "W"), "y", ints("transB", 1)).build();

        assertEquals("head: embedding 'emb' has shape [N, 7] in the graph, but the head's layers make it [N, 6]",
                message(model, "emb", "y"));
    }

    @Test
    void read_weightSharedOutsideHead_failsNamingTheOtherReader() {
        byte[] model = new TestGraph(14).input("x", -1, 6).output("y", -1, 6).initializer("W", true, 6, 6)
                .node("MatMul", "backbone", List.of("x", "W"), "emb")
                .node("MatMul", "fc", List.of("emb", "W"), "y").build();

        assertEquals("head: weight 'W' of node 'fc' (MatMul) is also read by node 'backbone' (MatMul); a shared"
                + " weight cannot be fine-tuned and written back alone", message(model, "emb", "y"));
    }

    @Test
    void read_notAnOnnxModel_fails() {
        GraphException e = assertThrows(GraphException.class,
                () -> HeadGraph.read(new byte[] {1, 2, 3, 4}, "emb", "y"));

        assertTrue(e.getMessage().startsWith("not an ONNX model"), e.getMessage());
    }

    @Test
    void withEmbeddingOutput_tinyModel_returnsFlattenOfInput() throws OrtException {
        byte[] model = TinyModels.model(TinyModels.gray4x4());
        HeadGraph head = HeadGraph.read(model, "embedding", "logits");
        float[][] images = HeadRuns.random(new Random(15), 3, 16);

        float[][] embedding = HeadRuns.run(head.withEmbeddingOutput(), "image", images, new long[] {1, 4, 4},
                "embedding").get("embedding");

        assertEquals(16, head.embeddingWidth());
        assertRowsEqual(images, embedding, 0);
    }

    @Test
    void withEmbeddingOutput_staticOnGraphWithoutDeclaredShape_runsInOnnxRuntime() throws OrtException {
        byte[] model = HeadGraph.withEmbeddingOutput(TinyModels.model(TinyModels.gray4x4()), "embedding");
        float[][] images = HeadRuns.random(new Random(16), 2, 16);

        Map<String, float[][]> out = HeadRuns.run(model, "image", images, new long[] {1, 4, 4}, "embedding", "logits");

        assertRowsEqual(images, out.get("embedding"), 0);
        assertEquals(3, out.get("logits")[0].length);
    }

    @Test
    void withEmbeddingOutput_declaredTensor_movesItFromValueInfoToOutputs() throws Exception {
        OnnxMl.GraphProto graph = OnnxMl.ModelProto.parseFrom(HeadGraph.read(deep(), "emb", "y").withEmbeddingOutput())
                .getGraph();

        assertEquals(List.of("y", "emb"), graph.getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).toList());
        assertTrue(graph.getValueInfoList().stream().noneMatch(v -> v.getName().equals("emb")));
        assertEquals("[?, 6]", HeadChain.shape(graph.getOutput(1).getType().getTensorType().getShape().getDimList()));
    }

    @Test
    void withEmbeddingOutput_unknownTensor_fails() {
        byte[] model = TinyModels.model(TinyModels.gray4x4());

        GraphException e = assertThrows(GraphException.class, () -> HeadGraph.withEmbeddingOutput(model, "features"));

        assertEquals("head: embedding tensor 'features' is not in the graph; candidates: [embedding, image]",
                e.getMessage());
    }

    @Test
    void withHead_newWeights_matchOrtAndKeepEverythingElse() throws Exception {
        byte[] original = deep();
        HeadGraph head = HeadGraph.read(original, "emb", "y");
        List<HeadLayer> tuned = HeadRuns.perturbed(head.layers(), 17);

        byte[] rewritten = head.withHead(tuned);

        HeadGraph reread = HeadGraph.read(rewritten, "emb", "y");
        assertEquals(tuned, reread.layers());
        float[][] x = HeadRuns.random(new Random(18), 5, 6);
        Map<String, float[][]> out = HeadRuns.run(reread.withEmbeddingOutput(), "x", x, new long[] {6}, "emb", "y");
        float[][] expected = new float[x.length][];
        for (int r = 0; r < x.length; r++) {
            expected[r] = forward(tuned, out.get("emb")[r]);
        }
        assertRowsEqual(expected, out.get("y"), TOLERANCE);

        OnnxMl.ModelProto before = OnnxMl.ModelProto.parseFrom(original);
        OnnxMl.ModelProto after = OnnxMl.ModelProto.parseFrom(rewritten);
        assertEquals(before.getGraph().getNodeList(), after.getGraph().getNodeList());
        assertEquals(before.getOpsetImportList(), after.getOpsetImportList());
        assertEquals(before.getMetadataPropsList(), after.getMetadataPropsList());
        assertEquals(before.getGraph().getValueInfoList(), after.getGraph().getValueInfoList());
        Map<String, OnnxMl.TensorProto> was = initializers(before);
        Map<String, OnnxMl.TensorProto> is = initializers(after);
        assertEquals(was.keySet(), is.keySet());
        assertEquals(was.get("B0").toByteString(), is.get("B0").toByteString());
        for (String name : List.of("W1", "b1", "W2", "b2")) {
            assertEquals(was.get(name).getDimsList(), is.get(name).getDimsList(), name);
            assertEquals(was.get(name).hasRawData(), is.get(name).hasRawData(), name);
            assertNotEquals(was.get(name), is.get(name), name);
        }
    }

    @Test
    void withHead_transB0_writesWeightBackAsInByOut() throws Exception {
        byte[] model = flattened(19).output("y", -1, 4).initializer("W", true, 6, 4)
                .node("Gemm", "fc", List.of("emb", "W"), "y", ints("transB", 0)).build();
        HeadGraph head = HeadGraph.read(model, "emb", "y");
        float[] w = new float[24];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }

        byte[] rewritten = head.withHead(List.of(new HeadLayer.Dense("fc", 6, 4, w, new float[4])));

        OnnxMl.TensorProto stored = OnnxMl.ModelProto.parseFrom(rewritten).getGraph().getInitializer(0);
        assertEquals(List.of(6L, 4L), stored.getDimsList());
        float[] values = FloatTensors.read(stored, "W");
        // Stored [in][out]: element (i=1, o=2) is W[o=2][i=1] = 2 * 6 + 1.
        assertEquals(13f, values[1 * 4 + 2], 0f);
        assertEquals(List.of("emb", "W"), OnnxMl.ModelProto.parseFrom(rewritten).getGraph().getNode(1).getInputList());
    }

    @Test
    void withHead_alphaBeta_roundTripsThroughOnnxRuntime() throws OrtException {
        byte[] model = flattened(20).output("y", -1, 4).initializer("W", false, 4, 6).initializer("b", false, 4)
                .node("Gemm", "fc", List.of("emb", "W", "b"), "y", ints("transB", 1), floats("alpha", 0.25f),
                        floats("beta", 3f)).build();
        List<HeadLayer> tuned = HeadRuns.perturbed(HeadGraph.read(model, "emb", "y").layers(), 21);

        byte[] rewritten = HeadGraph.read(model, "emb", "y").withHead(tuned);

        assertHeadMatchesOrt(rewritten, tuned);
    }

    @Test
    void withHead_nonZeroBiasWhereGraphHasNone_addsBiasThatOnnxRuntimeApplies() throws Exception {
        byte[] model = flattened(22).output("y", -1, 3).initializer("W1", true, 5, 6).initializer("W2", true, 5, 3)
                .node("Gemm", "fc1", List.of("emb", "W1"), "z1", ints("transB", 1))
                .node("Relu", "relu", List.of("z1"), "a1")
                .node("MatMul", "fc2", List.of("a1", "W2"), "y").build();
        List<HeadLayer> tuned = HeadRuns.perturbed(HeadGraph.read(model, "emb", "y").layers(), 23);

        byte[] rewritten = HeadGraph.read(model, "emb", "y").withHead(tuned);

        assertHeadMatchesOrt(rewritten, tuned);
        assertEquals(tuned, HeadGraph.read(rewritten, "emb", "y").layers());
        assertEquals("Flatten, Gemm, Relu, MatMul, Add", OnnxMl.ModelProto.parseFrom(rewritten).getGraph()
                .getNodeList().stream().map(OnnxMl.NodeProto::getOpType).collect(Collectors.joining(", ")));
    }

    @Test
    void withHead_zeroBiasWhereGraphHasNone_keepsGraphAsItWas() throws Exception {
        byte[] model = flattened(24).output("y", -1, 3).initializer("W", true, 6, 3)
                .node("MatMul", "fc", List.of("emb", "W"), "y").build();
        HeadGraph head = HeadGraph.read(model, "emb", "y");

        byte[] rewritten = head.withHead(head.layers());

        assertEquals(OnnxMl.ModelProto.parseFrom(model), OnnxMl.ModelProto.parseFrom(rewritten));
    }

    @Test
    void withHead_layersOfAnotherShape_failsListingBoth() {
        HeadGraph head = HeadGraph.read(deep(), "emb", "y");
        List<HeadLayer> wrong = List.of(new HeadLayer.Dense("head/fc1", 6, 3, new float[18], new float[3]));

        GraphException e = assertThrows(GraphException.class, () -> head.withHead(wrong));

        assertEquals("head: the new layers do not fit this graph's head: expected [Dense 'head/fc1' 5x6,"
                + " Relu 'head/relu' 5, Dense 'head/fc2' 3x5], found [Dense 'head/fc1' 3x6]", e.getMessage());
    }

    @Test
    void withHead_nonFiniteWeight_fails() {
        HeadGraph head = HeadGraph.read(deep(), "emb", "y");
        List<HeadLayer> layers = new ArrayList<>(head.layers());
        float[] w = new float[15];
        w[4] = Float.NaN;
        layers.set(2, new HeadLayer.Dense("head/fc2", 5, 3, w, new float[3]));

        GraphException e = assertThrows(GraphException.class, () -> head.withHead(layers));

        assertEquals("head: layer 'head/fc2' has a non-finite weight (NaN at index 4); refusing to write it",
                e.getMessage());
    }

    @Test
    void read_bundle_usesManifestTensors(@TempDir Path dir) throws Exception {
        ModelBundle bundle = ModelBundle.open(TinyModels.bundle(dir.resolve("tiny"), TinyModels.gray4x4()));

        HeadGraph head = HeadGraph.read(bundle);

        assertEquals("embedding", head.embeddingTensor());
        assertInstanceOf(HeadLayer.Dense.class, head.layers().get(0));
        assertEquals(new HeadLayer.Dense("head", 16, 3, flat(TinyModels.gray4x4().weights()), new float[3]),
                head.layers().get(0));
    }

    private static float[] flat(float[][] m) {
        float[] f = new float[m.length * m[0].length];
        for (int r = 0; r < m.length; r++) {
            System.arraycopy(m[r], 0, f, r * m[0].length, m[0].length);
        }
        return f;
    }

    private static Map<String, OnnxMl.TensorProto> initializers(OnnxMl.ModelProto model) {
        return model.getGraph().getInitializerList().stream()
                .collect(Collectors.toMap(OnnxMl.TensorProto::getName, t -> t));
    }
}
