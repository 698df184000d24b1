package dev.plateau.model;

import static dev.plateau.model.HeadRuns.assertRowsEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The head of the shipped reference model, read and rewritten, against ONNX Runtime on real test images. */
class FashionCnnHeadTest {
    private static final Path MODEL = Path.of("models/fashion-cnn/model.onnx");
    private static final Path IMAGES = Path.of("src/test/resources/fixtures/fashion-test");

    /** The first image of every class, as pixel / 255 in [1, 28, 28]. */
    private static float[][] images() throws IOException {
        List<float[]> images = new ArrayList<>();
        try (Stream<Path> labels = Files.list(IMAGES)) {
            for (Path label : labels.sorted().toList()) {
                try (Stream<Path> files = Files.list(label)) {
                    Path first = files.filter(f -> f.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
                    images.add(pixels(ImageIO.read(first.toFile())));
                }
            }
        }
        return images.toArray(float[][]::new);
    }

    private static float[] pixels(BufferedImage image) {
        assertEquals(28, image.getWidth());
        assertEquals(28, image.getHeight());
        Raster raster = image.getRaster();
        float[] pixels = new float[28 * 28];
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                pixels[y * 28 + x] = raster.getSample(x, y, 0) / 255f;
            }
        }
        return pixels;
    }

    @Test
    void read_fashionCnn_givesDense128ReluDense10() {
        HeadGraph head = HeadGraph.read(MODEL, "embedding", "logits");

        assertEquals(1568, head.embeddingWidth());
        assertEquals("[Dense[/head/head.0/Gemm, 128x1568], Relu[name=/head/head.1/Relu, size=128],"
                + " Dense[/head/head.2/Gemm, 10x128]]", head.layers().toString());
    }

    @Test
    void withEmbeddingOutput_fashionCnn_javaHeadMatchesOrtLogits() throws IOException, OrtException {
        HeadGraph head = HeadGraph.read(MODEL, "embedding", "logits");
        float[][] images = images();
        long[] shape = {1, 28, 28};

        Map<String, float[][]> out = HeadRuns.run(head.withEmbeddingOutput(), "image", images, shape,
                "embedding", "logits");
        float[][] original = HeadRuns.run(Files.readAllBytes(MODEL), "image", images, shape, "logits").get("logits");

        assertEquals(10, images.length);
        assertEquals(1568, out.get("embedding")[0].length);
        float[][] java = new float[images.length][];
        for (int i = 0; i < images.length; i++) {
            java[i] = HeadRuns.forward(head.layers(), out.get("embedding")[i]);
        }
        assertRowsEqual(out.get("logits"), java, 1e-4);
        assertRowsEqual(original, out.get("logits"), 1e-6);
    }

    @Test
    void withHead_fashionCnnUnchangedLayers_reproducesTheModel() throws IOException {
        byte[] model = Files.readAllBytes(MODEL);
        HeadGraph head = HeadGraph.read(model, "embedding", "logits");

        byte[] rewritten = head.withHead(head.layers());

        assertEquals(OnnxMl.ModelProto.parseFrom(model), OnnxMl.ModelProto.parseFrom(rewritten));
    }
}
