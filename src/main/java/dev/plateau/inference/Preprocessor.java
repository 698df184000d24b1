package dev.plateau.inference;

import dev.plateau.inference.InputRejectedException.Reason;
import dev.plateau.model.Manifest;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Turns a raw file into one sample of the model's input tensor, as the manifest says: decode,
 * resize, {@code (raw * scale - mean[c]) / std[c]}, channel-major. Bad input is rejected with a
 * reason, never repaired: a wrong window is not silently padded or cut.
 */
final class Preprocessor {
    // Decompression bombs: a camera frame of an edge box is far below this.
    private static final int MAX_IMAGE_SIDE = 8192;

    private final Manifest.Input input;
    private final int planes;
    private final int height;
    private final int width;
    private final float[] mean;
    private final float[] invStd;
    private final float scale;
    private final float rawMin;
    private final float rawMax;

    Preprocessor(Manifest.Input input) {
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
    }

    /** Decodes {@code data} (named {@code name} in messages) into {@code dst[0 .. sampleSize)}. */
    void fill(String name, byte[] data, FloatBuffer dst) throws InputRejectedException {
        switch (input.decode()) {
            case IMAGE_GRAY, IMAGE_RGB -> fillImage(name, data, dst);
            case CSV_WINDOW -> fillCsv(name, data, dst);
            default -> throw new IllegalStateException("unhandled decode " + input.decode());
        }
    }

    private void put(FloatBuffer dst, int plane, int index, float raw, String name) throws InputRejectedException {
        if (!Float.isFinite(raw)) {
            throw new InputRejectedException(Reason.NOT_FINITE, name + ": value " + raw + " in channel " + plane
                    + " at position " + index + " is not finite");
        }
        if (raw < rawMin || raw > rawMax) {
            throw new InputRejectedException(Reason.OUT_OF_RANGE, name + ": value " + raw + " in channel " + plane
                    + " at position " + index + " is outside the plausible range [" + rawMin + ", " + rawMax + "]");
        }
        dst.put(plane * height * width + index, (raw * scale - mean[plane]) * invStd[plane]);
    }

    private void fillImage(String name, byte[] data, FloatBuffer dst) throws InputRejectedException {
        BufferedImage image = readImage(name, data);
        int sw = image.getWidth();
        int sh = image.getHeight();
        Raster raster = image.getRaster();
        boolean gray = raster.getNumBands() == 1 && image.getColorModel().getNumComponents() == 1;
        // 16-bit grayscale PNGs are brought to the 0..255 range the manifest's scale assumes.
        float depth = gray && image.getColorModel().getComponentSize(0) > 8
                ? 255f / ((1 << image.getColorModel().getComponentSize(0)) - 1) : 1f;
        boolean down = sw >= width && sh >= height;
        for (int c = 0; c < planes; c++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    float v = down ? boxAverage(image, raster, gray, depth, c, x, y, sw, sh)
                            : bilinear(image, raster, gray, depth, c, x, y, sw, sh);
                    put(dst, c, y * width + x, v, name);
                }
            }
        }
    }

    private BufferedImage readImage(String name, byte[] data) throws InputRejectedException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new InputRejectedException(Reason.UNSUPPORTED_FORMAT, name
                        + ": not an image format this runtime reads (expected PNG or JPEG)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if (w < 1 || h < 1 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE) {
                    throw new InputRejectedException(Reason.WRONG_SIZE, name + ": image is " + w + "x" + h
                            + ", expected sides of 1.." + MAX_IMAGE_SIDE + " pixels (resized to " + width + "x" + height + ")");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new InputRejectedException(Reason.UNREADABLE, name + ": unreadable image: " + e.getMessage(), e);
        }
    }

    private float pixel(BufferedImage image, Raster raster, boolean gray, float depth, int c, int x, int y) {
        if (gray) {
            return raster.getSample(x, y, 0) * depth;
        }
        int rgb = image.getRGB(x, y);
        int r = (rgb >> 16) & 0xff;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        if (planes == 1) {
            return 0.299f * r + 0.587f * g + 0.114f * b; // ITU-R BT.601 luma, as PIL's convert("L")
        }
        return c == 0 ? r : c == 1 ? g : b;
    }

    // Down-scaling averages every source pixel a target pixel covers, so a 640x480 frame does
    // not alias into a 28x28 input; at equal size this is an exact copy.
    private float boxAverage(BufferedImage image, Raster raster, boolean gray, float depth, int c, int x, int y,
                             int sw, int sh) {
        int x0 = (int) ((long) x * sw / width);
        int x1 = Math.max(x0 + 1, (int) ((long) (x + 1) * sw / width));
        int y0 = (int) ((long) y * sh / height);
        int y1 = Math.max(y0 + 1, (int) ((long) (y + 1) * sh / height));
        float sum = 0;
        for (int sy = y0; sy < y1; sy++) {
            for (int sx = x0; sx < x1; sx++) {
                sum += pixel(image, raster, gray, depth, c, sx, sy);
            }
        }
        return sum / ((x1 - x0) * (y1 - y0));
    }

    private float bilinear(BufferedImage image, Raster raster, boolean gray, float depth, int c, int x, int y,
                           int sw, int sh) {
        float fx = Math.max(0, Math.min(sw - 1, (x + 0.5f) * sw / width - 0.5f));
        float fy = Math.max(0, Math.min(sh - 1, (y + 0.5f) * sh / height - 0.5f));
        int x0 = (int) fx;
        int y0 = (int) fy;
        int x1 = Math.min(x0 + 1, sw - 1);
        int y1 = Math.min(y0 + 1, sh - 1);
        float ax = fx - x0;
        float ay = fy - y0;
        float top = pixel(image, raster, gray, depth, c, x0, y0) * (1 - ax) + pixel(image, raster, gray, depth, c, x1, y0) * ax;
        float bottom = pixel(image, raster, gray, depth, c, x0, y1) * (1 - ax) + pixel(image, raster, gray, depth, c, x1, y1) * ax;
        return top * (1 - ay) + bottom * ay;
    }

    private void fillCsv(String name, byte[] data, FloatBuffer dst) throws InputRejectedException {
        String text = new String(data, StandardCharsets.UTF_8);
        String[] lines = text.split("\r?\n");
        int first = 0;
        while (first < lines.length && lines[first].isBlank()) {
            first++;
        }
        if (first == lines.length) {
            throw new InputRejectedException(Reason.UNREADABLE, name + ": empty file, expected a header "
                    + input.channels() + " and " + width + " rows");
        }
        int[] columnOf = columns(name, lines[first].split(",", -1));
        int rows = 0;
        for (int i = first + 1; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String[] cells = lines[i].split(",", -1);
            if (cells.length != columnOf.length) {
                throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": line " + (i + 1) + " has "
                        + cells.length + " values, expected " + columnOf.length + " (" + input.channels() + ")");
            }
            if (rows >= width) {
                throw new InputRejectedException(Reason.WRONG_SIZE, name + ": more than " + width
                        + " rows, expected exactly " + width + " (" + input.length() + " samples at "
                        + input.sampleRateHz() + " Hz)");
            }
            for (int col = 0; col < cells.length; col++) {
                float value;
                try {
                    value = Float.parseFloat(cells[col].trim());
                } catch (NumberFormatException e) {
                    throw new InputRejectedException(Reason.UNREADABLE, name + ": line " + (i + 1) + ": '"
                            + cells[col].trim() + "' is not a number", e);
                }
                put(dst, columnOf[col], rows, value, name);
            }
            rows++;
        }
        if (rows != width) {
            throw new InputRejectedException(Reason.WRONG_SIZE, name + ": " + rows + " rows, expected exactly "
                    + width + " (" + input.length() + " samples at " + input.sampleRateHz() + " Hz)");
        }
    }

    /** Maps each CSV column to its plane; columns may come in any order, but all and only the manifest's. */
    private int[] columns(String name, String[] header) throws InputRejectedException {
        List<String> expected = input.channels();
        String[] names = Arrays.stream(header).map(String::trim).toArray(String[]::new);
        if (names.length != expected.size()) {
            throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": header has " + names.length
                    + " channels " + Arrays.toString(names) + ", expected " + expected.size() + " " + expected);
        }
        int[] columnOf = new int[names.length];
        boolean[] seen = new boolean[names.length];
        for (int col = 0; col < names.length; col++) {
            int plane = expected.indexOf(names[col]);
            if (plane < 0 || seen[plane]) {
                throw new InputRejectedException(Reason.WRONG_CHANNELS, name + ": header " + Arrays.toString(names)
                        + " does not name each of the channels " + expected + " once");
            }
            seen[plane] = true;
            columnOf[col] = plane;
        }
        return columnOf;
    }
}
