package dev.plateau.sensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ParametersTest {
    private static SiteParameters site(double firstBendingHz, double dampingRatio, double secondBendingRatio) {
        return new SiteParameters(firstBendingHz, 1.5, 2.4, secondBendingRatio, dampingRatio,
                0.3, 0.5, 0.5, 0.0, 0.0, 0.0, 0.003, 1.0, 6.0, -0.002);
    }

    @Test
    void siteParameters_firstBendingOutOfRange_rejectedNamingValueAndRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> site(30.0, 0.02, 3.6));

        assertEquals("firstBendingHz: out of range (value 30.0, allowed [0.5, 8.0])", e.getMessage());
    }

    @Test
    void siteParameters_negativeDamping_rejectedNamingValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> site(2.5, -0.01, 3.6));

        assertEquals("dampingRatio: out of range (value -0.01, allowed [0.005, 0.08])", e.getMessage());
    }

    @Test
    void siteParameters_notANumber_rejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> site(Double.NaN, 0.02, 3.6));

        assertTrue(e.getMessage().startsWith("firstBendingHz: out of range (value NaN"), e.getMessage());
    }

    @Test
    void siteParameters_highestModeAboveTwentyHertz_rejectedNamingFrequency() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> site(6.0, 0.02, 4.0));

        assertTrue(e.getMessage().contains("24.0 Hz"), e.getMessage());
        assertTrue(e.getMessage().contains("20.0 Hz"), e.getMessage());
    }

    @Test
    void damage_severityAboveOne_rejectedNamingValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Damage(0.5, 1.5, 0.0));

        assertEquals("severity: out of range (value 1.5, allowed [0.0, 1.0])", e.getMessage());
    }

    @Test
    void damage_atSupport_rejectedNamingValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Damage(1.0, 0.5, 0.0));

        assertEquals("location: out of range (value 1.0, allowed [0.05, 0.95])", e.getMessage());
    }

    @Test
    void intact_noneAndZeroSeverity_true() {
        assertTrue(Damage.NONE.intact());
        assertTrue(new Damage(0.3, 0.0, 0.9).intact());
    }
}
