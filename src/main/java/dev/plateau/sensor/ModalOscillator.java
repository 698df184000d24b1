package dev.plateau.sensor;

/**
 * One vibration mode as a damped single-degree-of-freedom oscillator in modal coordinates,
 * {@code q'' + 2ζω q' + ω² q = u}, with u the generalized force per unit modal mass.
 *
 * <p>The state is advanced with the exact solution for a force held constant over the step rather
 * than with a numerical integrator: it is unconditionally stable and keeps the modal frequency and
 * damping exact at any step, so a lightly damped mode neither gains nor loses energy artificially
 * over the long warm-up.
 */
final class ModalOscillator {
    private final double omega2;
    private final double twoZetaOmega;
    private final double a00;
    private final double a01;
    private final double a10;
    private final double a11;
    private final double b0;
    private final double b1;
    private double q;
    private double v;

    ModalOscillator(double frequencyHz, double dampingRatio, double dt) {
        double omega = 2.0 * Math.PI * frequencyHz;
        double sigma = dampingRatio * omega;
        double omegaD = omega * Math.sqrt(1.0 - dampingRatio * dampingRatio);
        double decay = Math.exp(-sigma * dt);
        double cos = Math.cos(omegaD * dt);
        double sin = Math.sin(omegaD * dt);
        omega2 = omega * omega;
        twoZetaOmega = 2.0 * sigma;
        a00 = decay * (cos + sigma / omegaD * sin);
        a01 = decay * sin / omegaD;
        a10 = -decay * omega2 / omegaD * sin;
        a11 = decay * (cos - sigma / omegaD * sin);
        // Input column of the zero-order-hold discretization: A⁻¹ (e^{A dt} − I) [0, 1]ᵀ.
        b0 = (1.0 - a11 - twoZetaOmega * a01) / omega2;
        b1 = a01;
    }

    /** Returns the modal acceleration at the current instant under force u, then advances one step. */
    double step(double u) {
        double acceleration = u - twoZetaOmega * v - omega2 * q;
        double nextQ = a00 * q + a01 * v + b0 * u;
        double nextV = a10 * q + a11 * v + b1 * u;
        q = nextQ;
        v = nextV;
        return acceleration;
    }
}
