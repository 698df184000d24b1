package dev.plateau.sensor;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One vehicle crossing the span: a moving load whose weight oscillates at the body's bounce
 * frequency (road roughness sets the suspension bouncing, and a bounce near a deck frequency is
 * what makes some crossings ring the deck far more than others).
 */
record Vehicle(
        double entrySeconds,
        double speed,
        double massKg,
        double lane,
        double bounceHz,
        double bounceAmplitude,
        double bouncePhase,
        boolean forward) {

    /** Share of heavy goods vehicles in the traffic. */
    private static final double TRUCK_SHARE = 0.15;
    /** Share of heavy goods vehicles among the vehicles that trigger a recording. */
    private static final double TRIGGER_TRUCK_SHARE = 0.6;

    /**
     * Position along the span as a fraction of it at time t, or NaN while the vehicle is off the
     * span.
     */
    double position(double t, double spanM) {
        double travelled = (t - entrySeconds) * speed / spanM;
        if (travelled < 0.0 || travelled > 1.0) {
            return Double.NaN;
        }
        return forward ? travelled : 1.0 - travelled;
    }

    /** Vertical load in newtons at time t. */
    double load(double t) {
        double bounce = Math.sin(2.0 * Math.PI * bounceHz * (t - entrySeconds) + bouncePhase);
        return massKg * VibrationSimulator.GRAVITY * (1.0 + bounceAmplitude * bounce);
    }

    /** Vehicles entering within [0, durationSeconds): a Poisson stream of cars and trucks. */
    static List<Vehicle> arrivals(SplittableRandom r, double perSecond, double durationSeconds) {
        List<Vehicle> vehicles = new ArrayList<>();
        if (perSecond <= 0.0) {
            return vehicles;
        }
        double t = -Math.log(1.0 - r.nextDouble()) / perSecond;
        while (t < durationSeconds) {
            vehicles.add(draw(r, t));
            t += -Math.log(1.0 - r.nextDouble()) / perSecond;
        }
        return vehicles;
    }

    /**
     * The vehicle that starts a recording. Nodes on batteries record when the deck moves past a
     * threshold, so a window begins shortly before a vehicle enters the span, and heavy vehicles
     * trip the threshold more often than their share of the traffic.
     */
    static Vehicle trigger(SplittableRandom r, double entrySeconds) {
        return draw(r, entrySeconds, r.nextDouble() < TRIGGER_TRUCK_SHARE);
    }

    private static Vehicle draw(SplittableRandom r, double entrySeconds) {
        return draw(r, entrySeconds, r.nextDouble() < TRUCK_SHARE);
    }

    private static Vehicle draw(SplittableRandom r, double entrySeconds, boolean truck) {
        double side = r.nextBoolean() ? 1.0 : -1.0;
        return new Vehicle(
                entrySeconds,
                SiteParameters.uniform(r, 12.0, 25.0),
                truck ? SiteParameters.uniform(r, 12_000.0, 40_000.0) : SiteParameters.uniform(r, 1_000.0, 2_500.0),
                // Lanes sit off the centreline, so every vehicle twists the deck a little.
                side * SiteParameters.uniform(r, 0.15, 0.6),
                truck ? SiteParameters.uniform(r, 1.5, 3.5) : SiteParameters.uniform(r, 1.0, 2.0),
                truck ? SiteParameters.uniform(r, 0.03, 0.10) : SiteParameters.uniform(r, 0.05, 0.15),
                SiteParameters.uniform(r, 0.0, 2.0 * Math.PI),
                side > 0.0);
    }
}
