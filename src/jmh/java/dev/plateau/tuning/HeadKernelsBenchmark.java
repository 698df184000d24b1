package dev.plateau.tuning;

import dev.plateau.bench.KernelBenchmark;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The matrix products of one training step of fashion-cnn's head (1568 -> 128, batch 32), as
 * {@link Gemm} runs them: the forward product, the weight gradient and the input gradient. The
 * printed time per call gives GFLOP/s as 2 * 32 * 1568 * 128 / time (0.0128 GFLOP per product).
 */
@State(Scope.Thread)
public class HeadKernelsBenchmark extends KernelBenchmark {
    private static final int BATCH = 32;
    private static final int IN = 1568;
    private static final int OUT = 128;

    private float[] x;
    private float[][] xRows;
    private float[][] weightsT;
    private float[][] weights;
    private float[] bias;
    private float[][] y;
    private float[] dy;
    private float[] gw;
    private float[] dx;

    @Setup
    public void setUp() {
        Random random = new Random(3);
        x = new float[BATCH * IN];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextFloat();
        }
        xRows = new float[BATCH][IN];
        Gemm.rows(x, 0, BATCH, IN, xRows);
        weights = new float[OUT][IN];
        float[] flat = new float[OUT * IN];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) random.nextGaussian() * 0.03f;
        }
        Gemm.rows(flat, 0, OUT, IN, weights);
        weightsT = new float[IN][OUT];
        Gemm.transpose(flat, 0, OUT, IN, weightsT);
        bias = new float[OUT];
        y = new float[BATCH][OUT];
        dy = new float[BATCH * OUT];
        for (int i = 0; i < dy.length; i++) {
            dy[i] = (float) random.nextGaussian() * 0.01f;
        }
        gw = new float[IN];
        dx = new float[IN];
    }

    @Benchmark
    public float[][] forward() {
        Gemm.forward(x, 0, BATCH, IN, weightsT, bias, 0, OUT, y);
        return y;
    }

    /** All 128 rows of the weight gradient. */
    @Benchmark
    public float[] weightGradient() {
        for (int o = 0; o < OUT; o++) {
            Gemm.weightGradientRow(dy, OUT, o, BATCH, xRows, IN, gw);
        }
        return gw;
    }

    /** All 32 rows of the input gradient. */
    @Benchmark
    public float[] inputGradient() {
        for (int r = 0; r < BATCH; r++) {
            Gemm.inputGradientRow(dy, OUT, r, weights, IN, dx);
        }
        return dx;
    }
}
