package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.List;

/**
 * A site's modal features of an accelerometer window, built into the graph with plain ONNX ops
 * from the raw input: for each of the site's dominant modes (a frequency band found at
 * calibration), the mode's frequency and how its energy is shared between the axes.
 *
 * <pre>
 *   x  = window - mean over time              per axis: no DC offset, no gravity, no tilt
 *   P  = |DFT(hann . x)|^2                     per axis, on a fine grid inside the bands (zero-padding)
 *   T  = sum of P over the axes                does not depend on how the sensor is turned
 *   f_k     = log( sum_band f T^2 / sum_band T^2 )   the mode's frequency, a sharpened centroid
 *   s_{k,a} = log( sum_band P_a / sum_band T + 1e-6 ) the mode's share in axis a
 *   features = [f_1..f_K, s_{1,x}, s_{1,y}, s_{1,z}, ..., s_{K,z}]      [N, 4K]
 * </pre>
 *
 * Temperature moves every mode alike, damage moves the modes that bend at the damage and mixes
 * torsion into bending; a novelty score fitted on a site's own healthy features tells the two
 * apart, which a detector trained on other decks cannot. Tensors and nodes are named {@code modal/*}.
 */
public final class ModalFeatures {
    public static final String OUTPUT = "modal/features";
    static final String PREFIX = "modal/";
    /** Step of the DFT grid: about ten points per bin of a 5 s window, so a shift of 1 % is resolved. */
    public static final double GRID_STEP_HZ = 0.02;
    private static final float SHARE_FLOOR = 1e-6f;

    private ModalFeatures() {}

    /** One mode's band in Hz, {@code low < high}. */
    public record Band(double lowHz, double highHz) {
        public Band {
            if (!(lowHz > 0) || !(highHz > lowHz) || !Double.isFinite(highHz)) {
                throw new IllegalArgumentException("modal band: expected 0 < low < high, found " + lowHz + ".." + highHz);
            }
        }

        /** The grid frequencies inside the band. */
        public double[] grid() {
            int from = (int) Math.ceil(lowHz / GRID_STEP_HZ);
            int to = (int) Math.floor(highHz / GRID_STEP_HZ);
            double[] f = new double[Math.max(0, to - from + 1)];
            for (int i = 0; i < f.length; i++) {
                f[i] = (from + i) * GRID_STEP_HZ;
            }
            return f;
        }
    }

    /** Width of the feature vector for {@code modes} bands. */
    public static int width(int modes) {
        return 4 * modes;
    }

    /**
     * Adds the feature nodes to {@code graph}, reading {@code inputTensor} {@code [N, 3, length]}
     * sampled at {@code sampleRateHz}; the features are tensor {@link #OUTPUT}.
     */
    static void append(OnnxMl.GraphProto.Builder graph, String inputTensor, int length, double sampleRateHz,
                       List<Band> bands) {
        if (bands.isEmpty()) {
            throw new IllegalArgumentException("modal features: need at least one band");
        }
        List<Double> grid = new ArrayList<>();
        List<Integer> bandOf = new ArrayList<>();
        for (int k = 0; k < bands.size(); k++) {
            for (double f : bands.get(k).grid()) {
                grid.add(f);
                bandOf.add(k);
            }
        }
        int g = grid.size();
        int modes = bands.size();
        if (g == 0) {
            throw new IllegalArgumentException("modal features: the bands " + bands + " hold no grid frequency");
        }
        float[] cos = new float[length * g];
        float[] sin = new float[length * g];
        for (int t = 0; t < length; t++) {
            double hann = 0.5 - 0.5 * Math.cos(2 * Math.PI * t / (length - 1));
            for (int j = 0; j < g; j++) {
                double phase = 2 * Math.PI * grid.get(j) * t / sampleRateHz;
                cos[t * g + j] = (float) (hann * Math.cos(phase));
                sin[t * g + j] = (float) (hann * Math.sin(phase));
            }
        }
        float[] mask = new float[g * modes];
        float[] weightedMask = new float[g * modes];
        for (int j = 0; j < g; j++) {
            mask[j * modes + bandOf.get(j)] = 1f;
            weightedMask[j * modes + bandOf.get(j)] = grid.get(j).floatValue();
        }
        long gl = g;
        long kl = modes;
        graph.addInitializer(FloatTensors.create(PREFIX + "cos", List.of((long) length, gl), cos));
        graph.addInitializer(FloatTensors.create(PREFIX + "sin", List.of((long) length, gl), sin));
        graph.addInitializer(FloatTensors.create(PREFIX + "mask", List.of(gl, kl), mask));
        graph.addInitializer(FloatTensors.create(PREFIX + "frequency_mask", List.of(gl, kl), weightedMask));
        graph.addInitializer(FloatTensors.create(PREFIX + "share_floor", List.of(1L), new float[] {SHARE_FLOOR}));
        graph.addInitializer(ints(PREFIX + "axis_channels", 1));
        graph.addInitializer(ints(PREFIX + "flat_shape", 0, -1));

        graph.addNode(reduceMean(inputTensor, PREFIX + "dc"));
        node(graph, "Sub", "centre", List.of(inputTensor, PREFIX + "dc"), "x");
        node(graph, "MatMul", "re", List.of(PREFIX + "x", PREFIX + "cos"), "re");
        node(graph, "MatMul", "im", List.of(PREFIX + "x", PREFIX + "sin"), "im");
        node(graph, "Mul", "re2", List.of(PREFIX + "re", PREFIX + "re"), "re2");
        node(graph, "Mul", "im2", List.of(PREFIX + "im", PREFIX + "im"), "im2");
        node(graph, "Add", "power", List.of(PREFIX + "re2", PREFIX + "im2"), "power");
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("ReduceSum").setName(PREFIX + "total")
                .addInput(PREFIX + "power").addInput(PREFIX + "axis_channels").addOutput(PREFIX + "total")
                .addAttribute(intAttribute("keepdims", 0)));
        node(graph, "Mul", "total2", List.of(PREFIX + "total", PREFIX + "total"), "total2");
        node(graph, "MatMul", "moment", List.of(PREFIX + "total2", PREFIX + "frequency_mask"), "moment");
        node(graph, "MatMul", "mass", List.of(PREFIX + "total2", PREFIX + "mask"), "mass");
        node(graph, "Div", "centroid", List.of(PREFIX + "moment", PREFIX + "mass"), "centroid");
        node(graph, "Log", "log_frequency", List.of(PREFIX + "centroid"), "log_frequency");
        node(graph, "MatMul", "axis_energy", List.of(PREFIX + "power", PREFIX + "mask"), "axis_energy");
        node(graph, "MatMul", "band_energy", List.of(PREFIX + "total", PREFIX + "mask"), "band_energy");
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Unsqueeze").setName(PREFIX + "band_energy_axes")
                .addInput(PREFIX + "band_energy").addInput(PREFIX + "axis_channels")
                .addOutput(PREFIX + "band_energy_3d"));
        node(graph, "Div", "share", List.of(PREFIX + "axis_energy", PREFIX + "band_energy_3d"), "share");
        node(graph, "Add", "share_floored", List.of(PREFIX + "share", PREFIX + "share_floor"), "share_floored");
        node(graph, "Log", "log_share", List.of(PREFIX + "share_floored"), "log_share");
        node(graph, "Reshape", "log_share_flat", List.of(PREFIX + "log_share", PREFIX + "flat_shape"),
                "log_share_flat");
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Concat").setName(OUTPUT)
                .addInput(PREFIX + "log_frequency").addInput(PREFIX + "log_share_flat").addOutput(OUTPUT)
                .addAttribute(intAttribute("axis", 1)));
    }

    private static OnnxMl.NodeProto.Builder reduceMean(String input, String output) {
        return OnnxMl.NodeProto.newBuilder().setOpType("ReduceMean").setName(output).addInput(input).addOutput(output)
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axes")
                        .setType(OnnxMl.AttributeProto.AttributeType.INTS).addInts(2))
                .addAttribute(intAttribute("keepdims", 1));
    }

    /** An INT attribute. */
    static OnnxMl.AttributeProto intAttribute(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT)
                .setI(value).build();
    }

    /** An INT64 initializer holding {@code values}. */
    static OnnxMl.TensorProto ints(String name, long... values) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber()).addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    private static void node(OnnxMl.GraphProto.Builder graph, String op, String name, List<String> inputs,
                             String output) {
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType(op).setName(PREFIX + name).addAllInput(inputs)
                .addOutput(PREFIX + output));
    }
}
