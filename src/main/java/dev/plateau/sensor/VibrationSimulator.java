package dev.plateau.sensor;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Accelerations measured by a 3-axis accelerometer on a bridge deck.
 *
 * <p>The deck is the sum of its first four modes (V1 and V2 vertical bending, L1 lateral bending,
 * T1 torsion), each a damped oscillator driven by vehicles crossing the span and by wind
 * buffeting. The sensor sees every mode through its mode shape at the mounting point, plus gravity,
 * its own mounting error and noise. Temperature softens the whole deck; damage softens the modes
 * that bend at the damaged section, damps them more and, when off-centre, mixes torsion into
 * bending, so the first bending mode starts to show in the lateral axis. Like a battery-powered
 * monitoring node, the simulator records a window when a vehicle is about to enter the span.
 *
 * <p>Output is {@value #LENGTH} samples at {@value #SAMPLE_RATE_HZ} Hz per window, as
 * {@code double[3][LENGTH]} in m/s² for axes {@link #CHANNELS}. The same site, temperature, damage
 * and seed always give the same window. Instances are immutable and thread-safe.
 */
public final class VibrationSimulator {
    public static final double SAMPLE_RATE_HZ = 50.0;
    public static final int LENGTH = 256;
    public static final List<String> CHANNELS = List.of("ax", "ay", "az");
    /** Temperature at which the site's frequencies are given. */
    public static final double REFERENCE_TEMPERATURE_C = 15.0;
    public static final double MIN_TEMPERATURE_C = -40.0;
    public static final double MAX_TEMPERATURE_C = 60.0;

    static final double GRAVITY = 9.80665;
    /**
     * Internal steps per output sample. The sensor averages them, as a MEMS accelerometer's
     * decimation filter does, so force content above Nyquist does not alias into the band.
     */
    static final int OVERSAMPLING = 4;
    /**
     * Simulated time before the window starts. The lightest-damped mode (1 %, 1.5 Hz) forgets its
     * initial rest state with a time constant of about 10 s; 40 s leaves the window in the
     * stationary regime and lets vehicles already on the span at the window start count.
     */
    static final double WARM_UP_S = 40.0;
    /** A window starts this long before the vehicle that triggered it enters the span. */
    static final double PRE_TRIGGER_MIN_S = 0.2;
    static final double PRE_TRIGGER_MAX_S = 1.0;
    /** Deck mass per metre of a two-lane girder deck. */
    static final double MASS_PER_METRE = 12_000.0;
    /** Empirical span-frequency relation of road bridges: f1 ≈ 100 / L (L in metres). */
    static final double SPAN_RULE_M_HZ = 100.0;
    /** Half the section depth over the span (depth ≈ L/20): longitudinal motion of the top fibre. */
    static final double HALF_DEPTH_OVER_SPAN = 1.0 / 40.0;
    /** Largest stiffness loss of a mode whose curvature peaks at the damage (about 5 % in frequency). */
    static final double MAX_STIFFNESS_LOSS = 0.10;
    /**
     * Mixing of torsion into bending per unit of severity × eccentricity × curvature². At the
     * extreme the first bending mode twists about as much as it bends, as the first mode of a
     * two-girder deck with one badly cracked girder does.
     */
    static final double COUPLING = 1.2;
    /** Extra damping from friction at crack faces, relative, at full severity. */
    static final double DAMAGE_DAMPING = 0.8;
    /** Share of a vehicle's weight acting sideways through body sway. */
    static final double LATERAL_SWAY = 0.02;
    /** Corner frequency of the buffeting force spectrum; decks respond to gusts slower than this. */
    static final double WIND_CORNER_HZ = 1.0;

    private final SiteParameters site;
    private final double spanM;
    private final double[][] mounting;

    public VibrationSimulator(SiteParameters site) {
        if (site == null) {
            throw new IllegalArgumentException("site: must not be null");
        }
        this.site = site;
        this.spanM = SPAN_RULE_M_HZ / site.firstBendingHz();
        this.mounting = rotation(site.rollDeg(), site.pitchDeg(), site.yawDeg());
    }

    public SiteParameters site() {
        return site;
    }

    /**
     * Modal frequencies in Hz in the order V1, L1, T1, V2 at the given deck temperature and damage.
     */
    public double[] modalFrequenciesHz(double temperatureC, Damage damage) {
        return modes(temperatureC, damage).stream().mapToDouble(Mode::frequencyHz).toArray();
    }

    /**
     * One window of {@value #LENGTH} samples: {@code [channel][sample]} in m/s², channels
     * {@link #CHANNELS}. Traffic, wind and noise are drawn from the seed.
     */
    public double[][] window(double temperatureC, Damage damage, long seed) {
        return simulate(LENGTH, temperatureC, damage, seed);
    }

    double[][] simulate(int length, double temperatureC, Damage damage, long seed) {
        Checks.inRange("length", length, 1, 1 << 24);
        List<Mode> modes = modes(temperatureC, damage);
        SplittableRandom r = new SplittableRandom(seed);
        double dt = 1.0 / (SAMPLE_RATE_HZ * OVERSAMPLING);
        int warmUpSteps = (int) Math.round(WARM_UP_S / dt);
        int steps = warmUpSteps + length * OVERSAMPLING;
        // Rush hours and quiet nights: the rate of the window scatters around the site's mean.
        double perSecond = site.trafficPerMinute() / 60.0 * Math.exp(0.3 * r.nextGaussian());
        List<Vehicle> vehicles = Vehicle.arrivals(r, perSecond, steps * dt);
        double windowStart = warmUpSteps * dt;
        vehicles.add(Vehicle.trigger(r, windowStart + SiteParameters.uniform(r, PRE_TRIGGER_MIN_S, PRE_TRIGGER_MAX_S)));
        // Buffeting force grows with the square of the wind speed.
        double gust = site.windScale() * Math.exp(0.35 * r.nextGaussian());
        double windRms = gust * gust;

        int n = modes.size();
        ModalOscillator[] oscillators = new ModalOscillator[n];
        double[] wind = new double[n];
        for (int m = 0; m < n; m++) {
            oscillators[m] = new ModalOscillator(modes.get(m).frequencyHz(), modes.get(m).dampingRatio(), dt);
            wind[m] = r.nextGaussian();
        }
        double windKeep = Math.exp(-2.0 * Math.PI * WIND_CORNER_HZ * dt);
        double windFresh = Math.sqrt(1.0 - windKeep * windKeep);

        double[][] out = new double[3][length];
        double[] deck = new double[3];
        for (int k = 0; k < steps; k++) {
            double t = k * dt;
            boolean recording = k >= warmUpSteps;
            for (int m = 0; m < n; m++) {
                Mode mode = modes.get(m);
                wind[m] = windKeep * wind[m] + windFresh * r.nextGaussian();
                double force = mode.windGain() * windRms * wind[m] + vehicleForce(mode, vehicles, t);
                double a = oscillators[m].step(force);
                if (recording) {
                    deck[0] += mode.shapeX() * a;
                    deck[1] += mode.shapeY() * a;
                    deck[2] += mode.shapeZ() * a;
                }
            }
            if (recording && (k - warmUpSteps + 1) % OVERSAMPLING == 0) {
                sense(deck, out, (k - warmUpSteps) / OVERSAMPLING, r);
                Arrays.fill(deck, 0.0);
            }
        }
        return out;
    }

    /** Deck acceleration at one output instant, seen through the sensor mounting, plus gravity and noise. */
    private void sense(double[] deckSum, double[][] out, int i, SplittableRandom r) {
        double x = deckSum[0] / OVERSAMPLING;
        double y = deckSum[1] / OVERSAMPLING;
        // An accelerometer at rest reads +1 g upwards: it measures specific force, not acceleration.
        double z = deckSum[2] / OVERSAMPLING + GRAVITY;
        for (int c = 0; c < 3; c++) {
            double value = mounting[c][0] * x + mounting[c][1] * y + mounting[c][2] * z;
            out[c][i] = value + site.noiseRms() * r.nextGaussian();
        }
    }

    private double vehicleForce(Mode mode, List<Vehicle> vehicles, double t) {
        double force = 0.0;
        for (Vehicle vehicle : vehicles) {
            double xi = vehicle.position(t, spanM);
            if (Double.isNaN(xi)) {
                continue;
            }
            double own = Math.sin(mode.order() * Math.PI * xi);
            double first = Math.sin(Math.PI * xi);
            double share = mode.bendingLoad() * own
                    + mode.torsionLoad() * vehicle.lane() * first
                    + mode.lateralLoad() * first;
            force += vehicle.load(t) * share;
        }
        return force / mode.modalMassKg();
    }

    List<Mode> modes(double temperatureC, Damage damage) {
        Checks.inRange("temperatureC", temperatureC, MIN_TEMPERATURE_C, MAX_TEMPERATURE_C);
        if (damage == null) {
            throw new IllegalArgumentException("damage: must not be null (use Damage.NONE for an intact deck)");
        }
        // The deck's Young's modulus (and the asphalt's, and the bearings') falls as it warms; every
        // mode's stiffness scales alike, so temperature moves all frequencies by the same factor.
        double thermal = 1.0 + site.stiffnessPerDegC() * (temperatureC - REFERENCE_TEMPERATURE_C);
        double s = site.sensorPosition();
        double e = site.sensorOffset();
        double h = site.sensorHeight();
        double f1 = site.firstBendingHz();
        double zeta = site.dampingRatio();

        // A stiffness loss at section d costs a bending mode in proportion to its curvature² there,
        // the share of the mode's strain energy stored at d.
        double d = damage.location();
        double b = damage.severity();
        double c = damage.eccentricity();
        double curvature1 = Math.sin(Math.PI * d);
        double curvature2 = Math.sin(2.0 * Math.PI * d);
        double energy1 = curvature1 * curvature1;
        double energy2 = curvature2 * curvature2;
        // Off-centre damage makes the section asymmetric: the stiffness matrix gains a bending-torsion
        // term proportional to both modes' curvature at d, so each bending mode also twists.
        double mix1 = COUPLING * b * c * curvature1 * curvature1;
        double mix2 = COUPLING * b * c * curvature2 * curvature1;

        double halfSpan = MASS_PER_METRE * spanM / 2.0;
        // Normalized to the deck-edge deflection, the torsional modal mass of a thin deck is a third
        // of the bending one (polar inertia m·b²/12 over (b/2)²).
        double torsionMass = MASS_PER_METRE * spanM / 6.0;
        double sin1 = Math.sin(Math.PI * s);
        double sin2 = Math.sin(2.0 * Math.PI * s);
        // Section rotation under bending moves the top fibre, where the sensor sits, lengthwise.
        double rot1 = HALF_DEPTH_OVER_SPAN * Math.PI * Math.cos(Math.PI * s);
        double rot2 = HALF_DEPTH_OVER_SPAN * 2.0 * Math.PI * Math.cos(2.0 * Math.PI * s);
        // Twisting by θ moves a point at offset e and height h by (−h·θ, e·θ) in (y, z).
        double torsionY = -h * sin1;
        double torsionZ = e * sin1;

        // Wind gains (last argument): buffeting drag pushes the deck sideways hardest; lift and
        // pitching moment drive the vertical and torsion modes less.
        Mode v1 = new Mode("V1", 1,
                f1 * Math.sqrt(thermal * (1.0 - MAX_STIFFNESS_LOSS * b * energy1)),
                zeta * (1.0 + DAMAGE_DAMPING * b * energy1),
                rot1, mix1 * torsionY, sin1 + mix1 * torsionZ,
                1.0, mix1, 0.0, halfSpan, 0.004);
        Mode l1 = new Mode("L1", 1,
                f1 * site.lateralRatio() * Math.sqrt(thermal * (1.0 - 0.2 * MAX_STIFFNESS_LOSS * b * energy1)),
                zeta * 1.1,
                0.0, sin1, 0.0,
                0.0, 0.0, LATERAL_SWAY, halfSpan, 0.010);
        Mode t1 = new Mode("T1", 1,
                f1 * site.torsionRatio()
                        * Math.sqrt(thermal * (1.0 - 0.5 * MAX_STIFFNESS_LOSS * b * Math.abs(c) * energy1)),
                zeta * 1.2 * (1.0 + DAMAGE_DAMPING * b * Math.abs(c) * energy1),
                -mix1 * rot1, torsionY, torsionZ - mix1 * sin1,
                -mix1, 1.0, 0.0, torsionMass, 0.005);
        Mode v2 = new Mode("V2", 2,
                f1 * site.secondBendingRatio() * Math.sqrt(thermal * (1.0 - MAX_STIFFNESS_LOSS * b * energy2)),
                zeta * 1.3 * (1.0 + DAMAGE_DAMPING * b * energy2),
                rot2, mix2 * torsionY, sin2 + mix2 * torsionZ,
                1.0, mix2, 0.0, halfSpan, 0.004);
        return List.of(v1, l1, t1, v2);
    }

    /** Sensor-from-deck rotation for small mounting errors, applied roll, then pitch, then yaw. */
    static double[][] rotation(double rollDeg, double pitchDeg, double yawDeg) {
        double a = Math.toRadians(rollDeg);
        double p = Math.toRadians(pitchDeg);
        double y = Math.toRadians(yawDeg);
        double[][] rx = {{1, 0, 0}, {0, Math.cos(a), -Math.sin(a)}, {0, Math.sin(a), Math.cos(a)}};
        double[][] ry = {{Math.cos(p), 0, Math.sin(p)}, {0, 1, 0}, {-Math.sin(p), 0, Math.cos(p)}};
        double[][] rz = {{Math.cos(y), -Math.sin(y), 0}, {Math.sin(y), Math.cos(y), 0}, {0, 0, 1}};
        return multiply(rz, multiply(ry, rx));
    }

    private static double[][] multiply(double[][] left, double[][] right) {
        double[][] product = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 3; k++) {
                    product[i][j] += left[i][k] * right[k][j];
                }
            }
        }
        return product;
    }
}
