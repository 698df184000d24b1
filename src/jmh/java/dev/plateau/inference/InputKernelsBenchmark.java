package dev.plateau.inference;

import dev.plateau.bench.KernelBenchmark;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The per-sample kernels in front of a model's run, on the reference models' own inputs: a
 * 28x28 gray PNG decoded and preprocessed into fashion-cnn's input, a 3x256 CSV window parsed into
 * bridge-vibration's, a 640x480 camera JPEG decoded and resized into a 224x224 RGB input, and the
 * softmax over 10 logits. Run from the repository root (README: Performance, JMH).
 */
@State(Scope.Thread)
public class InputKernelsBenchmark extends KernelBenchmark {
    private byte[] png;
    private byte[] csv;
    private byte[] jpeg;
    private PngDecoder pngDecoder;
    private Preprocessor fashion;
    private Preprocessor bridge;
    private Preprocessor camera;
    private FloatBuffer fashionInput;
    private FloatBuffer bridgeInput;
    private FloatBuffer cameraInput;
    private FloatBuffer logits;
    private final float[] scores = new float[10];

    @Setup
    public void setUp() throws IOException {
        png = Files.readAllBytes(first(Path.of("models/fashion-cnn/anchor"), ".png"));
        csv = Files.readAllBytes(first(Path.of("models/bridge-vibration/anchor"), ".csv"));
        jpeg = cameraFrame(640, 480);
        pngDecoder = new PngDecoder(1);
        Manifest.Input f = ModelBundle.open(Path.of("models/fashion-cnn")).manifest().input();
        Manifest.Input b = ModelBundle.open(Path.of("models/bridge-vibration")).manifest().input();
        Manifest.Input c = new Manifest.Input("image", List.of(3, 224, 224), Manifest.Decode.IMAGE_RGB,
                1 / 255.0, List.of(0.485, 0.456, 0.406), List.of(0.229, 0.224, 0.225), null, null, null, null, null);
        fashion = new Preprocessor(f);
        bridge = new Preprocessor(b);
        camera = new Preprocessor(c);
        fashionInput = OrtRuntime.direct(f.sampleSize());
        bridgeInput = OrtRuntime.direct(b.sampleSize());
        cameraInput = OrtRuntime.direct(c.sampleSize());
        logits = OrtRuntime.direct(10);
        Random random = new Random(1);
        for (int i = 0; i < 10; i++) {
            logits.put(i, (float) random.nextGaussian() * 4);
        }
    }

    /** A camera-like frame: smooth gradients and noise, so the JPEG is of a realistic size. */
    private static byte[] cameraFrame(int w, int h) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Random random = new Random(2);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = (x * 255 / w + random.nextInt(16)) & 0xff;
                int g = (y * 255 / h + random.nextInt(16)) & 0xff;
                int bl = ((x + y) * 255 / (w + h) + random.nextInt(16)) & 0xff;
                image.setRGB(x, y, r << 16 | g << 8 | bl);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "jpeg", out);
        return out.toByteArray();
    }

    private static Path first(Path dir, String suffix) throws IOException {
        try (var files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(suffix)).sorted().findFirst()
                    .orElseThrow(() -> new IOException("no " + suffix + " under " + dir + ": run from the repository root"));
        }
    }

    @Benchmark
    public boolean pngDecode28x28() {
        return pngDecoder.decode(png, Long.MAX_VALUE);
    }

    @Benchmark
    public FloatBuffer pngToFashionInput() throws InputRejectedException {
        fashion.fill("a.png", png, fashionInput);
        return fashionInput;
    }

    @Benchmark
    public FloatBuffer csvToBridgeInput() throws InputRejectedException {
        bridge.fill("a.csv", csv, bridgeInput);
        return bridgeInput;
    }

    @Benchmark
    public FloatBuffer jpeg640x480To224x224Rgb() throws InputRejectedException {
        camera.fill("frame.jpg", jpeg, cameraInput);
        return cameraInput;
    }

    @Benchmark
    public int softmax10() {
        return Postprocessor.softmax(logits, scores);
    }
}
