package dev.plateau.sensor;

import java.util.SplittableRandom;

/**
 * One bridge deck and one accelerometer mounted on it.
 *
 * <p>The deck is described by its first vertical bending frequency and the ratios of three more
 * modes to it (first lateral bending, first torsion, second vertical bending); the sensor by where
 * it sits (fraction of the span, lateral offset and height as fractions of the deck half-width) and
 * how crooked it is mounted. Frequencies are those at {@value VibrationSimulator#REFERENCE_TEMPERATURE_C} °C
 * on the intact deck.
 *
 * @param firstBendingHz first vertical bending frequency in Hz
 * @param lateralRatio first lateral bending frequency over {@code firstBendingHz}
 * @param torsionRatio first torsion frequency over {@code firstBendingHz}
 * @param secondBendingRatio second vertical bending frequency over {@code firstBendingHz}
 * @param dampingRatio viscous damping ratio of the first mode (higher modes a little more)
 * @param sensorPosition sensor position along the span, 0 and 1 being the supports
 * @param sensorOffset sensor distance from the deck centreline over the half-width
 * @param sensorHeight sensor height above the shear centre over the half-width
 * @param rollDeg sensor mounting error about its x (longitudinal) axis, degrees
 * @param pitchDeg sensor mounting error about its y (lateral) axis, degrees
 * @param yawDeg sensor mounting error about its z (vertical) axis, degrees
 * @param noiseRms sensor noise per axis in m/s² RMS over the 25 Hz band
 * @param windScale buffeting intensity relative to a typical site (1.0)
 * @param trafficPerMinute mean number of vehicle crossings per minute
 * @param stiffnessPerDegC relative change of deck stiffness per °C (negative: warm decks are softer)
 */
public record SiteParameters(
        double firstBendingHz,
        double lateralRatio,
        double torsionRatio,
        double secondBendingRatio,
        double dampingRatio,
        double sensorPosition,
        double sensorOffset,
        double sensorHeight,
        double rollDeg,
        double pitchDeg,
        double yawDeg,
        double noiseRms,
        double windScale,
        double trafficPerMinute,
        double stiffnessPerDegC) {

    /**
     * Highest modal frequency a site may have at the reference temperature. Cold decks stiffen by up
     * to ~13 % in frequency within the allowed temperature range, and the 50 Hz sampling resolves
     * up to 25 Hz, so 20 Hz keeps every mode below Nyquist.
     */
    public static final double MAX_MODE_HZ = 20.0;

    public SiteParameters {
        Checks.inRange("firstBendingHz", firstBendingHz, 0.5, 8.0);
        Checks.inRange("lateralRatio", lateralRatio, 1.0, 3.0);
        Checks.inRange("torsionRatio", torsionRatio, 1.0, 5.0);
        Checks.inRange("secondBendingRatio", secondBendingRatio, 2.0, 4.5);
        Checks.inRange("dampingRatio", dampingRatio, 0.005, 0.08);
        Checks.inRange("sensorPosition", sensorPosition, 0.05, 0.95);
        Checks.inRange("sensorOffset", sensorOffset, 0.0, 1.0);
        Checks.inRange("sensorHeight", sensorHeight, 0.0, 1.0);
        Checks.inRange("rollDeg", rollDeg, -10.0, 10.0);
        Checks.inRange("pitchDeg", pitchDeg, -10.0, 10.0);
        Checks.inRange("yawDeg", yawDeg, -10.0, 10.0);
        Checks.inRange("noiseRms", noiseRms, 0.0, 0.1);
        Checks.inRange("windScale", windScale, 0.0, 5.0);
        Checks.inRange("trafficPerMinute", trafficPerMinute, 0.0, 60.0);
        Checks.inRange("stiffnessPerDegC", stiffnessPerDegC, -0.005, 0.0);
        double highest = firstBendingHz * Math.max(Math.max(lateralRatio, torsionRatio), secondBendingRatio);
        if (highest > MAX_MODE_HZ) {
            throw new IllegalArgumentException("firstBendingHz: highest mode at " + highest
                    + " Hz (firstBendingHz " + firstBendingHz + " × largest ratio) is above the allowed "
                    + MAX_MODE_HZ + " Hz");
        }
    }

    /**
     * Draws a plausible site: a 25–65 m girder deck with a sensor near the quarter span, mounted
     * within ±2° of true. The same seed always gives the same site.
     */
    public static SiteParameters draw(long seed) {
        SplittableRandom r = new SplittableRandom(Seeds.mix(seed, 0x517E));
        return new SiteParameters(
                uniform(r, 1.5, 4.0),
                uniform(r, 1.2, 1.8),
                uniform(r, 2.0, 2.8),
                // 4.0 for a simply supported beam; continuity over piers lowers it.
                uniform(r, 3.2, 3.9),
                uniform(r, 0.01, 0.03),
                // Near the quarter span both the first and the second bending mode move the sensor.
                uniform(r, 0.25, 0.42),
                uniform(r, 0.3, 0.8),
                uniform(r, 0.3, 0.7),
                uniform(r, -2.0, 2.0),
                uniform(r, -2.0, 2.0),
                uniform(r, -2.0, 2.0),
                uniform(r, 0.002, 0.006),
                uniform(r, 0.5, 1.5),
                uniform(r, 2.0, 10.0),
                uniform(r, -0.003, -0.001));
    }

    static double uniform(SplittableRandom r, double min, double max) {
        return min + (max - min) * r.nextDouble();
    }
}
