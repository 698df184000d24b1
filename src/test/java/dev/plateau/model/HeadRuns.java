package dev.plateau.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.plateau.inference.OrtRuntime;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** The head computed in plain Java from {@link HeadLayer}s, and models run in real ONNX Runtime. */
final class HeadRuns {
    private HeadRuns() {}

    /** {@code layers} applied to one embedding. */
    static float[] forward(List<HeadLayer> layers, float[] embedding) {
        float[] x = embedding;
        for (HeadLayer layer : layers) {
            float[] y = new float[layer.outputs()];
            if (layer instanceof HeadLayer.Dense d) {
                float[] w = d.weight();
                float[] b = d.bias();
                for (int o = 0; o < d.outputs(); o++) {
                    double sum = b[o];
                    for (int i = 0; i < d.inputs(); i++) {
                        sum += (double) w[o * d.inputs() + i] * x[i];
                    }
                    y[o] = (float) sum;
                }
            } else {
                for (int i = 0; i < y.length; i++) {
                    y[i] = Math.max(0f, x[i]);
                }
            }
            x = y;
        }
        return x;
    }

    static float[][] random(Random random, int rows, int cols) {
        float[][] m = new float[rows][cols];
        for (float[] row : m) {
            for (int i = 0; i < cols; i++) {
                row[i] = random.nextFloat() * 2 - 1;
            }
        }
        return m;
    }

    /** Each Dense's weights and biases replaced by random values; names and sizes kept. */
    static List<HeadLayer> perturbed(List<HeadLayer> layers, long seed) {
        Random random = new Random(seed);
        return layers.stream().map(l -> l instanceof HeadLayer.Dense d
                ? (HeadLayer) new HeadLayer.Dense(d.name(), d.inputs(), d.outputs(),
                        random(random, 1, d.inputs() * d.outputs())[0], random(random, 1, d.outputs())[0])
                : l).toList();
    }

    /**
     * Runs {@code model} on a batch whose samples have {@code sampleShape}, and returns the named
     * outputs, one row per sample.
     */
    static Map<String, float[][]> run(byte[] model, String input, float[][] batch, long[] sampleShape,
                                      String... outputs) throws OrtException {
        OrtEnvironment env = OrtRuntime.environment(1);
        long[] shape = new long[sampleShape.length + 1];
        shape[0] = batch.length;
        System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
        int width = batch[0].length;
        FloatBuffer flat = FloatBuffer.allocate(batch.length * width);
        for (float[] row : batch) {
            flat.put(row);
        }
        flat.flip();
        Map<String, float[][]> results = new HashMap<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(model, options);
             OnnxTensor in = OnnxTensor.createTensor(env, flat, shape);
             OrtSession.Result result = session.run(Map.of(input, in), Set.of(outputs))) {
            for (String name : outputs) {
                OnnxValue value = result.get(name).orElseThrow();
                FloatBuffer data = ((OnnxTensor) value).getFloatBuffer();
                assertEquals(0, data.remaining() % batch.length, name + ": " + data.remaining() + " values");
                float[][] rows = new float[batch.length][data.remaining() / batch.length];
                for (float[] row : rows) {
                    data.get(row);
                }
                results.put(name, rows);
            }
        }
        return results;
    }

    static void assertRowsEqual(float[][] expected, float[][] actual, double tolerance) {
        assertEquals(expected.length, actual.length, "rows");
        for (int r = 0; r < expected.length; r++) {
            assertEquals(expected[r].length, actual[r].length, "width of row " + r);
            for (int c = 0; c < expected[r].length; c++) {
                assertEquals(expected[r][c], actual[r][c], tolerance, "row " + r + ", column " + c);
            }
        }
    }
}
