package dev.plateau.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.plateau.model.Manifest;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs a whole graph (a model file's bytes, not necessarily a bundle's) on batches of input
 * tensors decoded as inference decodes them. Calibration uses it to score the current model and a
 * candidate on the same inputs, and to compute features the graph adds. Not for the hot path:
 * every call allocates its tensors.
 */
public final class GraphRunner implements AutoCloseable {
    private final Manifest manifest;
    private final Preprocessor preprocessor;
    private final OrtEnvironment env;
    private final OrtSession.SessionOptions options;
    private final OrtSession session;
    private final String what;

    private GraphRunner(Manifest manifest, OrtEnvironment env, OrtSession.SessionOptions options,
                        OrtSession session, String what) {
        this.manifest = manifest;
        this.preprocessor = new Preprocessor(manifest.input());
        this.env = env;
        this.options = options;
        this.session = session;
        this.what = what;
    }

    /** @param what names the graph in errors, e.g. "the candidate" */
    public static GraphRunner open(Manifest manifest, byte[] model, String what) {
        OrtEnvironment env = OrtRuntime.environment(1);
        OrtSession.SessionOptions options = null;
        OrtSession session = null;
        try {
            options = OrtRuntime.sessionOptions(OrtRuntime.BACKGROUND_THREADS);
            session = env.createSession(model, options);
            return new GraphRunner(manifest, env, options, session, what);
        } catch (OrtException e) {
            OrtRuntime.closeAfterFailure(session, options);
            throw new InferenceException("ONNX Runtime cannot load " + what + ": " + e.getMessage(), e);
        }
    }

    /** Floats of one input sample. */
    public int inputSize() {
        return manifest.input().sampleSize();
    }

    /** One file decoded into a new input array, with inference's checks. */
    public float[] input(Path file) throws InputRejectedException {
        byte[] data = InputFiles.read(file, preprocessor.maxBytes(), preprocessor.sizeLimitFor());
        FloatBuffer buffer = FloatBuffer.allocate(inputSize());
        preprocessor.fill(file.toString(), data, buffer);
        return buffer.array();
    }

    /**
     * Output {@code tensor} for {@code n} inputs laid out flat, as {@code n} rows laid out flat.
     */
    public float[] run(float[] inputs, int n, String tensor) {
        long[] shape = new long[manifest.input().shape().size() + 1];
        shape[0] = n;
        for (int i = 1; i < shape.length; i++) {
            shape[i] = manifest.input().shape().get(i - 1);
        }
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(inputs, 0, n * inputSize()), shape);
             OrtSession.Result result = session.run(Map.of(manifest.input().tensor(), in),
                     java.util.Set.of(tensor))) {
            OnnxTensor out = (OnnxTensor) result.get(tensor).orElseThrow(() -> new InferenceException(
                    what + " has no output '" + tensor + "'", null));
            FloatBuffer values = out.getFloatBuffer();
            float[] rows = new float[values.remaining()];
            values.get(rows);
            return rows;
        } catch (OrtException e) {
            throw new InferenceException(what + " failed on a batch of " + n + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        OrtRuntime.close(session, options, what);
    }
}
