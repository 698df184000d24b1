package dev.plateau.sensor;

import java.util.SplittableRandom;

/**
 * A localized loss of bending stiffness, such as a cracked or corroded girder.
 *
 * @param location position along the span, 0 and 1 being the supports
 * @param severity 0 for an intact deck up to 1 for the worst damage the simulator models
 * @param eccentricity lateral position of the damaged girder over the half-width; off-centre damage
 *     makes the deck asymmetric, which couples bending with torsion
 */
public record Damage(double location, double severity, double eccentricity) {

    /** The intact deck. */
    public static final Damage NONE = new Damage(0.5, 0.0, 0.0);

    public Damage {
        Checks.inRange("location", location, 0.05, 0.95);
        Checks.inRange("severity", severity, 0.0, 1.0);
        Checks.inRange("eccentricity", eccentricity, -1.0, 1.0);
    }

    /** True for the intact deck. */
    public boolean intact() {
        return severity == 0.0;
    }

    /**
     * A damage state of the kind the data set labels {@code damaged}: damage an inspection would
     * act on, moderate to severe, in a girder off the centreline, away from the supports (where
     * the first mode hardly bends, so it hardly notices).
     */
    static Damage draw(SplittableRandom r) {
        double side = r.nextBoolean() ? 1.0 : -1.0;
        return new Damage(
                SiteParameters.uniform(r, 0.25, 0.75),
                SiteParameters.uniform(r, 0.5, 1.0),
                side * SiteParameters.uniform(r, 0.5, 1.0));
    }
}
