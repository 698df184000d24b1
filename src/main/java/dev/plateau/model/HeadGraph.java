package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The trainable head of an ONNX model: the chain of dense layers ({@code Gemm}, {@code MatMul}
 * + {@code Add}, {@code Relu}) from the embedding tensor to the output tensor, read as
 * {@link HeadLayer}s and written back into a copy of the model in the graph's own layout.
 *
 * <p>{@link #read} checks everything a fine-tune needs before it starts, write-back included:
 * a head whose weights are shared with nodes outside it is refused here, not after training.
 * Instances are immutable.
 */
public final class HeadGraph {
    private final OnnxMl.ModelProto model;
    private final HeadChain chain;
    private final String embeddingTensor;
    private final String outputTensor;

    private HeadGraph(OnnxMl.ModelProto model, HeadChain chain, String embeddingTensor, String outputTensor) {
        this.model = model;
        this.chain = chain;
        this.embeddingTensor = embeddingTensor;
        this.outputTensor = outputTensor;
    }

    /**
     * Reads the head between {@code embeddingTensor} and {@code outputTensor}.
     *
     * @throws GraphException naming the node, tensor or initializer that is missing or not supported
     */
    public static HeadGraph read(byte[] model, String embeddingTensor, String outputTensor) {
        OnnxMl.ModelProto proto = parse(model);
        HeadChain chain = HeadChain.walk(new GraphIndex(proto.getGraph()), embeddingTensor, outputTensor);
        return new HeadGraph(proto, chain, embeddingTensor, outputTensor);
    }

    /** Reads the head of a model file; see {@link #read(byte[], String, String)}. */
    public static HeadGraph read(Path model, String embeddingTensor, String outputTensor) {
        try {
            return read(Files.readAllBytes(model), embeddingTensor, outputTensor);
        } catch (IOException e) {
            throw new GraphException("cannot read model file " + model + ": " + e.getMessage(), e);
        } catch (GraphException e) {
            throw new GraphException(model + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads the head of a bundle's model, from the manifest's {@code head.embedding} to its
     * {@code output.tensor}.
     *
     * @throws BundleException when the manifest has no head or the graph's head cannot be used
     */
    public static HeadGraph read(ModelBundle bundle) {
        Manifest.Head head = bundle.manifest().headSpec().orElseThrow(() -> new BundleException(bundle.dir(),
                ModelBundle.MANIFEST_FILE + " has no head.embedding, the tensor that feeds the trainable head"));
        try {
            // A calibrated bundle's head is the graph without its calibration, which is fitted anew.
            String output = bundle.manifest().output().tensor();
            return read(NoveltyGraph.strip(Files.readAllBytes(bundle.modelFile()), output), head.embedding(), output);
        } catch (IOException e) {
            throw new BundleException(bundle.dir(), "cannot read " + ModelBundle.MODEL_FILE + ": " + e.getMessage(), e);
        } catch (GraphException e) {
            throw new BundleException(bundle.dir(), ModelBundle.MODEL_FILE + ": " + e.getMessage(), e);
        }
    }

    public String embeddingTensor() {
        return embeddingTensor;
    }

    public String outputTensor() {
        return outputTensor;
    }

    /** Width of the embedding: the first dense layer's inputs. */
    public int embeddingWidth() {
        return chain.embeddingWidth();
    }

    /** The head's layers in graph order; dense weights {@code [out][in]}, Gemm's alpha and beta folded in. */
    public List<HeadLayer> layers() {
        return chain.layers();
    }

    /**
     * A copy of the model whose graph also outputs the embedding tensor, as float
     * {@code [N, embeddingWidth]}, so ONNX Runtime can compute embeddings for the Java head.
     */
    public byte[] withEmbeddingOutput() {
        return EmbeddingOutput.add(model, embeddingTensor, chain.embeddingWidth()).toByteArray();
    }

    /**
     * A copy of any model whose graph also outputs {@code embeddingTensor}, typed float and shaped
     * as the graph declares it (or unshaped when it does not). The head is not checked.
     *
     * @throws GraphException when the tensor is not in the graph or is declared non-float
     */
    public static byte[] withEmbeddingOutput(byte[] model, String embeddingTensor) {
        return EmbeddingOutput.add(parse(model), embeddingTensor, -1).toByteArray();
    }

    /**
     * A copy of the model with {@code layers}' weights in place of the head's, in the same
     * initializers, dims and layout (a weight stored {@code [in, out]} stays so); every other
     * initializer, node, name, opset and metadata entry is kept as it was. A bias the graph
     * lacks (Gemm without C, MatMul without Add) is added only when the new one is non-zero.
     *
     * @param layers the same layers as {@link #layers()} (kinds, names, sizes, order) with new values
     * @throws GraphException when the layers do not fit the head or hold a non-finite value
     */
    public byte[] withHead(List<HeadLayer> layers) {
        return model.toBuilder().setGraph(chain.write(List.copyOf(layers))).build().toByteArray();
    }

    /** A model's bytes as ONNX, or a {@link GraphException} saying why not. */
    static OnnxMl.ModelProto parse(byte[] model) {
        try {
            OnnxMl.ModelProto proto = OnnxMl.ModelProto.parseFrom(model);
            if (!proto.hasGraph()) {
                throw new GraphException("not an ONNX model: no graph (" + model.length + " bytes)");
            }
            return proto;
        } catch (InvalidProtocolBufferException e) {
            throw new GraphException("not an ONNX model (" + model.length + " bytes): " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "HeadGraph[" + embeddingTensor + " -> " + outputTensor + ", " + chain.layers() + "]";
    }
}
