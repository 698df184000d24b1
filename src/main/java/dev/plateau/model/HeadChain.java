package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The dense chain of one graph from its embedding tensor to its output tensor: which nodes, where
 * their weights are stored and in which layout. Reads them as {@link HeadLayer}s and writes new
 * ones back in the graph's own layout.
 */
final class HeadChain {
    static final String SUPPORTED = "Gemm, MatMul+Add, Relu";
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT.getNumber();
    // HeadLayer.Dense holds a weight matrix in one float[].
    private static final long MAX_WEIGHTS = Integer.MAX_VALUE - 8;

    /** Where a weight or bias is stored: an initializer, or the {@code value} of a Constant node. */
    record Source(String tensor, int initializer, int constantNode, List<Long> dims) {}

    /** One node (or MatMul+Add pair) on the chain; {@code output} is the chain tensor it produces. */
    sealed interface Link permits Dense, Relu {
        int node();

        String name();

        String output();
    }

    /**
     * {@code y = alpha W x + beta b}, with {@code W} stored {@code [out, in]}, or {@code [in, out]}
     * when {@code inOut}; {@code bias} is null when the graph has none; {@code addNode} is the Add
     * of a MatMul+Add pair, or -1.
     */
    record Dense(int node, String name, Source weight, boolean inOut, float alpha, Source bias, float beta,
                 int addNode, int inputs, int outputs, String output) implements Link {}

    record Relu(int node, String name, String output) implements Link {}

    private final GraphIndex g;
    private final String embedding;
    private final String output;
    private final List<Link> links = new ArrayList<>();
    private int embeddingWidth;
    private List<HeadLayer> layers;

    private HeadChain(GraphIndex g, String embedding, String output) {
        this.g = g;
        this.embedding = embedding;
        this.output = output;
    }

    int embeddingWidth() {
        return embeddingWidth;
    }

    /** The chain's layers, weights as {@code [out][in]} with alpha and beta folded in. */
    List<HeadLayer> layers() {
        return layers;
    }

    /**
     * Follows the graph from {@code embedding} to {@code output} and checks that every node on the
     * way is supported, that its weights can be read, and that they can be written back alone.
     */
    static HeadChain walk(GraphIndex g, String embedding, String output) {
        if (!g.exists(embedding)) {
            throw new GraphException("head: embedding tensor '" + embedding + "' is not in the graph; candidates: "
                    + g.candidates(embedding, 8));
        }
        if (!g.exists(output)) {
            throw new GraphException("head: output tensor '" + output + "' is not in the graph; graph outputs: "
                    + g.outputs());
        }
        HeadChain chain = new HeadChain(g, embedding, output);
        String t = embedding;
        while (!t.equals(output)) {
            if (chain.links.size() > g.graph.getNodeCount()) {
                throw new GraphException("head: the graph has a cycle through '" + t + "'");
            }
            Link link = chain.next(t);
            chain.links.add(link);
            t = link.output();
        }
        chain.checkWidths();
        chain.checkDeclared(embedding, "embedding", chain.embeddingWidth);
        chain.checkDeclared(output, "output", chain.denses().get(chain.denses().size() - 1).outputs());
        chain.checkNotShared();
        chain.layers = chain.readLayers();
        return chain;
    }

    private Link next(String t) {
        List<Integer> readers = g.consumers(t);
        if (readers.isEmpty()) {
            throw new GraphException("head: the chain from '" + embedding + "' ends at '" + t
                    + "', which no node reads, before reaching output '" + output + "'");
        }
        if (readers.size() > 1) {
            throw new GraphException("head: tensor '" + t + "' feeds " + readers.size() + " nodes, "
                    + readers.stream().map(g::describe).collect(Collectors.joining(", "))
                    + "; the head must be a single chain from '" + embedding + "' to '" + output + "'");
        }
        int i = readers.get(0);
        OnnxMl.NodeProto n = g.node(i);
        return switch (standard(n) ? n.getOpType() : "") {
            case "Gemm" -> gemm(i, t);
            case "MatMul" -> matMul(i, t);
            case "Relu" -> {
                chainInputFirst(i, t, 1);
                yield new Relu(i, g.layerName(i), n.getOutput(0));
            }
            default -> throw unsupported(i, "");
        };
    }

    private GraphException unsupported(int node, String why) {
        return new GraphException("head: " + g.describe(node) + " is not supported between '" + embedding
                + "' and '" + output + "'" + why + "; supported: " + SUPPORTED);
    }

    private static boolean standard(OnnxMl.NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    private void chainInputFirst(int node, String t, int inputs) {
        OnnxMl.NodeProto n = g.node(node);
        if (n.getInputCount() < inputs || !n.getInput(0).equals(t) || n.getOutputCount() != 1
                || n.getInputList().subList(1, n.getInputCount()).contains(t)) {
            throw new GraphException("head: " + g.describe(node) + " reads '" + t + "' as " + n.getInputList()
                    + "; on the head's chain it must be the first input only, and the node must have one output");
        }
    }

    private Dense gemm(int i, String t) {
        OnnxMl.NodeProto n = g.node(i);
        chainInputFirst(i, t, 2);
        long transA = intAttribute(n, "transA", 0);
        long transB = intAttribute(n, "transB", 0);
        float alpha = floatAttribute(n, "alpha", 1f);
        float beta = floatAttribute(n, "beta", 1f);
        if (transA != 0) {
            throw new GraphException("head: " + g.describe(i) + " has transA=" + transA + "; only transA=0 is supported");
        }
        if (!Float.isFinite(alpha) || alpha == 0 || !Float.isFinite(beta) || beta == 0) {
            throw new GraphException("head: " + g.describe(i) + " has alpha=" + alpha + ", beta=" + beta
                    + "; both must be finite and non-zero");
        }
        Source w = source(i, n.getInput(1), "weight");
        int rows = dim(i, w, 0);
        int cols = dim(i, w, 1);
        boolean inOut = transB == 0;
        int in = inOut ? rows : cols;
        int out = inOut ? cols : rows;
        Source b = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? bias(i, n.getInput(2), out) : null;
        return new Dense(i, g.layerName(i), w, inOut, alpha, b, beta, -1, in, out, n.getOutput(0));
    }

    private Dense matMul(int i, String t) {
        OnnxMl.NodeProto n = g.node(i);
        chainInputFirst(i, t, 2);
        Source w = source(i, n.getInput(1), "weight");
        int in = dim(i, w, 0);
        int out = dim(i, w, 1);
        String y = n.getOutput(0);
        List<Integer> readers = g.consumers(y);
        if (!y.equals(output) && readers.size() == 1 && standard(g.node(readers.get(0)))
                && g.node(readers.get(0)).getOpType().equals("Add")) {
            int a = readers.get(0);
            OnnxMl.NodeProto add = g.node(a);
            List<String> others = add.getInputList().stream().filter(s -> !s.equals(y)).toList();
            if (add.getInputCount() != 2 || others.size() != 1 || !isConstant(others.get(0))) {
                throw unsupported(a, " (an Add after " + g.describe(i) + " must add a constant bias of width "
                        + out + ")");
            }
            Source b = bias(a, others.get(0), out);
            return new Dense(i, g.layerName(i), w, true, 1f, b, 1f, a, in, out, add.getOutput(0));
        }
        return new Dense(i, g.layerName(i), w, true, 1f, null, 1f, -1, in, out, y);
    }

    private boolean isConstant(String tensor) {
        int p = g.producer(tensor);
        return g.initializer(tensor) >= 0 || p >= 0 && g.node(p).getOpType().equals("Constant");
    }

    private Source source(int node, String tensor, String role) {
        int init = g.initializer(tensor);
        if (init >= 0) {
            return new Source(tensor, init, -1, g.graph.getInitializer(init).getDimsList());
        }
        int p = g.producer(tensor);
        if (p >= 0 && standard(g.node(p)) && g.node(p).getOpType().equals("Constant")) {
            OnnxMl.AttributeProto value = attribute(g.node(p), "value");
            if (value == null || !value.hasT()) {
                throw new GraphException("head: " + role + " '" + tensor + "' of " + g.describe(node) + " comes from "
                        + g.describe(p) + ", which does not hold it in a 'value' tensor; only that form is supported");
            }
            return new Source(tensor, -1, p, value.getT().getDimsList());
        }
        throw new GraphException("head: " + g.describe(node) + " takes its " + role + " '" + tensor + "' from "
                + (p >= 0 ? g.describe(p) : "a graph input") + "; weights must be float initializers or Constant nodes");
    }

    private Source bias(int node, String tensor, int out) {
        Source b = source(node, tensor, "bias");
        List<Long> d = b.dims();
        if (!(d.equals(List.of((long) out)) || d.equals(List.of(1L, (long) out)))) {
            throw new GraphException("head: bias '" + tensor + "' of " + g.describe(node) + " has dims " + d
                    + "; expected [" + out + "] or [1, " + out + "]");
        }
        return b;
    }

    private int dim(int node, Source w, int axis) {
        List<Long> d = w.dims();
        if (d.size() != 2 || d.get(0) < 1 || d.get(1) < 1 || d.get(0) * d.get(1) > MAX_WEIGHTS) {
            throw new GraphException("head: weight '" + w.tensor() + "' of " + g.describe(node) + " has dims " + d
                    + "; expected a non-empty 2-D matrix");
        }
        return (int) (long) d.get(axis);
    }

    private static OnnxMl.AttributeProto attribute(OnnxMl.NodeProto n, String name) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst().orElse(null);
    }

    private static long intAttribute(OnnxMl.NodeProto n, String name, long fallback) {
        OnnxMl.AttributeProto a = attribute(n, name);
        return a == null ? fallback : a.getI();
    }

    private static float floatAttribute(OnnxMl.NodeProto n, String name, float fallback) {
        OnnxMl.AttributeProto a = attribute(n, name);
        return a == null ? fallback : a.getF();
    }

    private List<Dense> denses() {
        return links.stream().filter(l -> l instanceof Dense).map(l -> (Dense) l).toList();
    }

    private void checkWidths() {
        List<Dense> denses = denses();
        if (denses.isEmpty()) {
            throw new GraphException("head: no Gemm or MatMul between '" + embedding + "' and '" + output
                    + "'; the head needs at least one dense layer (supported: " + SUPPORTED + ")");
        }
        embeddingWidth = denses.get(0).inputs();
        int width = embeddingWidth;
        for (Dense d : denses) {
            if (d.inputs() != width) {
                throw new GraphException("head: " + g.describe(d.node()) + " takes " + d.inputs()
                        + " inputs, but the layer before it gives " + width);
            }
            width = d.outputs();
        }
    }

    /** A declared type, when the graph has one, must be float [N, width]. */
    private void checkDeclared(String tensor, String what, int width) {
        g.declared(tensor).filter(v -> v.getType().hasTensorType()).ifPresent(v -> {
            OnnxMl.TypeProto.Tensor type = v.getType().getTensorType();
            if (type.getElemType() != 0 && type.getElemType() != FLOAT) {
                throw new GraphException("head: " + what + " '" + tensor + "' has element type "
                        + OnnxMl.TensorProto.DataType.forNumber(type.getElemType()) + "; the head needs FLOAT");
            }
            if (type.hasShape()) {
                List<OnnxMl.TensorShapeProto.Dimension> dims = type.getShape().getDimList();
                if (dims.size() != 2 || dims.get(1).hasDimValue() && dims.get(1).getDimValue() != width) {
                    throw new GraphException("head: " + what + " '" + tensor + "' has shape " + shape(dims)
                            + " in the graph, but the head's layers make it [N, " + width + "]");
                }
            }
        });
    }

    static String shape(List<OnnxMl.TensorShapeProto.Dimension> dims) {
        return dims.stream().map(d -> d.hasDimValue() ? Long.toString(d.getDimValue())
                : d.hasDimParam() ? d.getDimParam() : "?").collect(Collectors.joining(", ", "[", "]"));
    }

    private void checkNotShared() {
        for (Dense d : denses()) {
            checkNotShared(d.weight(), "weight", d.node());
            if (d.bias() != null) {
                checkNotShared(d.bias(), "bias", d.addNode() >= 0 ? d.addNode() : d.node());
            }
        }
    }

    private void checkNotShared(Source s, String role, int reader) {
        List<Integer> others = g.consumers(s.tensor()).stream().filter(i -> i != reader).toList();
        if (!others.isEmpty() || g.isOutput(s.tensor())) {
            String who = others.isEmpty() ? "the graph's outputs"
                    : others.stream().map(g::describe).collect(Collectors.joining(", "));
            throw new GraphException("head: " + role + " '" + s.tensor() + "' of " + g.describe(reader)
                    + " is also read by " + who + "; a shared weight cannot be fine-tuned and written back alone");
        }
    }

    private List<HeadLayer> readLayers() {
        List<HeadLayer> result = new ArrayList<>();
        int width = embeddingWidth;
        for (Link link : links) {
            if (link instanceof Relu r) {
                result.add(new HeadLayer.Relu(r.name(), width));
                continue;
            }
            Dense d = (Dense) link;
            float[] stored = FloatTensors.read(tensor(d.weight()), "weight '" + d.weight().tensor() + "' of "
                    + g.describe(d.node()));
            float[] w = d.inOut() ? transpose(stored, d.inputs(), d.outputs()) : stored;
            scale(w, d.alpha());
            float[] b = new float[d.outputs()];
            if (d.bias() != null) {
                b = FloatTensors.read(tensor(d.bias()), "bias '" + d.bias().tensor() + "' of "
                        + g.describe(d.addNode() >= 0 ? d.addNode() : d.node()));
                scale(b, d.beta());
            }
            result.add(new HeadLayer.Dense(d.name(), d.inputs(), d.outputs(), w, b));
            width = d.outputs();
        }
        return List.copyOf(result);
    }

    private OnnxMl.TensorProto tensor(Source s) {
        return s.initializer() >= 0 ? g.graph.getInitializer(s.initializer())
                : attribute(g.node(s.constantNode()), "value").getT();
    }

    /** {@code m} is {@code rows x cols} row-major; returns it as {@code cols x rows}. */
    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    private static void scale(float[] v, float by) {
        if (by != 1f) {
            for (int i = 0; i < v.length; i++) {
                v[i] *= by;
            }
        }
    }

    private static void unscale(float[] v, float by) {
        if (by != 1f) {
            for (int i = 0; i < v.length; i++) {
                v[i] /= by;
            }
        }
    }

    /**
     * The graph with {@code newLayers}' weights in place of the chain's, stored in the same
     * initializers, dims and layout; a bias the graph lacks is added only when non-zero.
     */
    OnnxMl.GraphProto write(List<HeadLayer> newLayers) {
        checkFits(newLayers);
        OnnxMl.GraphProto.Builder graph = g.graph.toBuilder();
        Set<String> added = new HashSet<>();
        List<Insertion> insertions = new ArrayList<>();
        for (int k = 0; k < links.size(); k++) {
            if (!(links.get(k) instanceof Dense d)) {
                continue;
            }
            HeadLayer.Dense layer = (HeadLayer.Dense) newLayers.get(k);
            float[] w = finite(layer.name(), "weight", layer.weight());
            float[] b = finite(layer.name(), "bias", layer.bias());
            float[] stored = d.inOut() ? transpose(w, d.outputs(), d.inputs()) : w;
            unscale(stored, d.alpha());
            put(graph, d.weight(), stored);
            unscale(b, d.beta());
            if (d.bias() != null) {
                put(graph, d.bias(), b);
            } else if (!allZero(b)) {
                addBias(graph, d, b, added, insertions);
            }
        }
        insertions.sort(Comparator.comparingInt(Insertion::index).reversed());
        insertions.forEach(x -> graph.addNode(x.index(), x.node()));
        return graph.build();
    }

    private record Insertion(int index, OnnxMl.NodeProto node) {}

    private void addBias(OnnxMl.GraphProto.Builder graph, Dense d, float[] b, Set<String> added,
                         List<Insertion> insertions) {
        String name = fresh(d.name() + ".bias", added);
        graph.addInitializer(FloatTensors.create(name, List.of((long) d.outputs()), b));
        OnnxMl.NodeProto.Builder node = graph.getNodeBuilder(d.node());
        if (node.getOpType().equals("Gemm")) {
            if (node.getInputCount() > 2) {
                node.setInput(2, name);
            } else {
                node.addInput(name);
            }
            return;
        }
        // A MatMul without Add gets one; the Add takes over the MatMul's output name, so every
        // reader downstream and any declared type stay as they were.
        String product = fresh(d.output() + "_matmul", added);
        node.setOutput(0, product);
        insertions.add(new Insertion(d.node() + 1, OnnxMl.NodeProto.newBuilder()
                .setName(fresh(d.name() + "_bias", added)).setOpType("Add")
                .addInput(product).addInput(name).addOutput(d.output()).build()));
    }

    private String fresh(String base, Set<String> added) {
        String name = g.freshName(base, added);
        added.add(name);
        return name;
    }

    private void put(OnnxMl.GraphProto.Builder graph, Source s, float[] values) {
        if (s.initializer() >= 0) {
            graph.setInitializer(s.initializer(), FloatTensors.write(graph.getInitializer(s.initializer()), values));
            return;
        }
        OnnxMl.NodeProto.Builder node = graph.getNodeBuilder(s.constantNode());
        for (int a = 0; a < node.getAttributeCount(); a++) {
            if (node.getAttribute(a).getName().equals("value")) {
                OnnxMl.AttributeProto.Builder attr = node.getAttributeBuilder(a);
                attr.setT(FloatTensors.write(attr.getT(), values));
            }
        }
    }

    private void checkFits(List<HeadLayer> newLayers) {
        boolean fits = newLayers.size() == layers.size();
        for (int k = 0; fits && k < newLayers.size(); k++) {
            HeadLayer a = layers.get(k);
            HeadLayer b = newLayers.get(k);
            fits = a.getClass() == b.getClass() && a.inputs() == b.inputs() && a.outputs() == b.outputs()
                    && name(a).equals(name(b));
        }
        if (!fits) {
            throw new GraphException("head: the new layers do not fit this graph's head: expected "
                    + describe(layers) + ", found " + describe(newLayers));
        }
    }

    private static String name(HeadLayer l) {
        return l instanceof HeadLayer.Dense d ? d.name() : ((HeadLayer.Relu) l).name();
    }

    private static String describe(List<HeadLayer> layers) {
        return layers.stream().map(l -> l instanceof HeadLayer.Dense
                ? "Dense '" + name(l) + "' " + l.outputs() + "x" + l.inputs()
                : "Relu '" + name(l) + "' " + l.outputs()).collect(Collectors.joining(", ", "[", "]"));
    }

    private static float[] finite(String layer, String what, float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new GraphException("head: layer '" + layer + "' has a non-finite " + what + " (" + v[i]
                        + " at index " + i + "); refusing to write it");
            }
        }
        return v;
    }

    private static boolean allZero(float[] v) {
        for (float x : v) {
            if (x != 0f) {
                return false;
            }
        }
        return true;
    }
}
