package dev.plateau.testing;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Test inputs: PNGs from pixel arrays, CSV windows from columns. */
public final class Files2 {
    private Files2() {}

    /** An 8-bit grayscale PNG of {@code pixels[y][x]} (0..255). */
    public static byte[] grayPng(int[][] pixels) {
        BufferedImage image = new BufferedImage(pixels[0].length, pixels.length, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < pixels.length; y++) {
            for (int x = 0; x < pixels[0].length; x++) {
                image.getRaster().setSample(x, y, 0, pixels[y][x]);
            }
        }
        return png(image);
    }

    public static byte[] png(BufferedImage image) {
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            ImageIO.write(image, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A window CSV with the given header and {@code rows} rows whose channel c holds value c + 1. */
    public static String window(String header, int rows) {
        StringBuilder csv = new StringBuilder(header).append('\n');
        int channels = header.split(",").length;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < channels; c++) {
                csv.append(c == 0 ? "" : ",").append(c + 1).append(".0");
            }
            csv.append('\n');
        }
        return csv.toString();
    }
}
