package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Optional;

/** Makes an inner tensor a graph output, so ONNX Runtime returns the embedding the head reads. */
final class EmbeddingOutput {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT.getNumber();

    private EmbeddingOutput() {}

    /**
     * {@code model} with {@code tensor} appended to the graph's outputs, or unchanged when it is one
     * already.
     *
     * @param width the embedding width when known, else -1; checked against a declared shape and
     *              used when the graph declares none
     */
    static OnnxMl.ModelProto add(OnnxMl.ModelProto model, String tensor, int width) {
        GraphIndex g = new GraphIndex(model.getGraph());
        if (!g.exists(tensor)) {
            throw new GraphException("head: embedding tensor '" + tensor + "' is not in the graph; candidates: "
                    + g.candidates(tensor, 8));
        }
        if (g.isOutput(tensor)) {
            return model;
        }
        Optional<OnnxMl.ValueInfoProto> declared = g.declared(tensor);
        OnnxMl.TypeProto.Tensor.Builder type = declared.filter(v -> v.getType().hasTensorType())
                .map(v -> v.getType().getTensorType().toBuilder())
                .orElseGet(OnnxMl.TypeProto.Tensor::newBuilder);
        if (type.getElemType() != 0 && type.getElemType() != FLOAT) {
            throw new GraphException("head: embedding tensor '" + tensor + "' has element type "
                    + OnnxMl.TensorProto.DataType.forNumber(type.getElemType()) + "; the head needs FLOAT");
        }
        type.setElemType(FLOAT);
        if (type.hasShape()) {
            List<OnnxMl.TensorShapeProto.Dimension> dims = type.getShape().getDimList();
            if (width > 0 && (dims.size() != 2 || dims.get(1).hasDimValue() && dims.get(1).getDimValue() != width)) {
                throw new GraphException("head: embedding tensor '" + tensor + "' has shape " + HeadChain.shape(dims)
                        + " in the graph, expected [N, " + width + "]");
            }
        } else if (width > 0) {
            // The batch dimension stays unnamed: a name could clash with the graph's own symbols.
            type.setShape(OnnxMl.TensorShapeProto.newBuilder()
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder())
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(width)));
        }
        OnnxMl.GraphProto.Builder graph = model.getGraph().toBuilder();
        // A tensor is declared once: as an output now, no longer as an inner value.
        for (int i = graph.getValueInfoCount() - 1; i >= 0; i--) {
            if (graph.getValueInfo(i).getName().equals(tensor)) {
                graph.removeValueInfo(i);
            }
        }
        OnnxMl.ValueInfoProto.Builder out = declared.map(OnnxMl.ValueInfoProto::toBuilder)
                .orElseGet(() -> OnnxMl.ValueInfoProto.newBuilder().setName(tensor));
        graph.addOutput(out.setType(OnnxMl.TypeProto.newBuilder().setTensorType(type)));
        return model.toBuilder().setGraph(graph).build();
    }
}
