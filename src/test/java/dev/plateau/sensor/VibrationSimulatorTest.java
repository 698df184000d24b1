package dev.plateau.sensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class VibrationSimulatorTest {
    /** A 40 m deck: V1 2.5 Hz, L1 3.75 Hz, T1 6.0 Hz, V2 9.0 Hz at 15 °C. */
    static final SiteParameters SITE = new SiteParameters(
            2.5, 1.5, 2.4, 3.6, 0.02, 0.3, 0.5, 0.5, 0.5, -0.5, 0.3, 0.003, 1.0, 6.0, -0.002);
    /**
     * The same deck lightly damped and under wind alone (only the vehicle that triggers the record
     * crosses, at its start): a narrow, stationary resonance whose spectral peak pins the modal
     * frequency within a few hundredths of a hertz, as in ambient modal surveys.
     */
    static final SiteParameters AMBIENT = new SiteParameters(
            2.5, 1.5, 2.4, 3.6, 0.006, 0.3, 0.5, 0.5, 0.5, -0.5, 0.3, 0.003, 2.0, 0.0, -0.002);
    /** 82 s records; the first 20 s, with the triggering vehicle, are left out of spectra. */
    static final int LONG = 4096;
    static final int SKIP = 1024;
    static final double RATE = VibrationSimulator.SAMPLE_RATE_HZ;
    static final int AZ = 2;
    static final int AY = 1;

    final VibrationSimulator simulator = new VibrationSimulator(SITE);

    @Test
    void window_sameSeed_identicalOutput() {
        double[][] first = simulator.window(20.0, new Damage(0.4, 0.7, 0.6), 42L);
        double[][] second = new VibrationSimulator(SITE).window(20.0, new Damage(0.4, 0.7, 0.6), 42L);

        for (int c = 0; c < 3; c++) {
            assertArrayEquals(first[c], second[c], 0.0);
        }
    }

    @Test
    void window_otherSeed_otherOutput() {
        double[][] first = simulator.window(20.0, Damage.NONE, 1L);
        double[][] second = simulator.window(20.0, Damage.NONE, 2L);

        assertFalse(Arrays.equals(first[AZ], second[AZ]));
    }

    @Test
    void window_anySeed_threeChannelsOfFixedLengthWithGravityOnZ() {
        double[][] window = simulator.window(15.0, Damage.NONE, 7L);

        assertEquals(3, window.length);
        for (double[] channel : window) {
            assertEquals(VibrationSimulator.LENGTH, channel.length);
        }
        double meanZ = Arrays.stream(window[AZ]).average().orElseThrow();
        assertEquals(VibrationSimulator.GRAVITY, meanZ, 0.05);
    }

    @Test
    void window_healthy_strongestPeakNearAModalFrequency() {
        double[] modes = simulator.modalFrequenciesHz(15.0, Damage.NONE);
        double[] grid = Spectra.grid(0.5, 20.0, 0.05);
        for (long seed = 0; seed < 5; seed++) {
            double[][] window = simulator.window(15.0, Damage.NONE, seed);
            double[] total = new double[grid.length];
            for (double[] channel : window) {
                double[] power = Spectra.power(channel, RATE, grid);
                for (int k = 0; k < grid.length; k++) {
                    total[k] += power[k];
                }
            }
            double peak = Spectra.peakHz(grid, total);
            double nearest = Arrays.stream(modes).map(f -> Math.abs(f - peak)).min().orElseThrow();
            // One DFT bin of the 5.12 s window is 0.195 Hz.
            assertTrue(nearest < 0.25, "seed " + seed + ": peak " + peak + " Hz, modes " + Arrays.toString(modes));
        }
    }

    @Test
    void modalFrequenciesHz_warmerDeck_allModesLowerByTheSameFactor() {
        double[] cold = simulator.modalFrequenciesHz(-5.0, Damage.NONE);
        double[] warm = simulator.modalFrequenciesHz(35.0, Damage.NONE);

        // Stiffness 1 - 0.002 * (T - 15): 1.04 at -5 °C, 0.96 at 35 °C; frequency goes with its root.
        double expected = Math.sqrt(0.96 / 1.04);
        for (int m = 0; m < cold.length; m++) {
            assertEquals(expected, warm[m] / cold[m], 1e-12);
        }
    }

    @Test
    void simulate_warmerDeck_lowersFirstBendingPeak() {
        VibrationSimulator ambient = new VibrationSimulator(AMBIENT);
        double cold = firstBendingPeakHz(ambient, -5.0, Damage.NONE);
        double warm = firstBendingPeakHz(ambient, 35.0, Damage.NONE);

        // Stiffness 1.04 at -5 °C and 0.96 at 35 °C: V1 moves from 2.550 Hz to 2.449 Hz.
        assertEquals(2.5 * Math.sqrt(1.04), cold, 0.03);
        assertEquals(2.5 * (Math.sqrt(1.04) - Math.sqrt(0.96)), cold - warm, 0.05);
    }

    @Test
    void modalFrequenciesHz_damageAtMidspan_lowersFirstBendingButNotSecond() {
        Damage midspan = new Damage(0.5, 1.0, 0.8);
        double[] intact = simulator.modalFrequenciesHz(15.0, Damage.NONE);
        double[] damaged = simulator.modalFrequenciesHz(15.0, midspan);

        // Full severity costs the mode 10 % of its stiffness where its curvature peaks.
        assertEquals(Math.sqrt(0.9), damaged[0] / intact[0], 1e-12);
        // Midspan is an inflection point of V2: it stores no strain energy there.
        assertEquals(intact[3], damaged[3], 1e-9);
    }

    @Test
    void simulate_damageAtMidspan_lowersFirstBendingPeak() {
        VibrationSimulator ambient = new VibrationSimulator(AMBIENT);
        double intact = firstBendingPeakHz(ambient, 15.0, Damage.NONE);
        double damaged = firstBendingPeakHz(ambient, 15.0, new Damage(0.5, 1.0, 0.8));

        assertEquals(2.5, intact, 0.03);
        assertEquals(2.5 * (1.0 - Math.sqrt(0.9)), intact - damaged, 0.05);
    }

    @Test
    void simulate_offCentreDamage_firstBendingModeShowsLaterally() {
        Damage offCentre = new Damage(0.5, 1.0, 0.8);
        double intact = lateralOverVertical(simulator.simulate(LONG, 15.0, Damage.NONE, 9L), 2.5);
        double damaged = lateralOverVertical(simulator.simulate(LONG, 15.0, offCentre, 9L), 2.5 * Math.sqrt(0.9));

        // Intact, V1 reaches ay only through the 0.5° mounting roll (power ratio ~1e-4), so ay around
        // V1 is the lateral modes' tails and noise. Damaged, V1 twists (mixing 1.2 × 1.0 × 0.8), and a
        // twist moves the sensor, 0.5 half-widths above the shear centre, sideways.
        assertTrue(intact < 0.02, "intact ay/az power around V1 " + intact);
        assertTrue(damaged > 0.05, "damaged ay/az power around V1 " + damaged);
    }

    /** Peak of the vertical power between 2 and 3 Hz, summed over two records. */
    private static double firstBendingPeakHz(VibrationSimulator simulator, double temperatureC, Damage damage) {
        double[] band = Spectra.grid(2.0, 3.0, 0.005);
        double[] total = new double[band.length];
        for (long seed = 1; seed <= 2; seed++) {
            double[] az = simulator.simulate(LONG, temperatureC, damage, seed)[AZ];
            double[] power = Spectra.power(Arrays.copyOfRange(az, SKIP, LONG), RATE, band);
            for (int k = 0; k < band.length; k++) {
                total[k] += power[k];
            }
        }
        return Spectra.peakHz(band, total);
    }

    /** Lateral over vertical power within ±0.1 Hz of a frequency: averaging bins tames their scatter. */
    private static double lateralOverVertical(double[][] record, double hz) {
        double[] band = Spectra.grid(hz - 0.1, hz + 0.1, 0.005);
        double lateral = Arrays.stream(Spectra.power(record[AY], RATE, band)).sum();
        double vertical = Arrays.stream(Spectra.power(record[AZ], RATE, band)).sum();
        return lateral / vertical;
    }

    @Test
    void modes_intactDeck_fourModesInOrderWithinTheBand() {
        List<Mode> modes = simulator.modes(15.0, Damage.NONE);

        assertEquals(List.of("V1", "L1", "T1", "V2"), modes.stream().map(Mode::name).toList());
        for (Mode mode : modes) {
            assertTrue(mode.frequencyHz() >= 1.0 && mode.frequencyHz() <= 20.0, mode.toString());
            assertTrue(mode.dampingRatio() >= 0.01 && mode.dampingRatio() <= 0.05, mode.toString());
        }
    }

    @Test
    void window_temperatureOutOfRange_rejectedNamingValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> simulator.window(80.0, Damage.NONE, 1L));

        assertEquals("temperatureC: out of range (value 80.0, allowed [-40.0, 60.0])", e.getMessage());
    }

    @Test
    void window_nullDamage_rejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> simulator.window(15.0, null, 1L));

        assertTrue(e.getMessage().startsWith("damage:"), e.getMessage());
    }

    @Test
    void draw_sameSeed_sameSiteAndOtherSeedOtherSite() {
        assertEquals(SiteParameters.draw(11L), SiteParameters.draw(11L));
        assertNotEquals(SiteParameters.draw(11L), SiteParameters.draw(12L));
    }

    @Test
    void draw_manySeeds_sitesStayInTheirDocumentedRanges() {
        for (long seed = 0; seed < 200; seed++) {
            SiteParameters site = SiteParameters.draw(seed);
            assertTrue(site.firstBendingHz() >= 1.5 && site.firstBendingHz() <= 4.0, site.toString());
            assertTrue(site.dampingRatio() >= 0.01 && site.dampingRatio() <= 0.03, site.toString());
            assertTrue(site.noiseRms() >= 0.002 && site.noiseRms() <= 0.006, site.toString());
            double[] modes = new VibrationSimulator(site).modalFrequenciesHz(-10.0, Damage.NONE);
            assertTrue(Arrays.stream(modes).max().orElseThrow() < VibrationSimulator.SAMPLE_RATE_HZ / 2, site.toString());
        }
    }
}
