package dev.plateau.tuning;

import dev.plateau.model.HeadLayer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A model's head as a trainable network: the chain of dense and ReLU layers from the embedding
 * to the outputs, with its weights copied in. All parameters live in one flat array (per dense
 * layer: {@code W} row-major {@code [out][in]}, then {@code b}) so that optimizers, clipping and
 * snapshots work on a single buffer.
 *
 * <p>Not thread-safe: forward and backward passes share work buffers sized to the largest batch
 * seen, so that a training step allocates nothing.
 */
public final class HeadNetwork {
    private final Layer[] layers;
    private final int firstDense;
    private final int inputs;
    private final int outputs;
    private final int maxWidth;
    private final float[] params;
    private final float[] grads;

    private int capacity;
    private float[][] activations = new float[0][];
    private float[] deltaA = new float[0];
    private float[] deltaB = new float[0];
    private float[] lastInput;
    /** Per-row work arrays of a batched pass: a dense layer's outputs, a batch's input rows. */
    private float[][] rowBuffer = new float[0][];
    private float[][] inputRows = new float[0][];
    /** Below this many rows a dense pass computes dot products instead of transposing the weights. */
    private static final int MIN_BATCH_ROWS = 4;
    private int lastInputOffset;

    /** Copies the weights of {@code head}; consecutive layers must agree on their widths. */
    public HeadNetwork(List<HeadLayer> head) {
        if (head == null || head.isEmpty()) {
            throw new IllegalArgumentException("head: at least one layer is required");
        }
        layers = new Layer[head.size()];
        long size = 0;
        int widest = head.get(0).inputs();
        int dense = -1;
        for (int l = 0; l < head.size(); l++) {
            HeadLayer h = head.get(l);
            if (l > 0 && head.get(l - 1).outputs() != h.inputs()) {
                HeadLayer prev = head.get(l - 1);
                throw new IllegalArgumentException("head: layer " + l + " (" + h + ") takes " + h.inputs()
                        + " inputs but layer " + (l - 1) + " (" + prev + ") gives " + prev.outputs());
            }
            if (h instanceof HeadLayer.Dense d) {
                dense = dense < 0 ? l : dense;
                layers[l] = new Layer(d.name(), true, d.inputs(), d.outputs(), (int) size);
                size += (long) d.inputs() * d.outputs() + d.outputs();
            } else {
                layers[l] = new Layer(((HeadLayer.Relu) h).name(), false, h.inputs(), h.outputs(), -1);
            }
            widest = Math.max(widest, h.outputs());
            if (size > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("head: too many parameters (" + size + ", allowed up to "
                        + (Integer.MAX_VALUE - 16) + ")");
            }
        }
        if (dense < 0) {
            throw new IllegalArgumentException("head: no dense layer to train in " + head);
        }
        firstDense = dense;
        inputs = head.get(0).inputs();
        outputs = head.get(head.size() - 1).outputs();
        maxWidth = widest;
        params = new float[(int) size];
        grads = new float[(int) size];
        for (int l = 0; l < layers.length; l++) {
            if (head.get(l) instanceof HeadLayer.Dense d) {
                copyIn(d, layers[l]);
            }
        }
    }

    private void copyIn(HeadLayer.Dense d, Layer layer) {
        float[] w = d.weight();
        float[] b = d.bias();
        for (float v : w) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("head: layer " + d.name() + " has a non-finite weight (" + v + ")");
            }
        }
        for (float v : b) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("head: layer " + d.name() + " has a non-finite bias (" + v + ")");
            }
        }
        System.arraycopy(w, 0, params, layer.offset, w.length);
        System.arraycopy(b, 0, params, layer.biasOffset(), b.length);
    }

    /** The current weights as head layers, same names and order as given. */
    public List<HeadLayer> layers() {
        List<HeadLayer> out = new ArrayList<>(layers.length);
        for (Layer l : layers) {
            if (l.dense) {
                out.add(new HeadLayer.Dense(l.name, l.in, l.out,
                        Arrays.copyOfRange(params, l.offset, l.biasOffset()),
                        Arrays.copyOfRange(params, l.biasOffset(), l.biasOffset() + l.out)));
            } else {
                out.add(new HeadLayer.Relu(l.name, l.out));
            }
        }
        return List.copyOf(out);
    }

    public int inputs() {
        return inputs;
    }

    public int outputs() {
        return outputs;
    }

    /** Trainable weights and biases. */
    public int parameterCount() {
        return params.length;
    }

    /** Output of the head for one embedding, in a new array. */
    public float[] logits(float[] embedding) {
        if (embedding.length != inputs) {
            throw new IllegalArgumentException("embedding: expected " + inputs + " values, found " + embedding.length);
        }
        return Arrays.copyOf(forward(embedding, 0, 1), outputs);
    }

    /**
     * Outputs of the head for {@code n} embeddings laid out {@code [n][inputs]} in {@code rows},
     * in a new array laid out {@code [n][outputs]}.
     */
    public float[] logits(float[] rows, int n) {
        if (n < 0 || (long) n * inputs != rows.length) {
            throw new IllegalArgumentException("rows: expected " + n + "x" + inputs + " values, found " + rows.length);
        }
        return Arrays.copyOf(forward(rows, 0, n), n * outputs);
    }

    /** Widths of every layer output, for the memory estimate. */
    int activationWidths() {
        int sum = 0;
        for (Layer l : layers) {
            sum += l.out;
        }
        return sum;
    }

    int maxWidth() {
        return maxWidth;
    }

    float[] parameters() {
        return params;
    }

    float[] gradients() {
        return grads;
    }

    /** {offset, length} of every dense weight matrix; biases are not in it (they are not decayed). */
    int[][] weightSegments() {
        List<int[]> out = new ArrayList<>();
        for (Layer l : layers) {
            if (l.dense) {
                out.add(new int[] {l.offset, l.in * l.out});
            }
        }
        return out.toArray(int[][]::new);
    }

    /** Grows the work buffers to hold {@code batch} rows; never shrinks them. */
    void ensureCapacity(int batch) {
        if (batch <= capacity) {
            return;
        }
        activations = new float[layers.length][];
        for (int l = 0; l < layers.length; l++) {
            activations[l] = new float[batch * layers[l].out];
        }
        rowBuffer = new float[batch][maxWidth];
        inputRows = new float[batch][maxWidth];
        deltaA = new float[batch * maxWidth];
        deltaB = new float[batch * maxWidth];
        capacity = batch;
    }

    int capacity() {
        return capacity;
    }

    /**
     * Runs {@code n} rows laid out {@code [n][inputs]} from {@code x[offset]} through the head.
     * Returns the internal output buffer ({@code [n][outputs]}), valid until the next pass. The
     * input array is referenced, not copied, until the next {@link #backward}.
     */
    float[] forward(float[] x, int offset, int n) {
        ensureCapacity(n);
        lastInput = x;
        lastInputOffset = offset;
        float[] src = x;
        int srcOffset = offset;
        for (int l = 0; l < layers.length; l++) {
            Layer layer = layers[l];
            float[] dst = activations[l];
            if (layer.dense) {
                dense(layer, src, srcOffset, dst, n);
            } else {
                for (int j = 0, m = n * layer.out; j < m; j++) {
                    dst[j] = Math.max(0f, src[srcOffset + j]);
                }
            }
            src = dst;
            srcOffset = 0;
        }
        return activations[layers.length - 1];
    }

    /**
     * {@code dst = src W^T + b}. One row: dot products in double. A batch: row updates
     * {@code out[r] += x[r][i] * Wt[i]} against the transposed weights (refreshed from the
     * parameters on every call), on separate row arrays, which the JIT vectorises (it does not
     * vectorise the same loop over offsets into one shared array).
     */
    private void dense(Layer layer, float[] src, int srcOffset, float[] dst, int n) {
        int in = layer.in;
        int out = layer.out;
        int bias = layer.biasOffset();
        if (n < MIN_BATCH_ROWS) {
            for (int r = 0; r < n; r++) {
                int row = srcOffset + r * in;
                for (int o = 0; o < out; o++) {
                    int w = layer.offset + o * in;
                    double s = params[bias + o];
                    for (int i = 0; i < in; i++) {
                        s += params[w + i] * src[row + i];
                    }
                    dst[r * out + o] = (float) s;
                }
            }
            return;
        }
        Gemm.transpose(params, layer.offset, out, in, layer.transposed);
        Gemm.forward(src, srcOffset, n, in, layer.transposed, params, bias, out, rowBuffer);
        for (int r = 0; r < n; r++) {
            System.arraycopy(rowBuffer[r], 0, dst, r * out, out);
        }
    }

    /**
     * Back-propagates {@code dOutput} ({@code [n][outputs]}, the loss gradient of the last
     * {@link #forward}) and overwrites {@link #gradients()} with the gradient of every dense
     * weight and bias.
     */
    void backward(float[] dOutput, int n) {
        Arrays.fill(grads, 0f);
        float[] cur = dOutput;
        for (int l = layers.length - 1; l >= firstDense; l--) {
            Layer layer = layers[l];
            float[] in = l == 0 ? lastInput : activations[l - 1];
            int inOffset = l == 0 ? lastInputOffset : 0;
            boolean needInputGradient = l > firstDense;
            float[] next = cur == deltaA ? deltaB : deltaA;
            if (layer.dense) {
                denseBackward(layer, cur, in, inOffset, needInputGradient ? next : null, n);
            } else {
                for (int j = 0, m = n * layer.out; j < m; j++) {
                    next[j] = in[inOffset + j] > 0f ? cur[j] : 0f;
                }
            }
            cur = next;
        }
    }

    private void denseBackward(Layer layer, float[] dOut, float[] x, int xOffset, float[] dIn, int n) {
        int in = layer.in;
        int out = layer.out;
        int bias = layer.biasOffset();
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int r = 0; r < n; r++) {
                s += dOut[r * out + o];
            }
            grads[bias + o] = (float) s;
        }
        // Row updates on separate row arrays (vectorised, see Gemm); each weight's gradient
        // row stays in cache while the batch's rows pass over it; sums of at most batch-size terms.
        Gemm.rows(x, xOffset, n, in, inputRows);
        float[] gw = layer.gradientRow;
        for (int o = 0; o < out; o++) {
            Gemm.weightGradientRow(dOut, out, o, n, inputRows, in, gw);
            System.arraycopy(gw, 0, grads, layer.offset + o * in, in);
        }
        if (dIn != null) {
            float[][] w = layer.weightRows;
            Gemm.rows(params, layer.offset, out, in, w);
            for (int r = 0; r < n; r++) {
                Gemm.inputGradientRow(dOut, out, r, w, in, gw);
                System.arraycopy(gw, 0, dIn, r * in, in);
            }
        }
    }

    /**
     * One layer's shape and where its parameters start ({@code offset} is -1 for ReLU), with a
     * dense layer's work buffers: its weights transposed and, above the first
     * (the only ones whose input gradient is needed), as rows; one row of its weight gradient.
     */
    private record Layer(String name, boolean dense, int in, int out, int offset, float[][] transposed,
                         float[][] weightRows, float[] gradientRow) {
        Layer(String name, boolean dense, int in, int out, int offset) {
            this(name, dense, in, out, offset, dense ? new float[in][out] : null, dense && offset > 0 ? new float[out][in] : null,
                    dense ? new float[in] : null);
        }

        int biasOffset() {
            return offset + in * out;
        }
    }
}
