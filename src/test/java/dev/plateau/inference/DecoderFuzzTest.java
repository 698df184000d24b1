package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Fuzzing of the input decoders (jqwik properties; tries per property: README, Reliability): the
 * CSV window parser and the image decoder's guards take any bytes, and answer with a value or an
 * {@link InputRejectedException} whose message never quotes the input, never anything else.
 */
class DecoderFuzzTest {
    private static Path tmp;
    private static Manifest.Input window;
    private static Manifest.Input gray;

    @BeforeContainer
    static void bundles() throws IOException {
        tmp = Files.createTempDirectory("decoder-fuzz");
        window = ModelBundle.open(TinyModels.bundle(tmp.resolve("window"), TinyModels.window3x8())).manifest().input();
        gray = ModelBundle.open(TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4())).manifest().input();
    }

    @AfterContainer
    static void cleanUp() throws IOException {
        try (var files = Files.walk(tmp)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Decodes, failing on anything but a result or a rejection; the rejection or null. */
    private static InputRejectedException decode(Manifest.Input input, byte[] data, FloatBuffer dst) {
        try {
            new Preprocessor(input).fill("fuzz.in", data, dst);
            return null;
        } catch (InputRejectedException e) {
            return e;
        } catch (RuntimeException e) {
            throw new AssertionError("not a rejection but " + e, e);
        }
    }

    private static FloatBuffer buffer(Manifest.Input input) {
        return FloatBuffer.allocate(input.sampleSize());
    }

    // ---- CSV windows ----------------------------------------------------------------------

    @Provide
    Arbitrary<double[][]> windows() {
        Arbitrary<Double> value = Arbitraries.doubles().between(-100, 100).ofScale(4);
        return value.array(double[].class).ofSize(3).array(double[][].class).ofSize(8);
    }

    private static String csv(double[][] rows) {
        StringBuilder s = new StringBuilder("ax,ay,az\n");
        for (double[] row : rows) {
            s.append(row[0]).append(',').append(row[1]).append(',').append(row[2]).append('\n');
        }
        return s.toString();
    }

    @Property
    void csv_validWindow_acceptedWithEveryValueInPlace(@ForAll("windows") double[][] rows) {
        FloatBuffer dst = buffer(window);
        InputRejectedException e = decode(window, csv(rows).getBytes(StandardCharsets.UTF_8), dst);
        assertEquals(null, e, () -> "a valid window refused: " + e.getMessage() + "\n" + csv(rows));
        for (int r = 0; r < 8; r++) {
            for (int c = 0; c < 3; c++) {
                assertEquals((float) rows[r][c], dst.get(c * 8 + r), 1e-3, "row " + r + " channel " + c);
            }
        }
    }

    @Property
    void csv_validWindowWithBomAndCrlf_accepted(@ForAll("windows") double[][] rows) {
        byte[] text = ("\uFEFF" + csv(rows).replace("\n", "\r\n")).getBytes(StandardCharsets.UTF_8);
        InputRejectedException e = decode(window, text, buffer(window));
        assertEquals(null, e, () -> "refused: " + e.getMessage());
    }

    /** One cell replaced by something that is not a plain finite decimal in range: always refused. */
    @Property
    void csv_oneBadCell_rejectedWithItsPositionAndNotItsText(@ForAll("windows") double[][] rows,
            @ForAll @IntRange(min = 0, max = 7) int row, @ForAll @IntRange(min = 0, max = 2) int col,
            @ForAll("badCells") String cell) {
        String[] lines = csv(rows).split("\n", -1);
        String[] cells = lines[row + 1].split(",");
        cells[col] = cell;
        lines[row + 1] = String.join(",", cells);
        String text = String.join("\n", lines);
        InputRejectedException e = decode(window, text.getBytes(StandardCharsets.UTF_8), buffer(window));
        assertTrue(e != null, () -> "accepted a bad cell '" + cell + "':\n" + text);
        String message = e.getMessage();
        assertTrue(message.contains("line " + (row + 2)), message);
        if (cell.length() >= 4 && !cell.isBlank()) {
            assertFalse(message.contains(cell.strip()), "the message quotes the cell: " + message);
        }
    }

    @Provide
    Arbitrary<String> badCells() {
        return Arbitraries.oneOf(
                Arbitraries.of("NaN", "nan", "Infinity", "-Infinity", "inf", "", " ", "1e999", "-1e999", "0x1p2",
                        "1f", "9.8d", "1,5", "--1", "1..2", "+-3", "1e", "e5", "\"1\""),
                Arbitraries.strings().withCharRange('a', 'z').ofMinLength(4).ofMaxLength(30)
                        .map(s -> "x" + s + "secret"),
                Arbitraries.doubles().between(100.001, 1e6).ofScale(3).map(d -> Double.toString(d)),
                Arbitraries.strings().ofMinLength(65).ofMaxLength(200).withCharRange('0', '9'));
    }

    @Property
    void csv_wrongRowCount_rejectedAsWrongSize(@ForAll("windows") double[][] rows,
            @ForAll @IntRange(min = 0, max = 20) int count) {
        if (count == 8) {
            return;
        }
        double[][] other = Arrays.copyOf(rows, count);
        for (int i = 8; i < count; i++) {
            other[i] = rows[i % 8];
        }
        InputRejectedException e = decode(window, csv(other).getBytes(StandardCharsets.UTF_8), buffer(window));
        assertTrue(e != null, "accepted " + count + " rows");
        assertEquals(InputRejectedException.Reason.WRONG_SIZE, e.reason(), e.getMessage());
    }

    @Property
    void csv_wrongChannels_rejectedAsWrongChannels(@ForAll("windows") double[][] rows,
            @ForAll("headers") String header) {
        String text = csv(rows).replaceFirst("ax,ay,az", header);
        InputRejectedException e = decode(window, text.getBytes(StandardCharsets.UTF_8), buffer(window));
        assertTrue(e != null, "accepted header " + header);
        assertTrue(e.reason() == InputRejectedException.Reason.WRONG_CHANNELS
                || e.reason() == InputRejectedException.Reason.UNSUPPORTED_FORMAT, e.reason() + ": " + e.getMessage());
    }

    @Provide
    Arbitrary<String> headers() {
        return Arbitraries.of("ax,ay", "ax,ay,az,bx", "x,y,z", "AX,AY,AZ", "ax,,az", "ax;ay;az", "");
    }

    /** Any bytes at all: a result or a rejection, within the size bound, never an exception. */
    @Property
    void csv_anyBytes_resultOrRejectionOnly(@ForAll @Size(max = 2048) byte[] data) {
        decode(window, data, buffer(window));
    }

    /** Text that looks like a window, with random bytes spliced in: same, and the splice never echoed. */
    @Property
    void csv_windowWithSplicedBytes_resultOrRejectionThatQuotesNothing(@ForAll("windows") double[][] rows,
            @ForAll @IntRange(min = 0, max = 200) int at, @ForAll @Size(min = 1, max = 64) byte[] splice) {
        byte[] text = csv(rows).getBytes(StandardCharsets.UTF_8);
        int pos = Math.min(at, text.length);
        byte[] mark = "qzxjsecretqzxj".getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(text, 0, pos);
        out.writeBytes(splice);
        out.writeBytes(mark);
        out.write(text, pos, text.length - pos);
        InputRejectedException e = decode(window, out.toByteArray(), buffer(window));
        assertTrue(e != null, "accepted a window with 'qzxjsecretqzxj' spliced in");
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
    }

    // ---- images ---------------------------------------------------------------------------

    @Property
    void image_validGray4x4_acceptedAndScaled(@ForAll("pixels") int[][] px) {
        FloatBuffer dst = buffer(gray);
        InputRejectedException e = decode(gray, Files2.grayPng(px), dst);
        assertEquals(null, e, () -> "refused: " + e.getMessage());
        for (int i = 0; i < 16; i++) {
            assertEquals(px[i / 4][i % 4] / 255f, dst.get(i), 1e-6, "pixel " + i);
        }
    }

    @Provide
    Arbitrary<int[][]> pixels() {
        return Arbitraries.integers().between(0, 255).array(int[].class).ofSize(4).array(int[][].class).ofSize(4);
    }

    /**
     * A valid PNG cut short: rejected, or (when only the trailer went: the checksums, IEND) decoded
     * to exactly its pixels; never rows made up for the missing data.
     */
    @Property
    void image_truncatedPng_rejectedOrDecodedToItsOwnPixels(@ForAll("pixels") int[][] px,
            @ForAll @IntRange(min = 0, max = 1000) int cut) {
        byte[] png = Files2.grayPng(px);
        byte[] truncated = Arrays.copyOf(png, Math.min(cut, png.length - 1));
        FloatBuffer dst = buffer(gray);
        InputRejectedException e = decode(gray, truncated, dst);
        if (e == null) {
            for (int i = 0; i < 16; i++) {
                assertEquals(px[i / 4][i % 4] / 255f, dst.get(i), 1e-6, "a PNG cut at " + truncated.length + " of "
                        + png.length + " accepted with pixel " + i + " made up");
            }
        }
    }

    /** A valid PNG with one byte changed: a result or a rejection. */
    @Property
    void image_flippedByte_resultOrRejectionOnly(@ForAll("pixels") int[][] px,
            @ForAll @IntRange(min = 0, max = 1000) int flipAt, @ForAll byte flip) {
        byte[] flipped = Files2.grayPng(px);
        flipped[flipAt % flipped.length] ^= flip == 0 ? 1 : flip;
        decode(gray, flipped, buffer(gray));
    }

    /**
     * A PNG header claiming any dimensions (up to 2^31-1 a side), any bit depth and colour type,
     * with a few bytes of data: the guards answer before any raster of that size is made.
     */
    @Property
    void image_anyHeaderDimensions_rejectedOrDecodedWithoutRunningOutOfMemory(
            @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int width,
            @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int height,
            @ForAll("depths") int depth, @ForAll("colourTypes") int colourType,
            @ForAll @Size(max = 64) byte[] idat) {
        byte[] png = png(width, height, depth, colourType, idat);
        long before = System.nanoTime();
        InputRejectedException e = decode(gray, png, buffer(gray));
        long millis = (System.nanoTime() - before) / 1_000_000;
        assertTrue(e != null || (long) width * height <= 1L << 26, "accepted " + width + "x" + height);
        assertTrue(millis < 5_000, "took " + millis + " ms for a " + width + "x" + height + " header");
    }

    @Provide
    Arbitrary<Integer> depths() {
        return Arbitraries.of(1, 2, 4, 8, 16, 0, 3, 255);
    }

    @Provide
    Arbitrary<Integer> colourTypes() {
        return Arbitraries.of(0, 2, 3, 4, 6, 1, 7);
    }

    /** Any bytes behind the PNG signature: a rejection (they are not a PNG), never an exception. */
    @Property
    void image_anyBytesAfterThePngSignature_rejected(@ForAll @Size(max = 4096) byte[] rest) {
        byte[] data = new byte[8 + rest.length];
        System.arraycopy(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, 0, data, 0, 8);
        System.arraycopy(rest, 0, data, 8, rest.length);
        assertTrue(decode(gray, data, buffer(gray)) != null, "random bytes accepted as a PNG");
    }

    @Property
    void image_anyBytes_rejected(@ForAll @Size(max = 4096) byte[] data) {
        // Random bytes are no image format the decoder knows (one in 2^64 is a PNG signature).
        assertTrue(decode(gray, data, buffer(gray)) != null, "random bytes accepted as an image");
    }

    @Property(tries = 20)
    void image_wrongChannelsRgbForAGrayModel_resultOrRejectionOnly(@ForAll @IntRange(min = 1, max = 64) int side) {
        java.awt.image.BufferedImage rgb = new java.awt.image.BufferedImage(side, side,
                java.awt.image.BufferedImage.TYPE_INT_ARGB);
        decode(gray, Files2.png(rgb), buffer(gray));
    }

    private static byte[] png(int width, int height, int depth, int colourType, byte[] idat) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream(); DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
            DataOutputStream h = new DataOutputStream(ihdr);
            h.writeInt(width);
            h.writeInt(height);
            h.write(new byte[] {(byte) depth, (byte) colourType, 0, 0, 0});
            Files2.chunk(out, "IHDR", ihdr.toByteArray());
            Files2.chunk(out, "IDAT", idat);
            Files2.chunk(out, "IEND", new byte[0]);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
