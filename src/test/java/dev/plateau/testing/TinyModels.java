package dev.plateau.testing;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes tiny, real ONNX bundles for tests: {@code input -> Flatten -> Gemm(W, b) -> output},
 * with weights the test chooses, so every output is known by hand.
 */
public final class TinyModels {
    private TinyModels() {}

    /** What to build; {@code weights} is classes x features (Gemm with transB = 1). */
    public record Spec(String name, String inputTensor, List<Integer> shape, String outputTensor,
                       List<String> labels, float[][] weights, float[] bias) {

        public int features() {
            return shape.stream().mapToInt(Integer::intValue).reduce(1, (a, b) -> a * b);
        }
    }

    /** A 1x4x4 grayscale classifier into 3 classes whose class c scores pixel sums of row band c. */
    public static Spec gray4x4() {
        float[][] w = new float[3][16];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 16; i++) {
                w[c][i] = (i / 4 == c) ? 1f : 0f;
            }
        }
        return new Spec("tiny-gray", "image", List.of(1, 4, 4), "logits", List.of("top", "middle", "lower"),
                w, new float[] {0f, 0f, 0f});
    }

    /** A [3, 8] window classifier into 2 classes: class 1 scores the sum of channel az. */
    public static Spec window3x8() {
        float[][] w = new float[2][24];
        for (int i = 16; i < 24; i++) {
            w[1][i] = 1f;
        }
        return new Spec("tiny-window", "window", List.of(3, 8), "logits", List.of("healthy", "damaged"),
                w, new float[] {0f, 0f});
    }

    public static byte[] model(Spec s) {
        OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder().setName(s.name());
        graph.addInput(valueInfo(s.inputTensor(), s.shape()));
        graph.addOutput(valueInfo(s.outputTensor(), List.of(s.labels().size())));
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Flatten").setName("flatten")
                .addInput(s.inputTensor()).addOutput("embedding")
                .addAttribute(intAttribute("axis", 1)));
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Gemm").setName("head")
                .addInput("embedding").addInput("W").addInput("b").addOutput(s.outputTensor())
                .addAttribute(intAttribute("transB", 1)));
        OnnxMl.TensorProto.Builder w = OnnxMl.TensorProto.newBuilder().setName("W")
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
                .addDims(s.labels().size()).addDims(s.features());
        for (float[] row : s.weights()) {
            for (float v : row) {
                w.addFloatData(v);
            }
        }
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName("b")
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).addDims(s.labels().size());
        for (float v : s.bias()) {
            b.addFloatData(v);
        }
        graph.addInitializer(w).addInitializer(b);
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(7)
                .setProducerName("plateau-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
                .setGraph(graph)
                .build()
                .toByteArray();
    }

    private static OnnxMl.AttributeProto.Builder intAttribute(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value);
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, List<Integer> perSample) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
        for (int d : perSample) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).setShape(shape)))
                .build();
    }

    /** The manifest matching {@code s}; tests edit the text to make it disagree. */
    public static String manifest(Spec s) {
        boolean window = s.inputTensor().equals("window");
        String labels = s.labels().stream().collect(Collectors.joining(", ", "[", "]"));
        String input = window
                ? "  decode: csv-window\n  sample_rate_hz: 50\n  length: " + s.shape().get(1)
                        + "\n  channels: [ax, ay, az]\n  units: m/s2\n  range: [-100.0, 100.0]\n"
                : "  decode: image-gray\n  scale: 0.00392156862745098\n  mean: [0.0]\n  std: [1.0]\n";
        return "name: " + s.name() + "\n"
                + "version: 1\n"
                + "task: classification\n"
                + "input:\n  tensor: " + s.inputTensor() + "\n  shape: " + s.shape() + "\n" + input
                + "output:\n  tensor: " + s.outputTensor() + "\n  labels: " + labels + "\n"
                + "head:\n  embedding: embedding\n";
    }

    /** As {@link #manifest}, naming {@code positive} as {@code output.positive}: a detector's manifest. */
    public static String manifest(Spec s, String positive) {
        String labels = "  labels: " + s.labels().stream().collect(Collectors.joining(", ", "[", "]")) + "\n";
        return manifest(s).replace(labels, labels + "  positive: " + positive + "\n");
    }

    /** Writes a complete bundle for {@code s} into {@code dir}. */
    public static Path bundle(Path dir, Spec s) throws IOException {
        return bundle(dir, s, manifest(s));
    }

    public static Path bundle(Path dir, Spec s, String manifest) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.onnx"), model(s));
        Files.writeString(dir.resolve("manifest.yaml"), manifest);
        return dir;
    }
}
