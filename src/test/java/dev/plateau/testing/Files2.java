package dev.plateau.testing;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
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

    /**
     * A huge 8-bit PNG (gray or RGB) that is small on disk, written without ever holding its
     * pixels: black, with rows {@code [brightFrom, brightTo)} white. An 8192 x 8192 RGB one is
     * about 200 KB and decodes to 192 MB.
     */
    public static Path hugePng(Path file, int width, int height, boolean rgb, int brightFrom, int brightTo)
            throws IOException {
        int bands = rgb ? 3 : 1;
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat, new Deflater(Deflater.BEST_COMPRESSION), 1 << 16)) {
            byte[] dark = new byte[1 + width * bands];
            byte[] bright = new byte[1 + width * bands];
            Arrays.fill(bright, 1, bright.length, (byte) 0xff);
            for (int y = 0; y < height; y++) {
                z.write(y >= brightFrom && y < brightTo ? bright : dark); // filter byte 0: none
            }
        }
        try (OutputStream out = Files.newOutputStream(file); DataOutputStream data = new DataOutputStream(out)) {
            data.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
            DataOutputStream h = new DataOutputStream(ihdr);
            h.writeInt(width);
            h.writeInt(height);
            h.write(new byte[] {8, (byte) (rgb ? 2 : 0), 0, 0, 0});
            chunk(data, "IHDR", ihdr.toByteArray());
            chunk(data, "IDAT", idat.toByteArray());
            chunk(data, "IEND", new byte[0]);
        }
        return file;
    }

    /** Writes one PNG chunk: length, type, body, CRC-32 over type and body. */
    public static void chunk(DataOutputStream out, String type, byte[] body) throws IOException {
        byte[] name = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(name);
        crc.update(body);
        out.writeInt(body.length);
        out.write(name);
        out.write(body);
        out.writeInt((int) crc.getValue());
    }

    /** A file of {@code bytes} bytes of {@code fill}, written in blocks: a one-line CSV when fill is a digit. */
    public static Path bigFile(Path file, long bytes, byte fill) throws IOException {
        byte[] block = new byte[1 << 16];
        Arrays.fill(block, fill);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = bytes; left > 0; left -= block.length) {
                out.write(block, 0, (int) Math.min(block.length, left));
            }
        }
        return file;
    }

    /**
     * Puts {@code bytes} into a watched directory the way a well-behaved producer does: written under a
     * hidden name, then renamed into place, so a daemon polling with {@code settle_ms: 0} never takes the
     * file while it is still empty or half-written (a plain {@code Files.write} was once taken at 0 bytes
     * and rejected as "not an image format", under load).
     */
    public static Path drop(Path file, byte[] bytes) throws IOException {
        Path part = file.resolveSibling("." + file.getFileName() + ".part");
        Files.write(part, bytes);
        return Files.move(part, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
