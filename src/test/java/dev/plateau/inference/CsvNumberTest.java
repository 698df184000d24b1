package dev.plateau.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.plateau.model.ModelBundle;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The CSV parser converts plain decimals without a String; it must give exactly the float
 * {@link Float#parseFloat} gives, on the shortcut, on its edges and past them.
 */
class CsvNumberTest {
    private static final Path BRIDGE = Path.of("models/bridge-vibration");

    @Test
    void exactFloat_randomMantissasAndScales_sameBitsAsParseFloat() {
        SplittableRandom random = new SplittableRandom(15);
        int checked = 0;
        for (int n = 0; n < 400_000; n++) {
            long mantissa = random.nextLong(1L << random.nextInt(1, 54));
            int scale = random.nextInt(-22, 23);
            float fast = Preprocessor.exactFloat(mantissa, scale);
            if (!Float.isNaN(fast)) {
                float expected = Float.parseFloat(mantissa + "E" + scale);
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(fast), mantissa + "E" + scale);
                checked++;
            }
        }
        assertEquals(true, checked > 390_000, "the shortcut took only " + checked + " of 400000");
    }

    @Test
    void exactFloat_halfwayBetweenTwoFloats_leftToParseFloat() {
        // 2^24 + 1 is exactly halfway between the floats 2^24 and 2^24 + 2.
        assertEquals(true, Float.isNaN(Preprocessor.exactFloat((1L << 24) + 1, 0)));
    }

    @Test
    void fill_windowOfRandomDecimalsInEveryForm_sameFloatsAsParseFloat() throws Exception {
        Preprocessor pre = new Preprocessor(ModelBundle.open(BRIDGE).manifest().input());
        SplittableRandom random = new SplittableRandom(7);
        for (int window = 0; window < 200; window++) {
            String[][] cells = new String[256][3];
            StringBuilder csv = new StringBuilder("ax,ay,az\n");
            for (int row = 0; row < 256; row++) {
                for (int c = 0; c < 3; c++) {
                    cells[row][c] = randomDecimal(random);
                    csv.append(c > 0 ? "," : "").append(cells[row][c]);
                }
                csv.append('\n');
            }
            FloatBuffer out = FloatBuffer.allocate(3 * 256);
            pre.fill("w.csv", csv.toString().getBytes(StandardCharsets.US_ASCII), out);
            for (int row = 0; row < 256; row++) {
                for (int c = 0; c < 3; c++) {
                    float expected = Float.parseFloat(cells[row][c].strip());
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out.get(c * 256 + row)),
                            cells[row][c]);
                }
            }
        }
    }

    /** A value in the bridge model's range [-40, 40], written in one of the plain forms. */
    private static String randomDecimal(SplittableRandom random) {
        double v = (random.nextDouble() * 80 - 40) * Math.pow(10, -random.nextInt(0, 30));
        return switch (random.nextInt(8)) {
            case 0 -> String.format(Locale.ROOT, "%.4f", v);                  // the simulator's own
            case 1 -> String.format(Locale.ROOT, "%.18e", v);                 // np.savetxt's default: 19 digits
            case 2 -> Double.toString(v);                                     // shortest repr, may have E
            case 3 -> Float.toString((float) v);
            case 4 -> String.format(Locale.ROOT, "%.25f", v);                 // long, many leading zeros
            case 5 -> String.format(Locale.ROOT, " %+.6e\t", v);              // sign, padding
            case 6 -> String.format(Locale.ROOT, "%.0f", v);                  // integers, and -0
            default -> String.format(Locale.ROOT, "%.9g", v).replace("e", "E");
        };
    }
}
