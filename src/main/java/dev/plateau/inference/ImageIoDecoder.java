package dev.plateau.inference;

import dev.plateau.inference.InputRejectedException.Reason;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageInputStreamImpl;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * The images {@link PngDecoder} does not take (JPEG above all, and the rarer PNGs) through the
 * JDK's ImageIO. For JPEGs it keeps what a camera's stream of same-sized frames can keep between
 * calls: the reader, the stream over the bytes (no copy of the file), and the decoded image,
 * which the reader writes into again. Pixels of 8-bit gray and RGB rasters are read from the raster's
 * bytes; others (16-bit gray, palettes, CMYK) through the colour model, more slowly.
 *
 * <p>Kept state makes an instance serve one caller at a time, as its {@link Preprocessor}.
 */
final class ImageIoDecoder implements Preprocessor.Pixels {
    private final int planes;
    private final long pixelBudgetBytes;
    private final Bytes stream = new Bytes();
    private ImageReader jpegReader;
    private BufferedImage image;

    // The decoded image's pixels: straight from the bytes when `direct`, else through the image.
    private boolean direct;
    private byte[] data;
    private int scanline;
    private int pixelStride;
    private int[] offsets;
    private Raster raster;
    private boolean gray;
    private float depth;

    /** @param planes the model's colour planes (1: gray, 3: RGB) */
    ImageIoDecoder(int planes, long pixelBudgetBytes) {
        this.planes = planes;
        this.pixelBudgetBytes = pixelBudgetBytes;
    }

    int width() {
        return image.getWidth();
    }

    int height() {
        return image.getHeight();
    }

    /**
     * Reads the header's dimensions first; decodes at most the pixel budget, subsampling larger
     * images (every s-th pixel of every s-th row, which the box average then treats as the image).
     *
     * @param maxSide the largest side an image may have
     * @param target  the model's input size, for the refusal
     */
    void decode(String name, byte[] bytes, int maxSide, String target) throws InputRejectedException {
        // JPEGs (FF D8) through the stream over the bytes and the kept reader; the rest as ImageIO
        // streams them, with a reader of their own: the PNG reader failed on a large PNG's header
        // read through the former (BadInputSoakTest), and PNGs that come here are the rare ones.
        boolean jpeg = bytes.length > 2 && (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xd8;
        if (jpeg) {
            stream.use(bytes);
        }
        ImageInputStream in = jpeg ? stream : new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes));
        try {
            ImageReader r = jpeg ? jpegReader() : reader(name, in);
            try {
                r.setInput(in, true, true);
                int w = r.getWidth(0);
                int h = r.getHeight(0);
                if (w < 1 || h < 1 || w > maxSide || h > maxSide) {
                    throw new InputRejectedException(Reason.WRONG_SIZE, name + ": image is " + w + "x" + h
                            + ", expected sides of 1.." + maxSide + " pixels (resized to " + target + ")");
                }
                // The type the reader makes unless given a destination (null when it cannot tell).
                Iterator<ImageTypeSpecifier> types = r.getImageTypes(0);
                ImageTypeSpecifier type = types.hasNext() ? types.next() : null;
                ImageReadParam param = r.getDefaultReadParam();
                int step = subsampling(w, h, bytesPerPixel(type));
                if (step > 1) {
                    param.setSourceSubsampling(step, step, 0, 0);
                }
                if (reusable(type, (w + step - 1) / step, (h + step - 1) / step)) {
                    param.setDestination(image);
                }
                image = r.read(0, param);
            } finally {
                // The kept JPEG reader stays for the next frame; the bytes do not.
                r.setInput(null);
                if (jpeg) {
                    stream.use(null);
                } else {
                    r.dispose();
                    in.close();
                }
            }
        } catch (IOException | RuntimeException e) {
            if (jpeg && jpegReader != null) {
                // A reader left half-way through a broken file is not trusted with the next one.
                jpegReader.dispose();
                jpegReader = null;
            }
            // The JDK's decoders say what is wrong in words of their own; escaped all the same.
            throw new InputRejectedException(Reason.UNREADABLE, name + ": unreadable image: "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + InputNames.escape(
                            e.getMessage().length() > 160 ? e.getMessage().substring(0, 160) + "..." : e.getMessage())), e);
        }
        view(image);
    }

    private ImageReader jpegReader() {
        if (jpegReader == null) {
            jpegReader = ImageIO.getImageReadersByFormatName("jpeg").next();
        }
        return jpegReader;
    }

    /** A new reader for the format of {@code in}; the caller disposes of it. */
    private static ImageReader reader(String name, ImageInputStream in) throws IOException, InputRejectedException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw new InputRejectedException(Reason.UNSUPPORTED_FORMAT, name
                    + ": not an image format this runtime reads (expected PNG or JPEG)");
        }
        return readers.next();
    }

    /** Whether the last decoded image is a {@code w x h} image of the reader's own {@code type}, to be written into. */
    private boolean reusable(ImageTypeSpecifier type, int w, int h) {
        return image != null && image.getWidth() == w && image.getHeight() == h && type != null
                && type.getBufferedImageType() != BufferedImage.TYPE_CUSTOM
                && type.getBufferedImageType() == image.getType();
    }

    /** The smallest step s for which a {@code w x h} image decoded at every s-th pixel fits the budget. */
    int subsampling(int w, int h, int bytesPerPixel) {
        long budgetPixels = Math.max(1, pixelBudgetBytes / bytesPerPixel);
        int step = (int) Math.max(1, Math.ceil(Math.sqrt((double) w * h / budgetPixels)));
        while (((long) (w + step - 1) / step) * ((h + step - 1) / step) > budgetPixels) {
            step++;
        }
        return step;
    }

    /** Bytes a decoded pixel of {@code type} takes; 8 (16-bit RGBA) when it cannot tell. */
    private static int bytesPerPixel(ImageTypeSpecifier type) {
        if (type == null) {
            return 8;
        }
        try {
            SampleModel sm = type.getSampleModel(1, 1);
            int bytes = Math.max(1, DataBuffer.getDataTypeSize(sm.getDataType()) / 8);
            return sm instanceof ComponentSampleModel ? bytes * sm.getNumBands() : bytes;
        } catch (RuntimeException e) {
            return 8;
        }
    }

    private void view(BufferedImage decoded) {
        raster = decoded.getRaster();
        ColorModel cm = decoded.getColorModel();
        gray = raster.getNumBands() == 1 && cm.getNumComponents() == 1;
        // 16-bit grayscale PNGs are brought to the 0..255 range the manifest's scale assumes.
        depth = gray && cm.getComponentSize(0) > 8 ? 255f / ((1 << cm.getComponentSize(0)) - 1) : 1f;
        int space = cm.getColorSpace().getType();
        direct = raster.getDataBuffer() instanceof DataBufferByte && raster.getDataBuffer().getNumBanks() == 1
                && raster.getSampleModel() instanceof ComponentSampleModel && cm instanceof ComponentColorModel
                && !cm.hasAlpha() && cm.getComponentSize(0) == 8
                && ((gray && space == ColorSpace.TYPE_GRAY) || (raster.getNumBands() == 3 && cm.getColorSpace().isCS_sRGB()));
        if (direct) {
            ComponentSampleModel sm = (ComponentSampleModel) raster.getSampleModel();
            data = ((DataBufferByte) raster.getDataBuffer()).getData();
            scanline = sm.getScanlineStride();
            pixelStride = sm.getPixelStride();
            offsets = sm.getBandOffsets(); // a copy
            // A child raster (never made here, but cheap to honour) starts inside the bank.
            int shift = raster.getDataBuffer().getOffset() - raster.getSampleModelTranslateX() * pixelStride
                    - raster.getSampleModelTranslateY() * scanline;
            for (int b = 0; b < offsets.length; b++) {
                offsets[b] += shift;
            }
        }
    }

    @Override
    public float at(int c, int x, int y) {
        if (direct) {
            int at = y * scanline + x * pixelStride;
            if (gray) {
                return data[at + offsets[0]] & 0xff;
            }
            return Preprocessor.Pixels.ofRgb(planes, c, data[at + offsets[0]] & 0xff, data[at + offsets[1]] & 0xff,
                    data[at + offsets[2]] & 0xff);
        }
        if (gray) {
            return raster.getSample(x, y, 0) * depth;
        }
        int rgb = image.getRGB(x, y);
        return Preprocessor.Pixels.ofRgb(planes, c, (rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff);
    }

    /** An image input stream straight over a byte array: ImageIO's own would copy it into a cache first. */
    private static final class Bytes extends ImageInputStreamImpl {
        private byte[] bytes = new byte[0];

        void use(byte[] next) {
            bytes = next == null ? new byte[0] : next;
            streamPos = 0;
            bitOffset = 0;
            flushedPos = 0;
        }

        @Override
        public int read() {
            bitOffset = 0;
            return streamPos < bytes.length ? bytes[(int) streamPos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (off < 0 || len < 0 || off + len > b.length) {
                throw new IndexOutOfBoundsException("off " + off + ", len " + len + " of " + b.length);
            }
            bitOffset = 0;
            if (len == 0) {
                return 0;
            }
            int left = bytes.length - (int) streamPos;
            if (left <= 0) {
                return -1;
            }
            int n = Math.min(len, left);
            System.arraycopy(bytes, (int) streamPos, b, off, n);
            streamPos += n;
            return n;
        }

        @Override
        public long length() {
            return bytes.length;
        }

        @Override
        public void close() {
            // Nothing is held; the decoder reuses this stream.
        }
    }
}
