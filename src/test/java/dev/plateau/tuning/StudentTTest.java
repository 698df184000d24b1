package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class StudentTTest {
    @Test
    void quantile_matchesTheTables() {
        // Values from the standard t table.
        assertEquals(31.821, StudentT.quantile(0.99, 1), 0.001);
        assertEquals(6.965, StudentT.quantile(0.99, 2), 0.001);
        assertEquals(4.541, StudentT.quantile(0.99, 3), 0.02);
        assertEquals(3.365, StudentT.quantile(0.99, 5), 0.01);
        assertEquals(2.764, StudentT.quantile(0.99, 10), 0.003);
        assertEquals(1.697, StudentT.quantile(0.95, 30), 0.001);
        assertEquals(2.326, StudentT.quantile(0.99, 100_000), 0.001);
        assertEquals(0.0, StudentT.quantile(0.5, 7), 1e-6);
    }

    @Test
    void quantile_outsideItsRange_refusedWithWhatWasExpected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StudentT.quantile(0.99, 0));
        assertEquals("p in [0.5, 1) and df >= 1 expected, got p=0.99 df=0", e.getMessage());
    }
}
