package dev.plateau.inference;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import dev.plateau.model.BundleException;
import dev.plateau.model.GraphException;
import dev.plateau.model.HeadGraph;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * One loaded model: an ONNX Runtime session checked against its manifest, with the input and
 * output tensors allocated once over direct buffers. {@link #infer} reuses them, so a call
 * allocates nothing of its own beyond the returned {@link Prediction}; calls are serialised.
 * A run that goes past its deadline is stopped through ONNX Runtime's terminate flag and fails
 * with an {@link InferenceException}; the engine then takes the next input as before.
 *
 * <p>Loaded with {@link #loadWithEmbedding}, the same run also returns the head's input (the
 * manifest's {@code head.embedding}) into a second pinned buffer, for the drift monitor: one run
 * per input, not a second pass of the backbone.
 */
public final class InferenceEngine implements AutoCloseable {
    /**
     * The longest one run may take. The reference models run in well under 100 ms on a
     * Cortex-A72; a run at 10 s is hung, not slow, and is stopped well before the watchdog's
     * stall limit (60 s), so the source goes on instead of the daemon being restarted.
     */
    public static final Duration DEADLINE = Duration.ofSeconds(10);
    // How often a running run's age is compared with its deadline: the deadline's precision.
    private static final long CHECK_MILLIS = 50;
    /** One thread for the deadlines of every engine; it only flips flags. */
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "plateau-inference-deadline");
        t.setDaemon(true);
        return t;
    });

    private final ModelBundle bundle;
    private final Manifest manifest;
    private final Preprocessor preprocessor;
    private final OrtSession.SessionOptions options;
    private final OrtSession session;
    private final FloatBuffer input;
    private final FloatBuffer logits;
    private final OnnxTensor inputTensor;
    private final OnnxTensor outputTensor;
    private final Map<String, OnnxTensor> inputs;
    private final Map<String, OnnxTensor> outputs;
    /** The head's input, when exposed: its pinned buffer and tensor, else null. */
    private final FloatBuffer embedding;
    private final OnnxTensor embeddingTensor;
    private final float[] probabilities;
    /** The output logits as the last run left them, copied out of the direct buffer. */
    private final float[] rawLogits;
    private final ModelStats stats = new ModelStats();
    private final long deadlineNanos;
    private final OrtSession.RunOptions runOptions;
    private final ScheduledFuture<?> deadlineCheck;
    // Guards the terminate flag: a run that ends as its deadline passes must not leave it set.
    private final Object runLock = new Object();
    private long runStarted;
    private boolean terminated;
    private boolean closed;

    private InferenceEngine(ModelBundle bundle, OrtEnvironment env, OrtSession.SessionOptions options,
                            OrtSession session, Duration deadline, int embeddingWidth) throws OrtException {
        this.bundle = bundle;
        this.deadlineNanos = deadline.toNanos();
        this.manifest = bundle.manifest();
        this.preprocessor = new Preprocessor(manifest.input());
        this.options = options;
        this.session = session;
        int classes = manifest.classCount();
        this.input = OrtRuntime.direct(manifest.input().sampleSize());
        this.logits = OrtRuntime.direct(classes);
        this.probabilities = new float[classes];
        this.rawLogits = new float[classes];
        long[] inputShape = OrtRuntime.batchOfOne(manifest.input().shape());
        // Tensors over direct buffers share their memory with ORT, so writing the buffer is
        // writing the tensor: no copy and no new tensor per call.
        OnnxTensor in = OnnxTensor.createTensor(env, input, inputShape);
        try {
            this.outputTensor = OnnxTensor.createTensor(env, logits, new long[] {1, classes});
        } catch (OrtException | RuntimeException e) {
            in.close();
            throw e;
        }
        this.inputTensor = in;
        this.inputs = Map.of(manifest.input().tensor(), inputTensor);
        if (embeddingWidth > 0) {
            this.embedding = OrtRuntime.direct(embeddingWidth);
            OnnxTensor e;
            try {
                e = OnnxTensor.createTensor(env, embedding, new long[] {1, embeddingWidth});
            } catch (OrtException | RuntimeException failure) {
                inputTensor.close();
                outputTensor.close();
                throw failure;
            }
            this.embeddingTensor = e;
            this.outputs = Map.of(manifest.output().tensor(), outputTensor, embeddingName(), embeddingTensor);
        } else {
            this.embedding = null;
            this.embeddingTensor = null;
            this.outputs = Map.of(manifest.output().tensor(), outputTensor);
        }
        OrtSession.RunOptions run;
        try {
            run = new OrtSession.RunOptions();
        } catch (OrtException | RuntimeException e) {
            inputTensor.close();
            outputTensor.close();
            if (embeddingTensor != null) {
                embeddingTensor.close();
            }
            throw e;
        }
        this.runOptions = run;
        this.deadlineCheck = DEADLINES.scheduleWithFixedDelay(this::checkDeadline, CHECK_MILLIS, CHECK_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /**
     * Loads a bundle into a session on the shared environment and checks the graph against the
     * manifest.
     *
     * @param threads intra-op threads of its own, or 0 for the shared pool
     * @throws BundleException when the bundle is invalid or does not match its graph
     */
    public static InferenceEngine load(ModelBundle bundle, OrtEnvironment env, int threads) {
        return load(bundle, env, threads, DEADLINE);
    }

    /**
     * As {@link #load(ModelBundle, OrtEnvironment, int)}, with the graph's {@code head.embedding}
     * tensor also an output: {@link #infer(Path, float[])} returns it.
     *
     * @throws BundleException when the manifest has no {@code head.embedding} or the tensor is not a float {@code [N, width]}
     */
    public static InferenceEngine loadWithEmbedding(ModelBundle bundle, OrtEnvironment env, int threads) {
        return load(bundle, env, threads, DEADLINE, true);
    }

    /** As {@link #load(ModelBundle, OrtEnvironment, int)}, with a run's deadline other than {@link #DEADLINE}. */
    static InferenceEngine load(ModelBundle bundle, OrtEnvironment env, int threads, Duration deadline) {
        return load(bundle, env, threads, deadline, false);
    }

    private static InferenceEngine load(ModelBundle bundle, OrtEnvironment env, int threads, Duration deadline,
                                        boolean withEmbedding) {
        OrtSession.SessionOptions options = null;
        OrtSession session = null;
        try {
            options = OrtRuntime.sessionOptions(threads);
            int width = 0;
            if (withEmbedding) {
                String tensor = bundle.manifest().headSpec().map(Manifest.Head::embedding).orElseThrow(
                        () -> new BundleException(bundle.dir(), ModelBundle.MANIFEST_FILE + " has no head.embedding"
                                + ", the tensor the drift monitor compares"));
                session = env.createSession(embeddingGraph(bundle, tensor), options);
                width = embeddingWidth(bundle, session, tensor);
            } else {
                session = env.createSession(bundle.modelFile().toString(), options);
            }
            checkGraph(bundle, session);
            return new InferenceEngine(bundle, env, options, session, deadline, width);
        } catch (OrtException e) {
            OrtRuntime.closeAfterFailure(session, options);
            throw new BundleException(bundle.dir(), "ONNX Runtime cannot load " + ModelBundle.MODEL_FILE + ": "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            OrtRuntime.closeAfterFailure(session, options);
            throw e;
        }
    }

    private static byte[] embeddingGraph(ModelBundle bundle, String tensor) {
        try {
            return HeadGraph.withEmbeddingOutput(Files.readAllBytes(bundle.modelFile()), tensor);
        } catch (IOException e) {
            throw new BundleException(bundle.dir(), "cannot read " + ModelBundle.MODEL_FILE + ": " + e.getMessage(), e);
        } catch (GraphException e) {
            throw new BundleException(bundle.dir(), ModelBundle.MODEL_FILE + ": " + e.getMessage(), e);
        }
    }

    /** The embedding's width from the session's output: it must be a float {@code [N, width]}. */
    private static int embeddingWidth(ModelBundle bundle, OrtSession session, String tensor) throws OrtException {
        NodeInfo info = session.getOutputInfo().get(tensor);
        if (info != null && info.getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.FLOAT
                && t.getShape().length == 2 && t.getShape()[1] > 0) {
            return Math.toIntExact(t.getShape()[1]);
        }
        throw new BundleException(bundle.dir(), "head.embedding '" + tensor + "' is "
                + (info == null ? "not an output" : info.getInfo()) + ", expected a float tensor [N, width]");
    }

    private String embeddingName() {
        return manifest.headSpec().orElseThrow().embedding();
    }

    private static void checkGraph(ModelBundle bundle, OrtSession session) throws OrtException {
        Manifest m = bundle.manifest();
        Map<String, NodeInfo> ins = session.getInputInfo();
        Map<String, NodeInfo> outs = session.getOutputInfo();
        List<String> problems = new ArrayList<>();
        String inName = m.input().tensor();
        if (!ins.containsKey(inName)) {
            problems.add("input.tensor '" + inName + "' is not an input of the graph, expected one of " + ins.keySet());
        } else {
            List<Long> expected = new ArrayList<>();
            m.input().shape().forEach(d -> expected.add(d.longValue()));
            checkTensor(problems, "input '" + inName + "'", ins.get(inName).getInfo(), expected);
        }
        if (ins.size() > 1) {
            problems.add("the graph has " + ins.size() + " inputs " + ins.keySet() + ", expected exactly one");
        }
        String outName = m.output().tensor();
        if (!outs.containsKey(outName)) {
            problems.add("output.tensor '" + outName + "' is not an output of the graph, expected one of " + outs.keySet());
        } else {
            checkTensor(problems, "output '" + outName + "'", outs.get(outName).getInfo(),
                    List.of((long) m.classCount()));
        }
        if (!problems.isEmpty()) {
            throw new BundleException(bundle.dir(), "manifest does not match " + ModelBundle.MODEL_FILE + ": "
                    + String.join("; ", problems));
        }
    }

    /** Checks dtype float and {@code [batch, expected...]}, where dynamic graph dims (-1) match anything. */
    private static void checkTensor(List<String> problems, String what, ValueInfo info, List<Long> expected) {
        if (!(info instanceof TensorInfo tensor)) {
            problems.add(what + " is " + info + ", expected a float tensor");
            return;
        }
        if (tensor.type != OnnxJavaType.FLOAT) {
            problems.add(what + " has type " + tensor.type + ", expected FLOAT");
        }
        long[] shape = tensor.getShape();
        boolean matches = shape.length == expected.size() + 1;
        for (int i = 0; matches && i < expected.size(); i++) {
            long dim = shape[i + 1];
            matches = dim < 0 || dim == expected.get(i);
        }
        if (!matches) {
            problems.add(what + " has shape " + Arrays.toString(shape) + ", manifest expects [N, "
                    + expected.toString().substring(1));
        }
    }

    public Manifest manifest() {
        return manifest;
    }

    public ModelBundle bundle() {
        return bundle;
    }

    /** For measurements side by side with the raw binding (tests and benchmarks only). */
    OrtSession session() {
        return session;
    }

    /** The input buffer the hot path reads (benchmarks copy it for the raw comparison). */
    FloatBuffer inputBuffer() {
        return input;
    }

    public ModelStats stats() {
        return stats;
    }

    /** The width of the exposed embedding, when loaded with {@link #loadWithEmbedding}. */
    public Optional<Integer> embeddingWidth() {
        return embedding == null ? Optional.empty() : Optional.of(embedding.capacity());
    }

    /**
     * As {@link #infer(Path)}, and copies the run's embedding into {@code embeddingOut} (of
     * {@link #embeddingWidth()} floats).
     *
     * @throws IllegalStateException when the engine was not loaded with {@link #loadWithEmbedding}
     */
    public Prediction infer(Path file, float[] embeddingOut) throws InputRejectedException {
        byte[] data;
        try {
            data = InputFiles.read(file, preprocessor.maxBytes(), preprocessor.sizeLimitFor());
        } catch (InputRejectedException e) {
            stats.rejected(e.reason());
            throw e;
        }
        return infer(file.toString(), data, embeddingOut);
    }

    /** Reads (see {@link InputFiles}: no links, no special files, size bounded), decodes and classifies one file. */
    public Prediction infer(Path file) throws InputRejectedException {
        byte[] data;
        try {
            data = InputFiles.read(file, preprocessor.maxBytes(), preprocessor.sizeLimitFor());
        } catch (InputRejectedException e) {
            stats.rejected(e.reason());
            throw e;
        }
        return infer(file.toString(), data);
    }

    /**
     * Decodes and classifies one input.
     *
     * @throws InputRejectedException when the input is not what the manifest expects
     * @throws InferenceException when ONNX Runtime fails
     */
    public Prediction infer(String name, byte[] data) throws InputRejectedException {
        return infer(name, data, null);
    }

    /** As {@link #infer(String, byte[])}; with {@code embeddingOut} not null, the run's embedding is copied into it. */
    public synchronized Prediction infer(String name, byte[] data, float[] embeddingOut) throws InputRejectedException {
        checkEmbedding(embeddingOut);
        if (closed) {
            throw new IllegalStateException("model " + manifest.name() + " v" + manifest.version() + " is closed");
        }
        try {
            preprocessor.fill(name, data, input);
        } catch (InputRejectedException e) {
            stats.rejected(e.reason());
            throw e;
        }
        long start = System.nanoTime();
        int top = runPrepared(name);
        long micros = (System.nanoTime() - start) / 1000;
        stats.inferred(micros);
        logits.get(0, rawLogits);
        if (embeddingOut != null) {
            embedding.get(0, embeddingOut);
        }
        return new Prediction(manifest.output().labels().get(top), top, probabilities[top],
                manifest.output().labels(), probabilities, rawLogits, micros);
    }

    private void checkEmbedding(float[] embeddingOut) {
        if (embeddingOut != null && (embedding == null || embeddingOut.length != embedding.capacity())) {
            throw new IllegalStateException("model " + manifest.name() + ": embedding of " + embeddingOut.length
                    + " floats asked, the engine exposes " + (embedding == null ? "none" : embedding.capacity()));
        }
    }

    /**
     * Classifies one sample given as the model's input tensor itself, already preprocessed
     * (the Open Inference Protocol's JSON form): {@code values} in the manifest's shape,
     * channel-major. The range check of raw values does not apply; every value must be finite.
     *
     * <p>With {@code embeddingOut} not null, the run's embedding is copied into it (as a file's).
     *
     * @throws InputRejectedException {@code wrong-size} for another number of values,
     *                                {@code not-finite} for NaN or infinity (the index is named)
     */
    public synchronized Prediction infer(String name, float[] values, float[] embeddingOut)
            throws InputRejectedException {
        checkEmbedding(embeddingOut);
        if (closed) {
            throw new IllegalStateException("model " + manifest.name() + " v" + manifest.version() + " is closed");
        }
        int expected = manifest.input().sampleSize();
        InputRejectedException refused = null;
        if (values.length != expected) {
            refused = new InputRejectedException(InputRejectedException.Reason.WRONG_SIZE, InputNames.escape(name)
                    + ": " + values.length + " values, expected " + expected + " (shape " + manifest.input().shape()
                    + ")");
        } else {
            for (int i = 0; i < values.length && refused == null; i++) {
                if (!Float.isFinite(values[i])) {
                    refused = new InputRejectedException(InputRejectedException.Reason.NOT_FINITE,
                            InputNames.escape(name) + ": value " + i + " is not finite");
                }
            }
        }
        if (refused != null) {
            stats.rejected(refused.reason());
            throw refused;
        }
        // An absolute put, as the preprocessor's: the buffer's position stays where the tensor expects it.
        input.put(0, values);
        long start = System.nanoTime();
        int top = runPrepared(name);
        long micros = (System.nanoTime() - start) / 1000;
        stats.inferred(micros);
        logits.get(0, rawLogits);
        if (embeddingOut != null) {
            embedding.get(0, embeddingOut);
        }
        return new Prediction(manifest.output().labels().get(top), top, probabilities[top],
                manifest.output().labels(), probabilities, rawLogits, micros);
    }

    /**
     * The hot path: runs the session on the input buffer as it is, softmax into
     * {@code probabilities}, returns the top class. Allocates only what ORT's Java binding does
     * per run (its small Result wrapper).
     */
    int runPrepared(String name) {
        synchronized (runLock) {
            runStarted = System.nanoTime();
        }
        OrtException failure = null;
        try (OrtSession.Result result = session.run(inputs, Set.of(), outputs, runOptions)) {
            // The outputs are pinned into `logits` (and `embedding`); the result owns nothing that needs reading.
            assert result.size() == outputs.size();
        } catch (OrtException e) {
            failure = e;
        }
        boolean stopped = endRun();
        if (stopped) {
            stats.failed();
            throw new InferenceException("model " + manifest.name() + " v" + manifest.version() + ": inference on "
                    + InputNames.escape(name) + " ran past its deadline of " + deadlineNanos / 1_000_000
                    + " ms and was stopped", failure);
        }
        if (failure != null) {
            stats.failed();
            throw new InferenceException("model " + manifest.name() + " v" + manifest.version()
                    + ": inference failed on " + InputNames.escape(name) + ": " + failure.getMessage(), failure);
        }
        int top = Postprocessor.softmax(logits, probabilities);
        if (top < 0) {
            stats.failed();
            throw new InferenceException("model " + manifest.name() + " v" + manifest.version()
                    + ": non-finite output on " + InputNames.escape(name), null);
        }
        return top;
    }

    /** Marks the run as over; true when its deadline stopped it (the terminate flag is cleared again). */
    private boolean endRun() {
        synchronized (runLock) {
            runStarted = 0;
            if (!terminated) {
                return false;
            }
            terminated = false;
            try {
                runOptions.setTerminate(false);
            } catch (OrtException e) {
                throw new InferenceException("model " + manifest.name() + ": cannot clear the terminate flag after a "
                        + "stopped run: " + e.getMessage(), e);
            }
            return true;
        }
    }

    /** On the deadline thread: stops the current run once it is older than its deadline. */
    private void checkDeadline() {
        synchronized (runLock) {
            if (runStarted == 0 || terminated || System.nanoTime() - runStarted < deadlineNanos) {
                return;
            }
            try {
                runOptions.setTerminate(true);
                terminated = true;
            } catch (OrtException | RuntimeException e) {
                Logger.error(e, "model {}: cannot stop a run past its deadline", manifest.name());
            }
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        deadlineCheck.cancel(false);
        synchronized (runLock) {
            runOptions.close();
        }
        inputTensor.close();
        outputTensor.close();
        if (embeddingTensor != null) {
            embeddingTensor.close();
        }
        OrtRuntime.close(session, options, "model " + manifest.name());
    }
}
