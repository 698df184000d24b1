package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.BundleException;
import dev.plateau.model.ModelBundle;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyModels;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceEngineTest {
    @TempDir
    Path tmp;

    private InferenceEngine gray() throws IOException {
        return load(TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4()));
    }

    private InferenceEngine window() throws IOException {
        return load(TinyModels.bundle(tmp.resolve("window"), TinyModels.window3x8()));
    }

    private static InferenceEngine load(Path bundle) {
        return InferenceEngine.load(ModelBundle.open(bundle), OrtRuntime.environment(1), 0);
    }

    @Test
    void infer_grayImage_matchesHandComputedSoftmax() throws Exception {
        // Row 1 bright (255 -> 1.0 each, sum 4), others dark: logits [0, 4, 0].
        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        try (InferenceEngine engine = gray()) {
            Prediction p = engine.infer("x.png", Files2.grayPng(px));
            double e4 = Math.exp(4);
            assertAll(
                    () -> assertEquals("middle", p.label()),
                    () -> assertEquals(e4 / (e4 + 2), p.score(), 1e-5),
                    () -> assertEquals(1 / (e4 + 2), p.score(0), 1e-5));
        }
    }

    @Test
    void infer_largerRgbImage_isResizedAndConvertedToGray() throws Exception {
        BufferedImage rgb = new BufferedImage(40, 40, BufferedImage.TYPE_INT_RGB);
        // White rows 20..29 average into input row 2, which class 'lower' sums: logits [0, 0, 4].
        for (int y = 20; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                rgb.setRGB(x, y, 0xffffff);
            }
        }
        try (InferenceEngine engine = gray()) {
            Prediction p = engine.infer("frame.png", Files2.png(rgb));
            double e4 = Math.exp(4);
            assertAll(
                    () -> assertEquals("lower", p.label()),
                    () -> assertEquals(e4 / (e4 + 2), p.score(), 1e-5));
        }
    }

    @Test
    void infer_csvWindowInAnyColumnOrder_usesChannelNames() throws Exception {
        try (InferenceEngine engine = window()) {
            // az holds 3.0 in "ax,ay,az" order and 1.0 when listed first.
            Prediction ordered = engine.infer("w.csv", Files2.window("ax,ay,az", 8).getBytes(StandardCharsets.UTF_8));
            Prediction swapped = engine.infer("w.csv", Files2.window("az,ay,ax", 8).getBytes(StandardCharsets.UTF_8));
            double e24 = Math.exp(24);
            assertAll(
                    () -> assertEquals(e24 / (1 + e24), ordered.score(1), 1e-6),
                    () -> assertEquals(Math.exp(8) / (1 + Math.exp(8)), swapped.score(1), 1e-6));
        }
    }

    private static InputRejectedException rejected(InferenceEngine engine, String name, byte[] data) {
        return assertThrows(InputRejectedException.class, () -> engine.infer(name, data));
    }

    @Test
    void infer_garbageBytes_rejectedAsUnsupportedFormat() throws Exception {
        try (InferenceEngine engine = gray()) {
            InputRejectedException e = rejected(engine, "junk.png", "not an image".getBytes(StandardCharsets.UTF_8));
            assertEquals(InputRejectedException.Reason.UNSUPPORTED_FORMAT, e.reason());
            assertTrue(e.getMessage().contains("junk.png"), e.getMessage());
        }
    }

    @Test
    void infer_truncatedPng_rejectedAsUnreadable() throws Exception {
        byte[] png = Files2.grayPng(new int[4][4]);
        byte[] cut = java.util.Arrays.copyOf(png, 30);
        try (InferenceEngine engine = gray()) {
            assertEquals(InputRejectedException.Reason.UNREADABLE, rejected(engine, "cut.png", cut).reason());
        }
    }

    @Test
    void infer_windowTooShort_rejectedAsWrongSizeNamingBoth() throws Exception {
        try (InferenceEngine engine = window()) {
            InputRejectedException e = rejected(engine, "w.csv", Files2.window("ax,ay,az", 7).getBytes(StandardCharsets.UTF_8));
            assertEquals(InputRejectedException.Reason.WRONG_SIZE, e.reason());
            assertTrue(e.getMessage().contains("7 rows, expected exactly 8"), e.getMessage());
        }
    }

    @Test
    void infer_windowTooLong_rejectedAsWrongSize() throws Exception {
        try (InferenceEngine engine = window()) {
            assertEquals(InputRejectedException.Reason.WRONG_SIZE,
                    rejected(engine, "w.csv", Files2.window("ax,ay,az", 9).getBytes(StandardCharsets.UTF_8)).reason());
        }
    }

    @Test
    void infer_wrongChannelCount_rejectedNamingExpectedChannels() throws Exception {
        try (InferenceEngine engine = window()) {
            InputRejectedException e = rejected(engine, "w.csv", Files2.window("ax,ay", 8).getBytes(StandardCharsets.UTF_8));
            assertEquals(InputRejectedException.Reason.WRONG_CHANNELS, e.reason());
            assertTrue(e.getMessage().contains("[ax, ay, az]"), e.getMessage());
        }
    }

    @Test
    void infer_unknownChannelName_rejected() throws Exception {
        try (InferenceEngine engine = window()) {
            assertEquals(InputRejectedException.Reason.WRONG_CHANNELS,
                    rejected(engine, "w.csv", Files2.window("ax,ay,temp", 8).getBytes(StandardCharsets.UTF_8)).reason());
        }
    }

    @Test
    void infer_nanOrInfinity_rejectedAsNotFinite() throws Exception {
        try (InferenceEngine engine = window()) {
            String nan = Files2.window("ax,ay,az", 8).replaceFirst("2\\.0", "NaN");
            String inf = Files2.window("ax,ay,az", 8).replaceFirst("2\\.0", "Infinity");
            assertAll(
                    () -> assertEquals(InputRejectedException.Reason.NOT_FINITE,
                            rejected(engine, "n.csv", nan.getBytes(StandardCharsets.UTF_8)).reason()),
                    () -> assertEquals(InputRejectedException.Reason.NOT_FINITE,
                            rejected(engine, "i.csv", inf.getBytes(StandardCharsets.UTF_8)).reason()));
        }
    }

    @Test
    void infer_valueOutsideManifestRange_rejectedAsOutOfRangeNamingThePositionNotTheValue() throws Exception {
        try (InferenceEngine engine = window()) {
            String spike = Files2.window("ax,ay,az", 8).replaceFirst("2\\.0", "5000.0");
            InputRejectedException e = rejected(engine, "s.csv", spike.getBytes(StandardCharsets.UTF_8));
            assertEquals(InputRejectedException.Reason.OUT_OF_RANGE, e.reason());
            assertTrue(e.getMessage().contains("line 2, column 2 (ay): outside the plausible range [-100.0, 100.0]"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("5000"), e.getMessage());
        }
    }

    @Test
    void infer_textInsteadOfNumber_rejectedAsUnreadable() throws Exception {
        try (InferenceEngine engine = window()) {
            String text = Files2.window("ax,ay,az", 8).replaceFirst("2\\.0", "oops");
            assertEquals(InputRejectedException.Reason.UNREADABLE,
                    rejected(engine, "t.csv", text.getBytes(StandardCharsets.UTF_8)).reason());
        }
    }

    @Test
    void infer_afterRejection_engineKeepsWorkingAndCounts() throws Exception {
        try (InferenceEngine engine = window()) {
            rejected(engine, "w.csv", Files2.window("ax,ay", 8).getBytes(StandardCharsets.UTF_8));
            engine.infer("ok.csv", Files2.window("ax,ay,az", 8).getBytes(StandardCharsets.UTF_8));
            ModelStats.Snapshot s = engine.stats().snapshot();
            assertAll(
                    () -> assertEquals(1, s.inferences()),
                    () -> assertEquals(1, s.rejected()),
                    () -> assertEquals(1L, s.rejectedByReason().get(InputRejectedException.Reason.WRONG_CHANNELS)));
        }
    }

    @Test
    void load_inputTensorNameDiffers_namesBothNames() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s, TinyModels.manifest(s).replace("tensor: image", "tensor: pixels"));
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("input.tensor 'pixels' is not an input of the graph, expected one of [image]"),
                e.getMessage());
    }

    @Test
    void load_inputShapeDiffers_namesGraphAndManifestShapes() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s, TinyModels.manifest(s).replace("[1, 4, 4]", "[1, 5, 4]"));
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("has shape [-1, 1, 4, 4], manifest expects [N, 1, 5, 4]"), e.getMessage());
    }

    @Test
    void load_labelCountDiffers_namesOutputShape() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s,
                TinyModels.manifest(s).replace("[top, middle, lower]", "[top, middle, lower, extra]"));
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("output 'logits' has shape [-1, 3], manifest expects [N, 4]"), e.getMessage());
    }

    @Test
    void load_outputTensorNameDiffers_listsGraphOutputs() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s, TinyModels.manifest(s).replace("tensor: logits", "tensor: probs"));
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("output.tensor 'probs' is not an output of the graph, expected one of [logits]"),
                e.getMessage());
    }

    @Test
    void load_decodeDisagreesWithShape_explainsExpectedShape() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s, TinyModels.manifest(s).replace("image-gray", "image-rgb"));
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("image-rgb expects [3, height, width], found [1, 4, 4]"), e.getMessage());
    }

    @Test
    void load_unknownDecode_listsTheKnownOnes() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s, TinyModels.manifest(s).replace("image-gray", "image-grey"));
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("image-grey") && e.getMessage().contains("image-gray"), e.getMessage());
    }

    @Test
    void load_notAnOnnxFile_saysOnnxRuntimeCannotLoadIt() throws IOException {
        TinyModels.Spec s = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("b"), s);
        java.nio.file.Files.writeString(dir.resolve("model.onnx"), "garbage");
        BundleException e = assertThrows(BundleException.class, () -> load(dir));
        assertTrue(e.getMessage().contains("ONNX Runtime cannot load model.onnx"), e.getMessage());
    }

    @Test
    void open_missingManifest_saysWhatABundleHolds() throws IOException {
        Path dir = TinyModels.bundle(tmp.resolve("b"), TinyModels.gray4x4());
        java.nio.file.Files.delete(dir.resolve("manifest.yaml"));
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(dir));
        assertTrue(e.getMessage().contains("missing manifest.yaml"), e.getMessage());
    }

    @Test
    void close_calledTwice_isHarmless() throws IOException {
        InferenceEngine engine = gray();
        engine.close();
        engine.close();
        assertThrows(IllegalStateException.class, () -> engine.infer("x.png", Files2.grayPng(new int[4][4])));
    }

    /** The Open Inference Protocol's tensor form gives the drift monitor the same embedding a file gives. */
    @Test
    void infer_tensorOfAFile_sameScoresAndEmbeddingAsTheFile() throws Exception {
        Path png = Path.of("models/fashion-cnn/anchor/bag/30590.png");
        BufferedImage image = javax.imageio.ImageIO.read(png.toFile());
        float[] tensor = new float[28 * 28];
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                tensor[y * 28 + x] = (image.getRaster().getSample(x, y, 0)) * (float) 0.00392156862745098;
            }
        }
        try (InferenceEngine engine = InferenceEngine.loadWithEmbedding(ModelBundle.open(Path.of("models/fashion-cnn")),
                OrtRuntime.environment(1), 0)) {
            float[] fromFile = new float[engine.embeddingWidth().orElseThrow()];
            float[] fromTensor = new float[fromFile.length];
            Prediction a = engine.infer(png, fromFile);
            Prediction b = engine.infer("tensor-1", tensor, fromTensor);
            assertArrayEquals(a.scores(), b.scores(), 1e-6f);
            assertArrayEquals(fromFile, fromTensor, 1e-6f);
            assertTrue(java.util.stream.IntStream.range(0, fromFile.length).anyMatch(i -> fromFile[i] != 0),
                    "an embedding, not zeros");
        }
    }
}
