package dev.plateau.tuning;

import dev.plateau.inference.EmbeddingExtractor;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.HeadGraph;
import dev.plateau.model.HeadLayer;
import dev.plateau.model.ModelBundle;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The head-training half of {@code plateau bench tune}: embeds a labelled directory once with the
 * bundle's backbone, then trains the bundle's head for a fixed number of steps exactly as a
 * fine-tune's inner loop does (gather a batch, forward, cross-entropy, backward, gradient norm,
 * Adam), from the same starting weights each time. Step {@code s} takes the rows
 * {@code (s * batch + j) mod n}, so that another implementation can train on the same batches
 * (see {@link #writeForPeer}).
 */
public final class HeadBenchmark {
    /** Head-benchmark file magic, "PLHB" as a little-endian int. */
    static final int MAGIC = 0x504C4842;

    private HeadBenchmark() {}

    /** A directory's embeddings and the time the backbone took for them. */
    public record Embedded(HeadGraph head, Samples samples, long millis) {}

    /** Timed runs of the same steps; {@code runsMillis} are wall-clock times, one per run. */
    public record Runs(int steps, int batch, double flopsPerStep, double[] runsMillis, double finalLoss) {
        public double medianMillis() {
            double[] s = runsMillis.clone();
            Arrays.sort(s);
            int m = s.length / 2;
            return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
        }

        public double gflops() {
            return flopsPerStep * steps / (medianMillis() * 1e6);
        }
    }

    /** Embeds every labelled file of {@code dir} with the bundle's backbone on one thread. */
    public static Embedded embed(ModelBundle bundle, Path dir) {
        HeadGraph head = HeadGraph.read(bundle);
        SampleDirectory data = SampleDirectory.scan(dir, bundle.manifest().output().labels());
        try (EmbeddingExtractor extractor = EmbeddingExtractor.open(bundle.dir(), bundle.manifest(),
                head.withEmbeddingOutput(), head.embeddingTensor(), head.embeddingWidth(), OrtRuntime.environment(1))) {
            long start = System.nanoTime();
            Samples samples = Embeddings.of(extractor, data.samples(), "benchmark data");
            return new Embedded(head, samples, (System.nanoTime() - start) / 1_000_000);
        }
    }

    /**
     * Trains {@code head} on {@code samples} for {@code steps} steps of {@code batch} rows with the
     * default Adam settings, once to warm up and then {@code repeats} times, each from the initial
     * weights.
     */
    public static Runs train(List<HeadLayer> head, Samples samples, int steps, int batch, int repeats) {
        if (steps < 1 || batch < 1 || repeats < 1 || !samples.isClassification()) {
            throw new IllegalArgumentException("head benchmark: steps, batch and repeats must be >= 1 on "
                    + "classification samples (found " + steps + ", " + batch + ", " + repeats + ")");
        }
        HeadNetwork net = new HeadNetwork(head);
        HeadMetrics.check(net, samples);
        float[] initial = net.parameters().clone();
        TuningConfig config = TuningConfig.defaults();
        Batch b = new Batch(batch, net.inputs(), net.outputs(), true);
        double[] runs = new double[repeats];
        double loss = Double.NaN;
        for (int r = -1; r < repeats; r++) {
            System.arraycopy(initial, 0, net.parameters(), 0, initial.length);
            Optimizer adam = Optimizer.create(config, net.parameterCount());
            long start = System.nanoTime();
            loss = steps(net, samples, b, adam, config.lr(), steps);
            if (r >= 0) {
                runs[r] = (System.nanoTime() - start) / 1e6;
            }
        }
        System.arraycopy(initial, 0, net.parameters(), 0, initial.length);
        return new Runs(steps, batch, flopsPerStep(head, batch), runs, loss);
    }

    /** The loop of a fine-tune's steps (see {@code TrainingRun}) without its guards; returns the last loss. */
    private static double steps(HeadNetwork net, Samples samples, Batch b, Optimizer adam, double lr, int steps) {
        Loss loss = new CrossEntropy();
        int n = samples.size();
        int size = b.dLogits.length / net.outputs();
        double value = Double.NaN;
        for (int s = 0; s < steps; s++) {
            for (int j = 0; j < size; j++) {
                samples.copyRow((int) (((long) s * size + j) % n), b, j);
            }
            b.n = size;
            float[] out = net.forward(b.x, 0, size);
            value = loss.compute(out, net.outputs(), b, b.dLogits);
            net.backward(b.dLogits, size);
            Gradients.globalNorm(net.gradients());
            adam.step(net.parameters(), net.gradients(), lr);
        }
        return value;
    }

    /**
     * Multiply-adds of one step, counted 2 FLOPs each: every dense layer's forward and weight
     * gradient, and its input gradient where a dense layer is below it.
     */
    static double flopsPerStep(List<HeadLayer> head, int batch) {
        double flops = 0;
        boolean denseBelow = false;
        for (HeadLayer l : head) {
            if (l instanceof HeadLayer.Dense d) {
                double mac = (double) batch * d.inputs() * d.outputs();
                flops += 2 * mac * (denseBelow ? 3 : 2);
                denseBelow = true;
            }
        }
        return flops;
    }

    /** The default Adam settings as the peer script's arguments. */
    public static List<String> adamArguments() {
        TuningConfig c = TuningConfig.defaults();
        return List.of("--lr", Double.toString(c.lr()), "--beta1", Double.toString(c.beta1()),
                "--beta2", Double.toString(c.beta2()), "--eps", Double.toString(c.epsilon()));
    }

    /**
     * Writes the embeddings, labels and head weights in the little-endian format that
     * {@code models/training/bench_head_torch.py} reads (its docstring has the layout).
     */
    public static void writeForPeer(Path file, Samples samples, List<HeadLayer> head) {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            int n = samples.size();
            int dim = samples.dim();
            writeInts(os, MAGIC, n, dim, head.size());
            Batch row = new Batch(1, dim, 1, true);
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                samples.copyRow(i, row, 0);
                writeFloats(os, row.x);
                labels[i] = row.labels[0];
            }
            writeInts(os, labels);
            for (HeadLayer l : head) {
                if (l instanceof HeadLayer.Dense d) {
                    writeInts(os, 0, d.inputs(), d.outputs());
                    writeFloats(os, d.weight());
                    writeFloats(os, d.bias());
                } else {
                    writeInts(os, 1, l.inputs(), l.outputs());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("head benchmark: cannot write " + file.getFileName(), e);
        }
    }

    private static void writeInts(OutputStream os, int... values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        os.write(b.array());
    }

    private static void writeFloats(OutputStream os, float[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        os.write(b.array());
    }
}
