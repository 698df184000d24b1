package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.Manifest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;

/**
 * The PNG shortcut gives exactly the input ImageIO's path gives: the same picture written
 * interlaced (which the shortcut leaves to ImageIO) and not interlaced must fill the same floats,
 * for every colour type it takes, at, above and below the model's size, for gray and RGB models.
 */
class PngDecoderTest {
    private static final int[] TYPES = {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_USHORT_GRAY,
        BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR};

    @Test
    void fill_everyTakenTypeAndSize_sameFloatsAsImageIo() throws Exception {
        SplittableRandom random = new SplittableRandom(28);
        for (int planes : new int[] {1, 3}) {
            Preprocessor pre = new Preprocessor(input(planes));
            for (int type : TYPES) {
                for (int[] size : new int[][] {{28, 28}, {61, 45}, {9, 13}, {28, 5}}) {
                    BufferedImage image = picture(type, size[0], size[1], random);
                    byte[] plain = png(image, false);
                    byte[] interlaced = png(image, true);
                    PngDecoder probe = new PngDecoder(planes);
                    assertTrue(probe.decode(plain, Long.MAX_VALUE), "shortcut not taken for type " + type);
                    assertFalse(probe.decode(interlaced, Long.MAX_VALUE), "interlaced taken for type " + type);
                    FloatBuffer fast = FloatBuffer.allocate(planes * 28 * 28);
                    FloatBuffer slow = FloatBuffer.allocate(planes * 28 * 28);
                    pre.fill("a.png", plain, fast);
                    pre.fill("b.png", interlaced, slow);
                    for (int i = 0; i < fast.capacity(); i++) {
                        assertEquals(Float.floatToRawIntBits(slow.get(i)), Float.floatToRawIntBits(fast.get(i)),
                                "planes " + planes + ", type " + type + ", " + size[0] + "x" + size[1] + ", index " + i);
                    }
                }
            }
        }
    }

    @Test
    void decode_truncatedData_leftToImageIo() throws IOException {
        byte[] whole = png(picture(BufferedImage.TYPE_BYTE_GRAY, 28, 28, new SplittableRandom(1)), false);
        PngDecoder decoder = new PngDecoder(1);
        for (int cut = 0; cut < whole.length - 12; cut += 7) {
            assertFalse(decoder.decode(java.util.Arrays.copyOf(whole, cut), Long.MAX_VALUE), "cut at " + cut);
        }
        assertTrue(decoder.decode(whole, Long.MAX_VALUE));
    }

    private static Manifest.Input input(int planes) {
        List<Double> zeros = planes == 1 ? List.of(0.0) : List.of(0.0, 0.0, 0.0);
        List<Double> ones = planes == 1 ? List.of(1.0) : List.of(1.0, 1.0, 1.0);
        return new Manifest.Input("image", List.of(planes, 28, 28),
                planes == 1 ? Manifest.Decode.IMAGE_GRAY : Manifest.Decode.IMAGE_RGB, 1.0 / 255, zeros, ones,
                null, null, null, null, null);
    }

    /** Noise over gradients, so the writer picks every filter type somewhere. */
    private static BufferedImage picture(int type, int w, int h, SplittableRandom random) {
        BufferedImage image = new BufferedImage(w, h, type);
        int max = type == BufferedImage.TYPE_USHORT_GRAY ? 65535 : 255;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int b = 0; b < image.getRaster().getNumBands(); b++) {
                    int smooth = (x * 7 + y * 3 + b * 50) * max / (w * 7 + h * 3 + 150);
                    int v = (x + y) % 3 == 0 ? random.nextInt(max + 1) : smooth;
                    image.getRaster().setSample(x, y, b, v);
                }
            }
        }
        return image;
    }

    private static byte[] png(BufferedImage image, boolean interlaced) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(interlaced ? ImageWriteParam.MODE_DEFAULT : ImageWriteParam.MODE_DISABLED);
            writer.write(null, new IIOImage(image, null, null), param);
            out.flush();
            return bytes.toByteArray();
        } finally {
            writer.dispose();
        }
    }
}
