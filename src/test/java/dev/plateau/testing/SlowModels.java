package dev.plateau.testing;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real ONNX model whose run takes as long as its input says: the {@link TinyModels#gray4x4()}
 * classifier beside an ONNX {@code Loop} of {@code sum(pixels) x iterationsPerUnit} empty steps
 * (pixels scaled to 0..1). A black image runs at once; the bright-middle-row image runs
 * {@code 4 x iterationsPerUnit} steps, which with 1e12 is a run that never ends on its own.
 */
public final class SlowModels {
    private SlowModels() {}

    /** The bundle, with the tiny gray model's manifest (labels top, middle, lower). */
    public static Path bundle(Path dir, double iterationsPerUnit) throws IOException {
        TinyModels.Spec spec = TinyModels.gray4x4();
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.onnx"), model(spec, iterationsPerUnit));
        Files.writeString(dir.resolve("manifest.yaml"), TinyModels.manifest(spec));
        return dir;
    }

    static byte[] model(TinyModels.Spec s, double iterationsPerUnit) {
        OnnxMl.ModelProto tiny;
        try {
            tiny = OnnxMl.ModelProto.parseFrom(TinyModels.model(s));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        OnnxMl.GraphProto.Builder graph = tiny.getGraph().toBuilder();
        // The head now writes head_out; logits = head_out + 0 * (the loop's counter).
        OnnxMl.NodeProto head = graph.getNode(1).toBuilder().setOutput(0, "head_out").build();
        graph.setNode(1, head);
        graph.addInitializer(scalar("per_unit", (float) iterationsPerUnit));
        graph.addInitializer(scalar("zero", 0f));
        graph.addInitializer(scalar("one", 1f));
        graph.addNode(node("ReduceSum", List.of(s.inputTensor()), "total").addAttribute(intAttribute("keepdims", 0)));
        graph.addNode(node("Mul", List.of("total", "per_unit"), "trips_f"));
        graph.addNode(node("Cast", List.of("trips_f"), "trips")
                .addAttribute(intAttribute("to", OnnxMl.TensorProto.DataType.INT64.getNumber())));
        OnnxMl.GraphProto body = OnnxMl.GraphProto.newBuilder().setName("step")
                .addInput(scalarInfo("i", OnnxMl.TensorProto.DataType.INT64))
                .addInput(scalarInfo("cond_in", OnnxMl.TensorProto.DataType.BOOL))
                .addInput(scalarInfo("v_in", OnnxMl.TensorProto.DataType.FLOAT))
                .addNode(node("Identity", List.of("cond_in"), "cond_out"))
                .addNode(node("Add", List.of("v_in", "one"), "v_out"))
                .addOutput(scalarInfo("cond_out", OnnxMl.TensorProto.DataType.BOOL))
                .addOutput(scalarInfo("v_out", OnnxMl.TensorProto.DataType.FLOAT))
                .build();
        graph.addNode(node("Loop", List.of("trips", "", "zero"), "counted")
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("body")
                        .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(body)));
        graph.addNode(node("Mul", List.of("counted", "zero"), "nothing"));
        graph.addNode(node("Add", List.of("head_out", "nothing"), s.outputTensor()));
        return tiny.toBuilder().setGraph(graph).build().toByteArray();
    }

    private static OnnxMl.NodeProto.Builder node(String op, List<String> inputs, String output) {
        return OnnxMl.NodeProto.newBuilder().setOpType(op).setName(output).addAllInput(inputs).addOutput(output);
    }

    private static OnnxMl.TensorProto scalar(String name, float value) {
        return OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).addFloatData(value).build();
    }

    private static OnnxMl.ValueInfoProto scalarInfo(String name, OnnxMl.TensorProto.DataType type) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(type.getNumber()).setShape(OnnxMl.TensorShapeProto.newBuilder())))
                .build();
    }

    private static OnnxMl.AttributeProto.Builder intAttribute(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value);
    }
}
