package dev.plateau.sensor;

/**
 * One deck mode as seen by the sensor.
 *
 * @param name V1, L1, T1 or V2
 * @param order number of half-waves along the span, which sets how a load at position ξ forces it
 *     ({@code sin(order·π·ξ)})
 * @param frequencyHz modal frequency at the window's temperature and damage state
 * @param dampingRatio viscous damping ratio
 * @param shapeX participation of the mode in the sensor's longitudinal axis
 * @param shapeY participation in the lateral axis
 * @param shapeZ participation in the vertical axis
 * @param bendingLoad share of a vehicle's weight that drives the mode through vertical bending
 * @param torsionLoad share that drives it through the vehicle's lateral lane offset
 * @param lateralLoad share that acts sideways (vehicle sway)
 * @param modalMassKg modal mass of the deck for this mode
 * @param windGain buffeting force per unit modal mass at unit wind, m/s² RMS
 */
record Mode(
        String name,
        int order,
        double frequencyHz,
        double dampingRatio,
        double shapeX,
        double shapeY,
        double shapeZ,
        double bendingLoad,
        double torsionLoad,
        double lateralLoad,
        double modalMassKg,
        double windGain) {}
