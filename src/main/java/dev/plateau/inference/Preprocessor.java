package dev.plateau.inference;

import dev.plateau.inference.InputRejectedException.Reason;
import dev.plateau.model.Manifest;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Turns a raw file into one sample of the model's input tensor, as the manifest says: decode,
 * resize, {@code (raw * scale - mean[c]) / std[c]}, channel-major. Bad input is rejected with a
 * reason, never repaired: a wrong window is not silently padded or cut.
 *
 * <p>Inputs are data: a refusal names the input (escaped) and the position ("line 3, column 2"),
 * never its content, so a file that is not what it claims to be cannot leak through a message.
 * Memory is bounded before decoding: the file's size by {@link #maxBytes()}, an image's decoded
 * pixels by a budget derived from the heap (larger images are decoded subsampled).
 *
 * <p>The common PNGs and CSV windows are decoded without allocating (see {@link PngDecoder});
 * the buffers that takes are kept between calls, so one instance serves one caller at a time.
 */
final class Preprocessor {
    // Decode work grows with the source pixels even when subsampled: 8192 x 8192 (64 Mpx, about
    // 1 s to inflate on a Cortex-A72) is the most a frame may have.
    static final int MAX_IMAGE_SIDE = 8192;
    /** A compressed frame or picture; the MQTT source's payload limit is the same. */
    static final long MAX_IMAGE_BYTES = 16L * 1024 * 1024;
    // One decoded raster may take this share of the heap: 1/8 of -Xmx160m is 20 MB, an RGB image
    // of 6.7 Mpx, leaving room for the compressed bytes, the reader's buffers and the rest.
    private static final int HEAP_SHARE_DIVISOR = 8;
    // A CSV cell or channel name longer than this is not a sample value: np.savetxt's widest
    // default ("-1.000000000000000000e+00") is 25 characters.
    static final int MAX_CELL_BYTES = 64;
    // Blank lines and a byte-order mark on top of the rows' own bound.
    private static final int CSV_SLACK_BYTES = 4096;

    private final Manifest.Input input;
    private final int planes;
    private final int height;
    private final int width;
    private final float[] mean;
    private final float[] invStd;
    private final float scale;
    private final float rawMin;
    private final float rawMax;
    private final long maxBytes;
    private final String sizeLimitFor;
    private final long pixelBudgetBytes;
    private final byte[][] channelNames;

    static {
        // Once per process: ImageIO's default disk cache makes a temporary file for every image
        // read from a stream, which costs more than decoding a small frame.
        ImageIO.setUseCache(false);
    }

    Preprocessor(Manifest.Input input) {
        this(input, Runtime.getRuntime().maxMemory() / HEAP_SHARE_DIVISOR);
    }

    /** @param pixelBudgetBytes the most bytes one decoded image may take (tests shrink it) */
    Preprocessor(Manifest.Input input, long pixelBudgetBytes) {
        this.input = input;
        List<Integer> shape = input.shape();
        this.planes = shape.get(0);
        boolean image = input.decode() != Manifest.Decode.CSV_WINDOW;
        this.height = image ? shape.get(1) : 1;
        this.width = image ? shape.get(2) : shape.get(1);
        this.scale = input.scale().floatValue();
        this.mean = new float[planes];
        this.invStd = new float[planes];
        for (int c = 0; c < planes; c++) {
            mean[c] = input.mean().get(c).floatValue();
            invStd[c] = (float) (1.0 / input.std().get(c));
        }
        List<Double> range = input.rawRange().orElse(List.of(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY));
        this.rawMin = range.get(0).floatValue();
        this.rawMax = range.get(1).floatValue();
        this.pixelBudgetBytes = pixelBudgetBytes;
        this.channelNames = input.channels().stream().map(c -> c.getBytes(StandardCharsets.ISO_8859_1))
                .toArray(byte[][]::new);
        if (image) {
            this.maxBytes = MAX_IMAGE_BYTES;
            this.sizeLimitFor = "an image";
        } else {
            long rowBytes = (long) planes * (MAX_CELL_BYTES + 1) + 1;
            this.maxBytes = rowBytes * (width + 1) + CSV_SLACK_BYTES;
            this.sizeLimitFor = "a csv-window of " + width + " rows of " + planes + " channels";
        }
    }

    /** The most bytes an input file may have; checked before it is read. */
    long maxBytes() {
        return maxBytes;
    }

    /** What {@link #maxBytes()} is the limit for, for the refusal. */
    String sizeLimitFor() {
        return sizeLimitFor;
    }

    /** Decodes {@code data} (named {@code name} in messages) into {@code dst[0 .. sampleSize)}. */
    void fill(String name, byte[] data, FloatBuffer dst) throws InputRejectedException {
        String shown = InputNames.escape(name);
        switch (input.decode()) {
            case IMAGE_GRAY, IMAGE_RGB -> fillImage(shown, data, dst);
            case CSV_WINDOW -> fillCsv(shown, data, dst);
            default -> throw new IllegalStateException("unhandled decode " + input.decode());
        }
    }

    private static final int OK = 0;
    private static final int NOT_FINITE = 1;
    private static final int OUT_OF_RANGE = 2;

    /** Stores one normalised value; says why not (the caller knows the position to name). */
    private int put(FloatBuffer dst, int plane, int index, float raw) {
        if (!Float.isFinite(raw)) {
            return NOT_FINITE;
        }
        if (raw < rawMin || raw > rawMax) {
            return OUT_OF_RANGE;
        }
        dst.put(plane * height * width + index, (raw * scale - mean[plane]) * invStd[plane]);
        return OK;
    }

    private InputRejectedException badValue(int code, String name, String where) {
        return code == NOT_FINITE
                ? new InputRejectedException(Reason.NOT_FINITE, name + ": " + where + ": not finite")
                : new InputRejectedException(Reason.OUT_OF_RANGE, name + ": " + where
                        + ": outside the plausible range [" + rawMin + ", " + rawMax + "]");
    }

    /** One source pixel of colour plane {@code c} in the 0..255 range, before scaling. */
    interface Pixels {
        float at(int c, int x, int y);

        /** Plane {@code c} of an RGB pixel for a model of {@code planes} planes: the colour itself, or its luma. */
        static float ofRgb(int planes, int c, int r, int g, int b) {
            if (planes == 1) {
                return 0.299f * r + 0.587f * g + 0.114f * b; // ITU-R BT.601 luma, as PIL's convert("L")
            }
            return c == 0 ? r : c == 1 ? g : b;
        }
    }

    // Decodes the common PNGs without ImageIO, into buffers kept between calls.
    private PngDecoder png;

    // The other images through ImageIO; a JPEG's reader and frame are kept between calls.
    private ImageIoDecoder images;

    private ImageIoDecoder images() {
        if (images == null) {
            images = new ImageIoDecoder(planes, pixelBudgetBytes);
        }
        return images;
    }

    private void fillImage(String name, byte[] data, FloatBuffer dst) throws InputRejectedException {
        if (png == null) {
            png = new PngDecoder(planes);
        }
        // 1. The common PNGs straight from the bytes (nothing allocated); the rest through ImageIO.
        if (png.decode(data, pixelBudgetBytes)) {
            fillPixels(name, png, png.width(), png.height(), dst);
            return;
        }
        ImageIoDecoder decoder = images();
        decoder.decode(name, data, MAX_IMAGE_SIDE, width + "x" + height);
        fillPixels(name, decoder, decoder.width(), decoder.height(), dst);
    }

    /** 2. Resizes (box average down, bilinear up; a plain copy at the model's size) and normalises into {@code dst}. */
    private void fillPixels(String name, Pixels src, int sw, int sh, FloatBuffer dst) throws InputRejectedException {
        boolean same = sw == width && sh == height;
        boolean down = sw >= width && sh >= height;
        for (int c = 0; c < planes; c++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    float v = same ? src.at(c, x, y) : down ? boxAverage(src, c, x, y, sw, sh)
                            : bilinear(src, c, x, y, sw, sh);
                    int code = put(dst, c, y * width + x, v);
                    if (code != OK) {
                        throw badValue(code, name, "pixel (" + x + ", " + y + ") of the " + width + "x" + height
                                + " input, channel " + c);
                    }
                }
            }
        }
    }

    // Down-scaling averages every source pixel a target pixel covers, so a 640x480 frame does
    // not alias into a 28x28 input; at equal size this is an exact copy.
    private float boxAverage(Pixels src, int c, int x, int y, int sw, int sh) {
        int x0 = (int) ((long) x * sw / width);
        int x1 = Math.max(x0 + 1, (int) ((long) (x + 1) * sw / width));
        int y0 = (int) ((long) y * sh / height);
        int y1 = Math.max(y0 + 1, (int) ((long) (y + 1) * sh / height));
        float sum = 0;
        for (int sy = y0; sy < y1; sy++) {
            for (int sx = x0; sx < x1; sx++) {
                sum += src.at(c, sx, sy);
            }
        }
        return sum / ((x1 - x0) * (y1 - y0));
    }

    private float bilinear(Pixels src, int c, int x, int y, int sw, int sh) {
        float fx = Math.max(0, Math.min(sw - 1, (x + 0.5f) * sw / width - 0.5f));
        float fy = Math.max(0, Math.min(sh - 1, (y + 0.5f) * sh / height - 0.5f));
        int x0 = (int) fx;
        int y0 = (int) fy;
        int x1 = Math.min(x0 + 1, sw - 1);
        int y1 = Math.min(y0 + 1, sh - 1);
        float ax = fx - x0;
        float ay = fy - y0;
        float top = src.at(c, x0, y0) * (1 - ax) + src.at(c, x1, y0) * ax;
        float bottom = src.at(c, x0, y1) * (1 - ax) + src.at(c, x1, y1) * ax;
        return top * (1 - ay) + bottom * ay;
    }

    // A CSV window is parsed on its bytes: no copy of the file as text, no array of lines or cells,
    // and a line is only ever looked at up to the file's size bound.
    private void fillCsv(String name, byte[] d, FloatBuffer dst) throws InputRejectedException {
        int pos = 0;
        if (d.length >= 3 && (d[0] & 0xff) == 0xef && (d[1] & 0xff) == 0xbb && (d[2] & 0xff) == 0xbf) {
            pos = 3; // the UTF-8 byte-order mark spreadsheets write: accepted
        } else if (d.length >= 2 && ((d[0] & 0xff) == 0xfe && (d[1] & 0xff) == 0xff
                || (d[0] & 0xff) == 0xff && (d[1] & 0xff) == 0xfe)) {
            throw new InputRejectedException(Reason.UNREADABLE, name + ": starts with a UTF-16 byte-order mark, "
                    + "expected ASCII or UTF-8 text");
        }
        int[] columnOf = null;
        int rows = 0;
        for (int line = 1; pos < d.length; line++) {
            int end = pos;
            while (end < d.length && d[end] != '\n') {
                end++;
            }
            int next = end + 1;
            if (end > pos && d[end - 1] == '\r') {
                end--; // CRLF
            }
            if (!blank(d, pos, end)) {
                if (columnOf == null) {
                    columnOf = columns(name, d, pos, end, line);
                } else {
                    row(name, d, pos, end, line, columnOf, rows, dst);
                    rows++;
                }
            }
            pos = next;
        }
        if (columnOf == null) {
            throw new InputRejectedException(Reason.UNREADABLE, name + ": empty file, expected a header "
                    + input.channels() + " and " + width + " rows");
        }
        if (rows != width) {
            throw new InputRejectedException(Reason.WRONG_SIZE, name + ": " + rows + " rows, expected exactly "
                    + width + " (" + input.length() + " samples at " + input.sampleRateHz() + " Hz)");
        }
    }

    private void row(String name, byte[] d, int from, int to, int line, int[] columnOf, int rows, FloatBuffer dst)
            throws InputRejectedException {
        int cells = 1;
        for (int i = from; i < to; i++) {
            if (d[i] == ',') {
                cells++;
            }
        }
        if (cells != columnOf.length) {
            throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": line " + line + " has " + cells
                    + " values, expected " + columnOf.length + " (" + input.channels() + ")");
        }
        if (rows >= width) {
            throw new InputRejectedException(Reason.WRONG_SIZE, name + ": more than " + width
                    + " rows, expected exactly " + width + " (" + input.length() + " samples at "
                    + input.sampleRateHz() + " Hz)");
        }
        int start = from;
        for (int col = 0; col < cells; col++) {
            int end = start;
            while (end < to && d[end] != ',') {
                end++;
            }
            float value = number(name, d, start, end, line, col + 1);
            int code = put(dst, columnOf[col], rows, value);
            if (code != OK) {
                throw badValue(code, name, "line " + line + ", column " + (col + 1) + " ("
                        + input.channels().get(columnOf[col]) + ")");
            }
            start = end + 1;
        }
    }

    /**
     * A plain decimal number: optional sign, digits with an optional fraction, an optional
     * exponent ({@code -1.25}, {@code .5}, {@code 3e-2}). Not Java's wider syntax: no hexadecimal
     * ({@code 0x1p2}), no type suffix ({@code 1f}, {@code 9.8d}); NaN and infinities are refused.
     *
     * <p>Checked and converted in one pass over the bytes, without a String: the digits are
     * gathered into a long and scaled by an exact power of ten ({@link #exactFloat}); only a
     * number with more than 18 significant digits, or beyond 1e±22, goes through
     * {@link Float#parseFloat}. Both give the same correctly rounded float.
     */
    private static float number(String name, byte[] d, int from, int to, int line, int col)
            throws InputRejectedException {
        while (from < to && (d[from] == ' ' || d[from] == '\t')) {
            from++;
        }
        while (to > from && (d[to - 1] == ' ' || d[to - 1] == '\t')) {
            to--;
        }
        if (from == to) {
            throw cell(Reason.UNREADABLE, name, line, col, "empty, expected a number");
        }
        if (to - from > MAX_CELL_BYTES) {
            throw cell(Reason.UNREADABLE, name, line, col, "not a number (longer than " + MAX_CELL_BYTES
                    + " characters)");
        }
        int i = from;
        boolean negative = d[i] == '-';
        if (d[i] == '+' || d[i] == '-') {
            i++;
        }
        if (i < to && d[i] > '9' && (word(d, i, to, "nan") || word(d, i, to, "inf") || word(d, i, to, "infinity"))) {
            throw cell(Reason.NOT_FINITE, name, line, col, "not finite (NaN or infinity)");
        }
        long mantissa = 0;
        int significant = 0;
        int scale10 = 0; // value = mantissa * 10^scale10 (before the exponent)
        boolean dropped = false; // a non-zero digit beyond the 18 kept
        int digits = 0;
        for (; i < to && d[i] >= '0' && d[i] <= '9'; i++, digits++) {
            int digit = d[i] - '0';
            if (significant < MAX_LONG_DIGITS) {
                if (mantissa != 0 || digit != 0) {
                    mantissa = mantissa * 10 + digit;
                    significant++;
                }
            } else {
                scale10++;
                dropped |= digit != 0;
            }
        }
        if (i < to && d[i] == '.') {
            for (i++; i < to && d[i] >= '0' && d[i] <= '9'; i++, digits++) {
                int digit = d[i] - '0';
                if (significant < MAX_LONG_DIGITS) {
                    if (mantissa != 0 || digit != 0) {
                        mantissa = mantissa * 10 + digit;
                        significant++;
                    }
                    scale10--;
                } else {
                    dropped |= digit != 0;
                }
            }
        }
        boolean ok = digits > 0;
        int exponent = 0;
        if (ok && i < to && (d[i] == 'e' || d[i] == 'E')) {
            i++;
            boolean negativeExponent = i < to && d[i] == '-';
            if (i < to && (d[i] == '+' || d[i] == '-')) {
                i++;
            }
            int exponentDigits = 0;
            for (; i < to && d[i] >= '0' && d[i] <= '9'; i++, exponentDigits++) {
                exponent = Math.min(MAX_EXPONENT, exponent * 10 + (d[i] - '0'));
            }
            exponent = negativeExponent ? -exponent : exponent;
            ok = exponentDigits > 0;
        }
        if (!ok || i != to) {
            throw cell(Reason.UNREADABLE, name, line, col, "not a number (expected a plain decimal such as -1.25 or 3e-2)");
        }
        float value = dropped ? Float.NaN : exactFloat(mantissa, scale10 + exponent);
        if (Float.isNaN(value)) {
            value = Float.parseFloat(new String(d, from, to - from, StandardCharsets.ISO_8859_1));
        } else if (negative) {
            value = -value;
        }
        if (!Float.isFinite(value)) {
            throw cell(Reason.NOT_FINITE, name, line, col, "not finite (beyond the float range)");
        }
        return value;
    }

    // Significant digits a long holds for certain (10^18 - 1 < 2^63 < 10^19 - 1).
    private static final int MAX_LONG_DIGITS = 18;
    // An exponent is read up to this (far beyond the float range), so it cannot overflow an int.
    private static final int MAX_EXPONENT = 100_000;
    // 10^0 .. 10^22 are exact doubles (5^22 < 2^53).
    private static final double[] EXACT_POWERS = new double[23];

    // 10^0 .. 10^10 are exact floats (5^10 < 2^24).
    private static final float[] FLOAT_POWERS = new float[11];

    static {
        double p = 1;
        for (int k = 0; k < EXACT_POWERS.length; k++) {
            EXACT_POWERS[k] = p;
            if (k < FLOAT_POWERS.length) {
                FLOAT_POWERS[k] = (float) p;
            }
            p *= 10;
        }
    }

    /**
     * {@code mantissa * 10^scale10} rounded to the nearest float, or NaN when this shortcut cannot
     * promise that. With the mantissa below 2^24 and |scale10| <= 10 both are exact floats and one
     * float operation is correctly rounded. Otherwise, with the mantissa below 2^53 and |scale10| <= 22 both factors are exact
     * doubles, so one multiply or divide gives the correctly rounded double; rounding that double
     * to a float is the correctly rounded float unless the double lies exactly halfway between two
     * floats (then the true value may lie on either side), which is left to Float.parseFloat.
     * Results stay within 1e-22 .. 1e38, normal floats.
     */
    static float exactFloat(long mantissa, int scale10) {
        if (mantissa == 0) {
            return 0f;
        }
        if (mantissa < 1L << 24 && scale10 >= -10 && scale10 <= 10) {
            // The common case (a few decimals): both factors exact floats, one correctly rounded float operation.
            float m = mantissa;
            return scale10 < 0 ? m / FLOAT_POWERS[-scale10] : m * FLOAT_POWERS[scale10];
        }
        if (mantissa >= 1L << 53 || scale10 < -22 || scale10 > 22) {
            return Float.NaN;
        }
        double value = scale10 < 0 ? mantissa / EXACT_POWERS[-scale10] : mantissa * EXACT_POWERS[scale10];
        // The 29 low bits of a double's significand are what a float drops; 1 then 28 zeros is the halfway point.
        if ((Double.doubleToRawLongBits(value) & 0x1FFF_FFFFL) == 0x1000_0000L) {
            return Float.NaN;
        }
        return (float) value;
    }

    /** A refusal of one cell: the position, never the text. */
    private static InputRejectedException cell(Reason reason, String name, int line, int col, String what) {
        return new InputRejectedException(reason, name + ": line " + line + ", column " + col + ": " + what);
    }

    private static boolean word(byte[] d, int from, int to, String lowerCase) {
        if (to - from != lowerCase.length()) {
            return false;
        }
        for (int i = 0; i < lowerCase.length(); i++) {
            if (Character.toLowerCase((char) (d[from + i] & 0xff)) != lowerCase.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean blank(byte[] d, int from, int to) {
        for (int i = from; i < to; i++) {
            if (d[i] != ' ' && d[i] != '\t' && d[i] != '\r') {
                return false;
            }
        }
        return true;
    }

    /** The plane whose channel name the bytes {@code d[from, to)} are, or -1; compared without a String. */
    private int channelAt(byte[] d, int from, int to) {
        for (int plane = 0; plane < channelNames.length; plane++) {
            if (Arrays.equals(d, from, to, channelNames[plane], 0, channelNames[plane].length)) {
                return plane;
            }
        }
        return -1;
    }

    /**
     * Maps each CSV column to its plane; columns may come in any order, but all and only the
     * manifest's. A column that names none of them is named by its number, not its text.
     */
    private int[] columns(String name, byte[] d, int from, int to, int line) throws InputRejectedException {
        List<String> expected = input.channels();
        int cells = 1;
        for (int i = from; i < to; i++) {
            if (d[i] == ',') {
                cells++;
            }
        }
        if (cells != expected.size()) {
            throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": header (line " + line + ") has "
                    + cells + " columns, expected " + expected.size() + " channels " + expected);
        }
        int[] columnOf = new int[cells];
        boolean[] seen = new boolean[cells];
        int start = from;
        for (int col = 0; col < cells; col++) {
            int end = start;
            while (end < to && d[end] != ',') {
                end++;
            }
            int a = start;
            int b = end;
            while (a < b && (d[a] == ' ' || d[a] == '\t')) {
                a++;
            }
            while (b > a && (d[b - 1] == ' ' || d[b - 1] == '\t')) {
                b--;
            }
            int plane = channelAt(d, a, b);
            if (plane < 0) {
                throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": header (line " + line
                        + "), column " + (col + 1) + ": not one of the channels " + expected);
            }
            if (seen[plane]) {
                throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": header (line " + line
                        + "), column " + (col + 1) + ": channel " + expected.get(plane) + " a second time, expected "
                        + "each of " + expected + " once");
            }
            seen[plane] = true;
            columnOf[col] = plane;
            start = end + 1;
        }
        return columnOf;
    }
}
