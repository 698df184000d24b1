package dev.plateau.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.plateau.model.BundleException;
import dev.plateau.model.Manifest;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Runs a model's frozen backbone to its head's embedding tensor, one input at a time, with the
 * same decoding as inference. Fine-tuning calls it once per sample and trains on the cache.
 */
public final class EmbeddingExtractor implements AutoCloseable {
    private final Manifest manifest;
    private final Preprocessor preprocessor;
    private final OrtSession.SessionOptions options;
    private final OrtSession session;
    private final FloatBuffer input;
    private final FloatBuffer embedding;
    private final OnnxTensor inputTensor;
    private final OnnxTensor embeddingTensor;
    private final String embeddingName;
    private final int width;
    private boolean closed;

    private EmbeddingExtractor(Manifest manifest, OrtSession.SessionOptions options, OrtSession session,
                               OrtEnvironment env, String embeddingName, int width) throws OrtException {
        this.manifest = manifest;
        this.preprocessor = new Preprocessor(manifest.input());
        this.options = options;
        this.session = session;
        this.embeddingName = embeddingName;
        this.width = width;
        this.input = OrtRuntime.direct(manifest.input().sampleSize());
        this.embedding = OrtRuntime.direct(width);
        OnnxTensor in = OnnxTensor.createTensor(env, input, OrtRuntime.batchOfOne(manifest.input().shape()));
        try {
            this.embeddingTensor = OnnxTensor.createTensor(env, embedding, new long[] {1, width});
        } catch (OrtException | RuntimeException e) {
            in.close();
            throw e;
        }
        this.inputTensor = in;
    }

    /**
     * @param modelWithEmbedding the bundle's graph with the embedding tensor also exposed as an output
     * @param width the embedding's width (the head's input size)
     */
    public static EmbeddingExtractor open(Path bundleDir, Manifest manifest, byte[] modelWithEmbedding,
                                          String embeddingName, int width, OrtEnvironment env) {
        OrtSession.SessionOptions options = null;
        OrtSession session = null;
        try {
            options = OrtRuntime.sessionOptions(OrtRuntime.BACKGROUND_THREADS);
            session = env.createSession(modelWithEmbedding, options);
            if (!session.getOutputNames().contains(embeddingName)) {
                throw new BundleException(bundleDir, "embedding tensor '" + embeddingName
                        + "' is not an output of the prepared graph, outputs are " + session.getOutputNames());
            }
            return new EmbeddingExtractor(manifest, options, session, env, embeddingName, width);
        } catch (OrtException e) {
            OrtRuntime.closeAfterFailure(session, options);
            throw new BundleException(bundleDir, "ONNX Runtime cannot load the backbone up to '" + embeddingName
                    + "': " + e.getMessage(), e);
        } catch (RuntimeException e) {
            OrtRuntime.closeAfterFailure(session, options);
            throw e;
        }
    }

    public int width() {
        return width;
    }

    /** The embedding of one file, a new array. */
    public synchronized float[] embed(Path file) throws InputRejectedException {
        byte[] data = InputFiles.read(file, preprocessor.maxBytes(), preprocessor.sizeLimitFor());
        preprocessor.fill(file.toString(), data, input);
        try (OrtSession.Result result = session.run(Map.of(manifest.input().tensor(), inputTensor),
                Set.of(), Map.of(embeddingName, embeddingTensor))) {
            assert result.size() == 1;
        } catch (OrtException e) {
            throw new InferenceException("model " + manifest.name() + ": backbone failed on " + InputNames.path(file) + ": "
                    + e.getMessage(), e);
        }
        float[] out = new float[width];
        embedding.get(0, out);
        for (float v : out) {
            if (!Float.isFinite(v)) {
                throw new InputRejectedException(InputRejectedException.Reason.NOT_FINITE, InputNames.path(file)
                        + ": the backbone produced a non-finite embedding");
            }
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        inputTensor.close();
        embeddingTensor.close();
        OrtRuntime.close(session, options, "model " + manifest.name() + " backbone");
    }
}
