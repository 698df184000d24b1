package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.model.NoveltyGraph;
import dev.plateau.testing.TinyModels;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NoveltyTest {

    private static float[][] gaussian(int n, int dim, long seed, double scale) {
        Random r = new Random(seed);
        float[][] x = new float[n][dim];
        for (float[] row : x) {
            for (int i = 0; i < dim; i++) {
                row[i] = (float) (r.nextGaussian() * scale * (i + 1));
            }
        }
        return x;
    }

    @Test
    void cholesky_thenInverse_reproducesTheIdentity() {
        double[][] a = {{4, 2, 0.6}, {2, 5, 1}, {0.6, 1, 3}};
        double[][] inv = NoveltyFit.invertLower(NoveltyFit.cholesky(a));
        double[][] l = NoveltyFit.cholesky(a);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                double sum = 0;
                for (int k = 0; k < 3; k++) {
                    sum += inv[i][k] * l[k][j];
                }
                assertEquals(i == j ? 1 : 0, sum, 1e-12);
            }
        }
    }

    @Test
    void fit_normalWindows_flagsAboutOnePercentAndFarPointsAll() {
        NoveltyGraph.Score score = NoveltyFit.fit(gaussian(2000, 4, 1, 1));
        float[][] fresh = gaussian(2000, 4, 2, 1);
        int flagged = 0;
        for (float[] x : fresh) {
            flagged += score.distance2(x) > score.tau() ? 1 : 0;
        }
        assertTrue(flagged > 0 && flagged < 60, flagged + " of 2000 normal points above the threshold");
        float[] far = {10f, 0f, 0f, 0f};
        assertTrue(score.apply(new float[] {5f, -5f}, far, 1)[1] > 0, "a far point argues for the positive class");
    }

    @Test
    void append_graphInOnnxRuntime_matchesJavaScore() throws Exception {
        matchesInOnnxRuntime(NoveltyFit.fit(gaussian(200, 24, 3, 0.1)));
    }

    @Test
    void append_withDropTerm_graphInOnnxRuntime_matchesJavaScore() throws Exception {
        // A drop term over two of the 24 features, one of them rectified away for most inputs.
        NoveltyGraph.Score fitted = NoveltyFit.fit(gaussian(200, 24, 3, 0.1));
        float[] weights = new float[24 * 2];
        weights[0] = -3f;
        weights[5 * 2 + 1] = 2f;
        NoveltyGraph.Score score = fitted.withDrop(weights, new float[] {0.2f, -0.5f}, 1.5f, 0.7f);
        assertTrue(score.drop(new float[24]) > 0, "the drop term is not zero at the origin");
        matchesInOnnxRuntime(score);
    }

    private static void matchesInOnnxRuntime(NoveltyGraph.Score score) throws Exception {
        TinyModels.Spec spec = TinyModels.window3x8();
        byte[] model = NoveltyGraph.append(TinyModels.model(spec), new NoveltyGraph.Existing("embedding"), "logits", 1, score);
        OrtEnvironment env = OrtRuntime.environment(1);
        float[][] inputs = gaussian(20, 24, 4, 0.3);
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(model, options)) {
            for (float[] x : inputs) {
                float[][][] window = new float[1][3][8];
                for (int c = 0; c < 3; c++) {
                    System.arraycopy(x, c * 8, window[0][c], 0, 8);
                }
                try (OnnxTensor in = OnnxTensor.createTensor(env, window);
                     OrtSession.Result r = session.run(Map.of("window", in))) {
                    float[] got = ((float[][]) r.get(0).getValue())[0];
                    float[] head = new float[2];
                    for (int o = 0; o < 2; o++) {
                        for (int i = 0; i < 24; i++) {
                            head[o] += spec.weights()[o][i] * x[i];
                        }
                    }
                    float[] want = score.apply(head, x, 1);
                    assertEquals(want[0], got[0], 1e-4);
                    assertEquals(want[1], got[1], 1e-3 * Math.max(1, Math.abs(want[1])));
                }
            }
        }
    }
}
