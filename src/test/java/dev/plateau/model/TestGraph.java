package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

/** Builds small ONNX models node by node for head tests; dims of -1 are the batch dimension N. */
final class TestGraph {
    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder().setName("test");
    private final Random random;

    TestGraph(long seed) {
        random = new Random(seed);
    }

    TestGraph input(String name, long... dims) {
        graph.addInput(declare(name, dims));
        return this;
    }

    TestGraph output(String name, long... dims) {
        graph.addOutput(declare(name, dims));
        return this;
    }

    TestGraph valueInfo(String name, long... dims) {
        graph.addValueInfo(declare(name, dims));
        return this;
    }

    /** A node; {@code inputs} may hold "" for an omitted optional input. */
    TestGraph node(String op, String name, List<String> inputs, String output, OnnxMl.AttributeProto... attributes) {
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs)
                .addOutput(output).addAllAttribute(List.of(attributes)));
        return this;
    }

    /** A float initializer of random values in [-1, 1), stored as raw data or as float_data. */
    TestGraph initializer(String name, boolean raw, long... dims) {
        graph.addInitializer(tensor(name, raw, dims));
        return this;
    }

    /** A Constant node producing {@code name} from a random float tensor. */
    TestGraph constant(String name, long... dims) {
        OnnxMl.AttributeProto value = OnnxMl.AttributeProto.newBuilder().setName("value")
                .setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(tensor("", true, dims)).build();
        return node("Constant", name + "_const", List.of(), name, value);
    }

    byte[] build() {
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("plateau-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
                .addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey("origin").setValue("TestGraph"))
                .setGraph(graph)
                .build()
                .toByteArray();
    }

    static OnnxMl.AttributeProto ints(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value).build();
    }

    static OnnxMl.AttributeProto floats(String name, float value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    private OnnxMl.TensorProto tensor(String name, boolean raw, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber());
        for (long d : dims) {
            t.addDims(d);
        }
        ByteBuffer bytes = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float v = random.nextFloat() * 2 - 1;
            if (raw) {
                bytes.putFloat(v);
            } else {
                t.addFloatData(v);
            }
        }
        if (raw) {
            t.setRawData(com.google.protobuf.ByteString.copyFrom(bytes.array()));
        }
        return t.build();
    }

    private static OnnxMl.ValueInfoProto declare(String name, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).setShape(shape)))
                .build();
    }
}
