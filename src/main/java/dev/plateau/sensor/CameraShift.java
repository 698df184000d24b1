package dev.plateau.sensor;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * A degraded camera, simulated: every pixel scaled by {@code gain} (a darker image, as dusk, a
 * dirty housing or a failing exposure give) plus seeded Gaussian noise of {@code noise} times the
 * full scale (sensor noise at high gain), clipped to the pixel range. For the replay source's
 * {@code shift} and for tests that need a shifted camera.
 *
 * @param gain  multiplier of every pixel value, in (0, 1]
 * @param noise standard deviation of the added noise as a share of full scale, in [0, 1]
 */
public record CameraShift(double gain, double noise) {
    public CameraShift {
        if (!(gain > 0 && gain <= 1) || !(noise >= 0 && noise <= 1)) {
            throw new IllegalArgumentException("camera shift: expected gain in (0, 1] and noise in [0, 1], found gain "
                    + gain + ", noise " + noise);
        }
    }

    /**
     * The PNG {@code png} as the shifted camera would have delivered it, as an 8-bit gray or RGB
     * PNG like the original.
     *
     * @throws IOException when {@code png} is not an image ImageIO reads
     */
    public byte[] apply(byte[] png, Random random) throws IOException {
        BufferedImage in = ImageIO.read(new ByteArrayInputStream(png));
        if (in == null) {
            throw new IOException("not an image ImageIO can read");
        }
        int type = in.getRaster().getNumBands() == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR;
        BufferedImage out = new BufferedImage(in.getWidth(), in.getHeight(), type);
        WritableRaster src = in.getRaster();
        WritableRaster dst = out.getRaster();
        int bands = Math.min(src.getNumBands(), dst.getNumBands());
        for (int y = 0; y < in.getHeight(); y++) {
            for (int x = 0; x < in.getWidth(); x++) {
                for (int b = 0; b < bands; b++) {
                    double v = src.getSample(x, y, b) * gain + random.nextGaussian() * noise * 255;
                    dst.setSample(x, y, b, (int) Math.round(Math.max(0, Math.min(255, v))));
                }
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(png.length * 2);
        ImageIO.write(out, "png", bytes);
        return bytes.toByteArray();
    }
}
