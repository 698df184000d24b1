package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.model.ModelBundle;
import dev.plateau.testing.Files2;
import dev.plateau.testing.TinyModels;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs are data, never a way in (issue 13, findings 1-3 and 9): real links, FIFOs, devices,
 * directories and oversized files on disk, read by a real engine. No message quotes content.
 */
class InputSafetyTest {
    private static final String SECRET = "PRIVATE-KEY-d3adb33f-never-print-me";

    @TempDir
    Path tmp;

    private InferenceEngine gray;
    private InferenceEngine window;

    @BeforeEach
    void load() throws IOException {
        gray = InferenceEngine.load(ModelBundle.open(TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4())),
                OrtRuntime.environment(1), 0);
        window = InferenceEngine.load(ModelBundle.open(TinyModels.bundle(tmp.resolve("window"),
                TinyModels.window3x8())), OrtRuntime.environment(1), 0);
        Files.createDirectories(tmp.resolve("inbox"));
    }

    @AfterEach
    void close() {
        gray.close();
        window.close();
    }

    private Path secret() throws IOException {
        Path key = Files.createDirectories(tmp.resolve("keys")).resolve("device.key");
        return Files.writeString(key, SECRET + "\n" + SECRET + "\n");
    }

    private static InputRejectedException rejected(InferenceEngine engine, Path file) {
        return assertThrows(InputRejectedException.class, () -> engine.infer(file));
    }

    private InputRejectedException rejectedCsv(String csv) throws IOException {
        Path file = Files.writeString(tmp.resolve("inbox/w.csv"), csv);
        return rejected(window, file);
    }

    private static String window8() {
        return Files2.window("ax,ay,az", 8);
    }

    // --- finding 1: links, special files -------------------------------------------------------

    @Test
    void infer_symlinkToSecretCsv_refusedAsNotAFileAndTheSecretIsInNoMessage() throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("inbox/k.csv"), secret());
        InputRejectedException e = rejected(window, link);
        assertEquals("NOT_A_FILE", e.reason().name(), e.getMessage());
        assertTrue(e.getMessage().endsWith("k.csv: is a symbolic link (links are not followed), expected a regular file"),
                e.getMessage());
        assertFalse(e.getMessage().contains("d3adb33f"), e.getMessage());
    }

    @Test
    void infer_fifo_refusedWithoutOpeningIt() throws Exception {
        Path fifo = tmp.resolve("inbox/pipe.png");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        // Opening a FIFO for reading blocks until a writer comes: the refusal must come first.
        InputRejectedException e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> rejected(gray, fifo));
        assertEquals("NOT_A_FILE", e.reason().name(), e.getMessage());
        assertTrue(e.getMessage().endsWith("pipe.png: is a FIFO (named pipe), expected a regular file"), e.getMessage());
    }

    @Test
    void infer_directory_refusedNamingWhatItIs() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("inbox/frames.png"));
        InputRejectedException e = rejected(gray, dir);
        assertEquals("NOT_A_FILE", e.reason().name(), e.getMessage());
        assertTrue(e.getMessage().endsWith("frames.png: is a directory, expected a regular file"), e.getMessage());
    }

    @Test
    void infer_characterDevice_refusedNamingWhatItIs() {
        InputRejectedException e = rejected(gray, Path.of("/dev/null"));
        assertEquals("NOT_A_FILE", e.reason().name(), e.getMessage());
        assertTrue(e.getMessage().endsWith("is a character device, expected a regular file"), e.getMessage());
    }

    // --- finding 3 and 9: size bound before reading --------------------------------------------

    @Test
    void infer_40MbFile_refusedAsTooLargeWithTheFiguresBeforeReading() throws IOException {
        Path big = Files2.bigFile(tmp.resolve("inbox/big.png"), 40L * 1024 * 1024, (byte) 0);
        InputRejectedException e = rejected(gray, big);
        assertEquals("TOO_LARGE", e.reason().name(), e.getMessage());
        assertTrue(e.getMessage().endsWith("big.png: 41943040 bytes, expected at most 16777216 bytes for an image; "
                + "not read"), e.getMessage());
    }

    @Test
    void infer_giganticCsvLine_refusedByTheWindowsSizeBound() throws IOException {
        Path line = Files2.bigFile(tmp.resolve("inbox/line.csv"), 20L * 1024 * 1024, (byte) '1');
        InputRejectedException e = rejected(window, line);
        assertEquals("TOO_LARGE", e.reason().name(), e.getMessage());
        assertTrue(e.getMessage().contains("20971520 bytes, expected at most "), e.getMessage());
        assertTrue(e.getMessage().endsWith("for a csv-window of 8 rows of 3 channels; not read"), e.getMessage());
        assertTrue(e.getMessage().length() < 300, "the message is short: " + e.getMessage().length());
    }

    @Test
    void infer_windowAtTheSizeBound_stillInferred() throws Exception {
        // The widest numbers np.savetxt writes, on every cell: the bound must not refuse a real window.
        String wide = "-1.000000000000000000e+00";
        StringBuilder csv = new StringBuilder("ax,ay,az\r\n");
        for (int r = 0; r < 8; r++) {
            csv.append(wide).append(',').append(wide).append(',').append(wide).append("\r\n");
        }
        Path file = Files.writeString(tmp.resolve("inbox/wide.csv"), csv);
        assertEquals("healthy", window.infer(file).label());
    }

    // --- finding 1 and 9: no content in messages ------------------------------------------------

    @Test
    void infer_headerOfOtherText_namesTheColumnNotItsText() throws IOException {
        InputRejectedException e = rejectedCsv(window8().replaceFirst("az", SECRET));
        assertEquals("WRONG_CHANNELS", e.reason().name());
        assertTrue(e.getMessage().endsWith("w.csv: header (line 1), column 3: not one of the channels [ax, ay, az]"),
                e.getMessage());
        assertFalse(e.getMessage().contains("d3adb33f"), e.getMessage());
    }

    @Test
    void infer_secretAsAOneColumnHeader_namesTheCountNotTheText() throws IOException {
        InputRejectedException e = rejectedCsv(SECRET + "\n" + SECRET + "\n");
        assertTrue(e.getMessage().endsWith("header (line 1) has 1 columns, expected 3 channels [ax, ay, az]"),
                e.getMessage());
        assertFalse(e.getMessage().contains("d3adb33f"), e.getMessage());
    }

    @Test
    void infer_textCell_namesLineAndColumnNotTheText() throws IOException {
        InputRejectedException e = rejectedCsv(window8().replaceFirst("2\\.0", "oops-d3adb33f"));
        assertEquals("UNREADABLE", e.reason().name());
        assertTrue(e.getMessage().contains("w.csv: line 2, column 2: not a number"), e.getMessage());
        assertFalse(e.getMessage().contains("d3adb33f"), e.getMessage());
    }

    @Test
    void infer_nameWithNewlineAndEscapeCodes_escapedInTheMessage() throws IOException {
        Path file = Files.writeString(tmp.resolve("inbox/a\nERROR forged line \u001b[31mred\u202e.png"), "not a png");
        InputRejectedException e = rejected(gray, file);
        assertTrue(e.getMessage().contains("a\\nERROR forged line \\x1b[31mred\\u202e.png: not an image format"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\u001b") || e.getMessage().contains("\u202e"),
                e.getMessage());
    }

    // --- finding 9: CSV number syntax, BOM, CRLF, NaN ------------------------------------------

    @Test
    void infer_javaOnlyNumberSyntax_rejectedWithThePosition() throws IOException {
        for (String javaOnly : new String[] {"0x1p2", "1f", "9.8d", "1_000", "--1", "1e", "."}) {
            InputRejectedException e = rejectedCsv(window8().replaceFirst("2\\.0", javaOnly));
            assertEquals("UNREADABLE", e.reason().name(), javaOnly);
            assertTrue(e.getMessage().endsWith("w.csv: line 2, column 2: not a number (expected a plain decimal such "
                    + "as -1.25 or 3e-2)"), javaOnly + ": " + e.getMessage());
        }
    }

    @Test
    void infer_plainDecimalForms_accepted() throws Exception {
        String csv = window8().replaceFirst("1\\.0", "+1").replaceFirst("2\\.0", ".5").replaceFirst("3\\.0", "3E-2")
                .replaceFirst("1\\.0", " -0.25 ");
        Path file = Files.writeString(tmp.resolve("inbox/forms.csv"), csv);
        assertEquals("damaged", window.infer(file).label());
    }

    @Test
    void infer_utf8ByteOrderMark_accepted() throws Exception {
        Path file = Files.writeString(tmp.resolve("inbox/bom.csv"), "\uFEFF" + window8(), StandardCharsets.UTF_8);
        assertEquals("damaged", window.infer(file).label());
    }

    @Test
    void infer_utf16ByteOrderMark_rejectedSayingSo() throws IOException {
        Path file = Files.writeString(tmp.resolve("inbox/w16.csv"), "\uFEFF" + window8(), StandardCharsets.UTF_16);
        InputRejectedException e = rejected(window, file);
        assertTrue(e.getMessage().endsWith("w16.csv: starts with a UTF-16 byte-order mark, expected ASCII or UTF-8 text"),
                e.getMessage());
    }

    @Test
    void infer_crlfLineEnds_accepted() throws Exception {
        Path file = Files.writeString(tmp.resolve("inbox/crlf.csv"), window8().replace("\n", "\r\n"));
        assertEquals("damaged", window.infer(file).label());
    }

    @Test
    void infer_nanAndInfinity_rejectedAsNotFiniteWithThePosition() throws IOException {
        for (String notFinite : new String[] {"NaN", "-Infinity", "inf", "1e39"}) {
            InputRejectedException e = rejectedCsv(window8().replaceFirst("3\\.0", notFinite));
            assertEquals("NOT_FINITE", e.reason().name(), notFinite);
            assertTrue(e.getMessage().contains("w.csv: line 2, column 3: not finite"), notFinite + ": " + e.getMessage());
        }
    }

    // --- finding 2: decoded pixels bounded ----------------------------------------------------

    @Test
    void fill_8192SquareRgbPngOverThePixelBudget_decodedSubsampledToTheSameAnswer() throws Exception {
        // Rows 2048..4095 white: the middle band of a 4x4 input, whatever the subsampling.
        Path png = Files2.hugePng(tmp.resolve("huge.png"), 8192, 8192, true, 2048, 4096);
        assertTrue(Files.size(png) < 1024 * 1024, "small on disk: " + Files.size(png));
        // A 1 MB budget: an RGB raster of 349,525 px, a step of 14 (586 x 586 decoded pixels).
        Preprocessor small = new Preprocessor(gray.manifest().input(), 1024 * 1024);
        assertEquals(14, new ImageIoDecoder(1, 1024 * 1024).subsampling(8192, 8192, 3));
        FloatBuffer dst = FloatBuffer.allocate(16);
        small.fill("huge.png", Files.readAllBytes(png), dst);
        for (int i = 0; i < 16; i++) {
            assertEquals(i / 4 == 1 ? 1f : 0f, dst.get(i), 0.02f, "input pixel " + i);
        }
    }

    @Test
    void fill_imageOverTheSideLimit_refusedWithTheFigures() throws Exception {
        Path png = Files2.hugePng(tmp.resolve("wide.png"), 8193, 2, false, 0, 1);
        InputRejectedException e = rejected(gray, png);
        assertEquals("WRONG_SIZE", e.reason().name());
        assertTrue(e.getMessage().endsWith("image is 8193x2, expected sides of 1..8192 pixels (resized to 4x4)"),
                e.getMessage());
    }
}
