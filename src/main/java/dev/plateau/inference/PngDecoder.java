package dev.plateau.inference;

import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes the PNGs cameras and dataset exports write most (non-interlaced, 8-bit gray, 16-bit
 * gray, 8-bit RGB or RGBA) straight from the file's bytes into buffers it keeps: one
 * {@link Inflater}, one store of scanlines. No {@code BufferedImage}, no reader lookup, no stream
 * objects, so a decode allocates nothing.
 *
 * <p>It only takes what it gives exactly the pixels ImageIO would: {@link #decode} says no (and
 * ImageIO decodes, with its own checks and messages) for any other colour type or depth,
 * interlacing, a palette, a transparency ({@code tRNS}) or ICC profile ({@code iCCP}) chunk, an
 * image over {@link #MAX_RAW_BYTES}, and any damage: a short chunk, bad zlib data, too few or too
 * many bytes. Like ImageIO it does not check chunk CRCs. Not thread-safe: one per engine.
 */
final class PngDecoder implements Preprocessor.Pixels {
    /**
     * The largest decoded image kept in memory: 1 MiB holds a 640x480 RGB frame; the store is
     * kept between calls, so this is also what a decoder may hold on to.
     */
    static final int MAX_RAW_BYTES = 1 << 20;

    private static final long SIGNATURE = 0x89504E470D0A1A0AL;
    private static final int IHDR = 0x49484452;
    private static final int IDAT = 0x49444154;
    private static final int IEND = 0x49454E44;
    private static final int TRNS = 0x74524E53;
    private static final int ICCP = 0x69434350;
    private static final int GRAY = 0;
    private static final int RGB = 2;
    private static final int RGBA = 6;
    // 16-bit samples are brought to the 0..255 range the manifests' scale assumes, as ImageIO's path does.
    private static final float DEPTH_16 = 255f / 65535;

    private final Inflater inflater = new Inflater();
    private final int planes;
    private byte[] raw = new byte[0];
    private int width;
    private int height;
    private int stride;
    private int colorType;
    private int bytesPerSample;
    private int bytesPerPixel;

    /** @param planes the model's colour planes: 1 (gray; RGB is turned into luma) or 3 */
    PngDecoder(int planes) {
        this.planes = planes;
    }

    int width() {
        return width;
    }

    int height() {
        return height;
    }

    /** Decodes {@code d} into this decoder; false when ImageIO must do it (see the class comment). */
    boolean decode(byte[] d, long budgetBytes) {
        if (d.length < 8 + 25 || readLong(d, 0) != SIGNATURE || readInt(d, 12) != IHDR || readInt(d, 8) != 13) {
            return false;
        }
        long w = readInt(d, 16) & 0xffffffffL;
        long h = readInt(d, 20) & 0xffffffffL;
        int depth = d[24];
        int type = d[25];
        boolean supported = depth == 8 && (type == GRAY || type == RGB || type == RGBA) || depth == 16 && type == GRAY;
        if (!supported || d[26] != 0 || d[27] != 0 || d[28] != 0 || w < 1 || h < 1
                || w > Preprocessor.MAX_IMAGE_SIDE || h > Preprocessor.MAX_IMAGE_SIDE) {
            return false; // compression, filter method, interlace: only the standard, non-interlaced ones
        }
        int channels = type == GRAY ? 1 : type == RGB ? 3 : 4;
        long rowBytes = w * channels * (depth / 8);
        long size = (rowBytes + 1) * h;
        if (size > MAX_RAW_BYTES || size > budgetBytes) {
            return false;
        }
        this.width = (int) w;
        this.height = (int) h;
        this.stride = (int) rowBytes + 1;
        this.colorType = type;
        this.bytesPerSample = depth / 8;
        this.bytesPerPixel = channels * bytesPerSample;
        if (raw.length < size) {
            raw = new byte[(int) size];
        }
        return inflate(d, (int) size) && unfilter();
    }

    /** Inflates the IDAT chunks' data into exactly {@code size} bytes of {@link #raw}. */
    private boolean inflate(byte[] d, int size) {
        inflater.reset();
        int pos = 8 + 25;
        int filled = 0;
        boolean sawData = false;
        try {
            while (pos + 12 <= d.length) {
                int length = readInt(d, pos);
                int type = readInt(d, pos + 4);
                int data = pos + 8;
                if (length < 0 || length > d.length - data - 4) {
                    return false;
                }
                if (type == TRNS || type == ICCP) {
                    return false;
                }
                if (type == IDAT) {
                    sawData = true;
                    inflater.setInput(d, data, length);
                    while (!inflater.needsInput() && !inflater.finished()) {
                        int n = inflater.inflate(raw, filled, size - filled);
                        filled += n;
                        if (n == 0 && !inflater.needsInput() && !inflater.finished()) {
                            return false; // full, yet the stream goes on; or it wants a dictionary
                        }
                    }
                } else if (type == IEND) {
                    break;
                }
                pos = data + length + 4;
            }
        } catch (DataFormatException e) {
            return false; // ImageIO reads it again and says what is wrong
        }
        return sawData && inflater.finished() && filled == size;
    }

    /** Undoes the per-row filters in place (PNG filter method 0: none, sub, up, average, Paeth). */
    private boolean unfilter() {
        byte[] r = raw;
        int bpp = bytesPerPixel;
        for (int y = 0; y < height; y++) {
            int row = y * stride;
            int filter = r[row];
            int start = row + 1;
            int end = row + stride;
            switch (filter) {
                case 0 -> { }
                case 1 -> {
                    for (int i = start + bpp; i < end; i++) {
                        r[i] += r[i - bpp];
                    }
                }
                case 2 -> {
                    if (y > 0) {
                        for (int i = start; i < end; i++) {
                            r[i] += r[i - stride];
                        }
                    }
                }
                case 3 -> {
                    for (int i = start; i < end; i++) {
                        int left = i - start >= bpp ? r[i - bpp] & 0xff : 0;
                        int up = y > 0 ? r[i - stride] & 0xff : 0;
                        r[i] += (byte) ((left + up) >>> 1);
                    }
                }
                case 4 -> {
                    for (int i = start; i < end; i++) {
                        int a = i - start >= bpp ? r[i - bpp] & 0xff : 0;
                        int b = y > 0 ? r[i - stride] & 0xff : 0;
                        int c = y > 0 && i - start >= bpp ? r[i - stride - bpp] & 0xff : 0;
                        r[i] += (byte) paeth(a, b, c);
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        return true;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    @Override
    public float at(int c, int x, int y) {
        int o = y * stride + 1 + x * bytesPerPixel;
        if (colorType == GRAY) {
            return bytesPerSample == 1 ? raw[o] & 0xff : ((raw[o] & 0xff) << 8 | raw[o + 1] & 0xff) * DEPTH_16;
        }
        return Preprocessor.Pixels.ofRgb(planes, c, raw[o] & 0xff, raw[o + 1] & 0xff, raw[o + 2] & 0xff);
    }

    private static int readInt(byte[] d, int at) {
        return (d[at] & 0xff) << 24 | (d[at + 1] & 0xff) << 16 | (d[at + 2] & 0xff) << 8 | d[at + 3] & 0xff;
    }

    private static long readLong(byte[] d, int at) {
        return (long) readInt(d, at) << 32 | readInt(d, at + 4) & 0xffffffffL;
    }
}
