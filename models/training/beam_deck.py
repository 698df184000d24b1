#!/usr/bin/env python3
"""Bridge-deck accelerometer windows from a finite-element deck: a held-out test set only.

The project's own simulator (`plateau simulate vibration`, `VibrationSimulator`) sums four fixed
modal oscillators with hand-set mode shapes. This generator is of another kind, so that a model
trained on the first can be measured honestly on decks it could not have been fitted to:

- the deck is a beam finite-element model (vertical and lateral bending, torsion with warping of
  its girders, eccentric mass) on drawn supports; its modes come from the generalized eigenproblem,
  so frequency ratios and mode shapes differ from deck to deck;
- damage is flexural cracking of one or two girders over a zone of the span; the eigen-solution
  decides what it does to each mode (and off-centre cracking couples bending with torsion);
- temperature stiffens the deck bilinearly, with a marked rise below freezing, freezes the
  abutments' rotation and stiffens elastomeric bearings;
- vehicles are multi-axle quarter-car models rolling over the deck's own road profile and joints;
  wind is spatially correlated buffeting; the ground trembles;
- the sensor is a MEMS accelerometer with a decimation filter, mounting error, gain, offset,
  white and 1/f noise;
- windows come in bursts of 12 consecutive windows (one minute) at random times of a year.

Output is what `plateau simulate vibration` writes: OUT/healthy/NNNNN.csv and OUT/damaged/NNNNN.csv
(header ax,ay,az; 256 rows at 50 Hz; m/s2 with 4 decimals, gravity included). The file number is
the window's index in time order, so windows 12k..12k+11 are one burst. Run from the repository
root (numpy only):

    python3 models/training/beam_deck.py --out DIR --deck-seed 101 --windows 600 --seed 1
    python3 models/training/beam_deck.py --describe --deck-seed 101
    python3 models/training/beam_deck.py --check

models/training/README.md ("A second generator: finite-element decks") has the measured figures.
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------------------------
# Output format: what `plateau simulate vibration` writes and the Java side reads
# ---------------------------------------------------------------------------------------------

SAMPLE_RATE_HZ = 50.0
WINDOW_SAMPLES = 256
#: One burst is a minute of recording: 12 consecutive windows of 5.12 s.
BURST_WINDOWS = 12
BURST_SAMPLES = BURST_WINDOWS * WINDOW_SAMPLES
CHANNELS = ("ax", "ay", "az")
HEALTHY = "healthy"
DAMAGED = "damaged"
#: 4 decimals (0.1 mm/s2), rounded half up like the Java CsvWindow.
DECIMAL_SCALE = 10_000

# ---------------------------------------------------------------------------------------------
# Simulation constants
# ---------------------------------------------------------------------------------------------

#: Internal steps per output sample (400 Hz): wheel hop (8-15 Hz) and the highest kept modes are
#: resolved many times over, and the decimation filter has room for its transition band.
OVERSAMPLING = 8
INTERNAL_HZ = SAMPLE_RATE_HZ * OVERSAMPLING
DT = 1.0 / INTERNAL_HZ
#: The least-damped mode allowed (0.5 %, 1.2 Hz) forgets its initial rest with a time constant
#: 1/(zeta omega) of 27 s; after 60 s its missing energy is e^-4.5, about 1 %.
WARM_UP_S = 60.0
WARM_UP_STEPS = int(round(WARM_UP_S * INTERNAL_HZ))
BURST_STEPS = WARM_UP_STEPS + BURST_SAMPLES * OVERSAMPLING
#: Modes above this are dropped: the sensor's decimation filter is 4 dB down at 22 Hz and 27 dB
#: at 25 Hz, so they would hardly show, and it leaves margin below the 25 Hz Nyquist frequency.
KEEP_BELOW_HZ = 22.0
NYQUIST_HZ = SAMPLE_RATE_HZ / 2.0
ELEMENTS = 32
GRAVITY = 9.80665
AIR_DENSITY = 1.25
REFERENCE_C = 15.0
TEMPERATURE_MIN_C = -10.0
TEMPERATURE_MAX_C = 35.0
#: Loss of the cracked girder's bending stiffness in its damaged zone: the cracked-section
#: moment of inertia of a reinforced or prestressed girder is 30-70 % below the gross one.
SEVERITY_RANGE = (0.3, 0.7)
#: Modal damping is kept within what road bridges show.
DAMPING_RANGE = (0.005, 0.04)

DOFS_PER_NODE = 6
#: Nodal degrees of freedom: vertical deflection and slope, lateral deflection and slope, twist
#: and rate of twist (Hermite cubic fields for all three, so the girders' warping is a bending of
#: each girder by its offset times the twist).
W, W_X, V, V_X, PHI, PHI_X = range(DOFS_PER_NODE)
FIELDS = {"w": (W, W_X), "v": (V, V_X), "phi": (PHI, PHI_X)}

# Seeds: every aspect of a deck and every burst of a run has its own stream, so drawing one more
# parameter in one place does not change the others.
DECK_STREAM = 0xBEA4
RUN_STREAM = 0x5E55
BURST_STREAM = 0xB0B5
ASPECTS = {name: i for i, name in enumerate(
    ["section", "supports", "damping", "thermal", "damage", "sensor", "traffic", "road", "wind",
     "tremor", "climate"])}


def _deck_rng(deck_seed, aspect):
    return np.random.default_rng([DECK_STREAM, deck_seed, ASPECTS[aspect]])


def _loguniform(rng, low, high):
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


# ---------------------------------------------------------------------------------------------
# The deck's drawn parameters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """The deck as a beam: span, mass, girders and the heights that matter (all SI)."""
    span_m: float
    width_m: float
    depth_m: float
    mass_per_m: float
    #: radius of gyration of the deck mass about its own centre, for the polar inertia
    polar_radius_m: float
    #: mass centre right of (y) and above (z) the shear centre: a sidewalk or heavy barrier on one
    #: side, a slab above open girders; couples vertical and lateral bending with torsion
    mass_offset_y_m: float
    mass_offset_z_m: float
    girder_y_m: tuple
    #: bending stiffness of one girder with its slab strip at 15 C, N m2
    girder_ei: float
    lateral_ei: float
    #: St-Venant torsional stiffness (slab and girders), N m2
    torsion_gj: float
    top_z_m: float
    neutral_axis_z_m: float
    bearing_depth_m: float


@dataclass(frozen=True)
class End:
    """One deck end: its bearings and how far it is kept from rotating."""
    #: "rigid" (pot or steel bearings) or "elastomeric" (laminated rubber pads)
    vertical: str
    #: "rigid" (guide, shear key) or "elastomeric" (the pads' shear stiffness)
    lateral: str
    bearing_vertical_n_per_m: float
    #: shear stiffness G A / t of one pad at 15 C
    bearing_lateral_n_per_m: float
    #: rotational restraint of a continuous or integral end, as a multiple of EI_vertical / span
    fixity: float


@dataclass(frozen=True)
class Damping:
    """Rayleigh damping zeta(omega) = a / (2 omega) + b omega / 2, clipped to DAMPING_RANGE."""
    mass_coefficient: float
    stiffness_coefficient: float
    #: friction at crack faces: extra damping per unit of a mode's strain energy lost to the crack
    crack_loss: float


@dataclass(frozen=True)
class Thermal:
    """Stiffness against deck temperature: bilinear, stiffer by far below freezing.

    Above the knee, concrete's and steel's moduli fall slowly as the deck warms. Below it the
    asphalt surfacing and the water in joints, bearings and backfill freeze: the deck stiffens
    several times faster per degree, the abutments start to hold the deck ends against
    rotation, and rubber bearings stiffen. The three act on different modes, so temperature
    moves frequency ratios too, not only all frequencies alike.
    """
    warm_slope: float
    knee_c: float
    cold_slope_vertical: float
    cold_slope_torsion: float
    cold_slope_lateral: float
    #: rotational restraint of each end when the backfill is frozen through, x EI_vertical / span
    frozen_fixity: float
    #: degrees below the knee at which the backfill is frozen through
    frozen_depth_c: float
    #: shear modulus of the bearing rubber at -10 C over that at 15 C
    rubber_cold_ratio: float


@dataclass(frozen=True)
class DamageScenario:
    """Where the deck is cracked: fixed per deck, since a real crack does not move."""
    first_element: int
    last_element: int
    girders: tuple
    #: share of the deck's St-Venant stiffness the cracked girders carry
    torsion_share: float
    #: share of the lateral bending stiffness the cracked girders carry
    lateral_share: float


@dataclass(frozen=True)
class Sensor:
    """The accelerometer: where it sits, how it is mounted, its errors."""
    position_m: float
    offset_y_m: float
    #: height above the shear centre (negative: under the deck, on a girder's soffit)
    height_m: float
    roll_deg: float
    pitch_deg: float
    yaw_deg: float
    #: mounted turned by 180 degrees about its z axis: ax and ay change sign
    turned: bool
    gain: tuple
    offset: tuple
    offset_per_c: tuple
    noise_rms: tuple
    flicker_corner_hz: float
    #: the deck's own longitudinal grade and cross-fall, radians
    grade: float
    crossfall: float


@dataclass(frozen=True)
class Traffic:
    per_minute: float
    truck_share: float
    speed_limit_ms: float
    #: lateral position of the lane centre for traffic in +x and in -x, metres from the shear centre
    lane_y_m: tuple


@dataclass(frozen=True)
class Road:
    """The deck's surface, the same for every vehicle: ISO 8608 roughness and the two joints."""
    roughness_g0: float
    #: step of a settled approach slab at the joint (deck higher), per end, m
    joint_step_m: tuple
    approach_ramp_m: tuple
    joint_dip_m: tuple
    #: spatial frequency (cycles/m) above which the two wheel tracks are unrelated
    track_coherence_cpm: float


@dataclass(frozen=True)
class Wind:
    weibull_scale_ms: float
    turbulence_u: float
    length_u_m: float
    drag: float
    lift: float
    lift_slope: float
    moment: float
    moment_slope: float
    drag_height_m: float
    pressure_z_m: float


@dataclass(frozen=True)
class Tremor:
    """Ambient ground motion at the abutments: Kanai-Tajimi filtered, the soil's own resonance."""
    vertical_rms: float
    horizontal_ratio: float
    site_hz: float
    site_damping: float


@dataclass(frozen=True)
class Climate:
    """Deck temperature over a year: annual and daily cycles plus weather."""
    mean_c: float
    annual_c: float
    diurnal_c: float
    weather_c: float


@dataclass(frozen=True)
class Deck:
    seed: int
    first_vertical_hz: float
    section: Section
    ends: tuple
    damping: Damping
    thermal: Thermal
    damage: DamageScenario
    sensor: Sensor
    traffic: Traffic
    road: Road
    wind: Wind
    tremor: Tremor
    climate: Climate


def draw_deck(deck_seed):
    """The deck of a seed: always the same deck for the same seed."""
    section, f1 = _draw_section(deck_seed)
    ends = _draw_ends(deck_seed, section)
    deck = Deck(
        seed=deck_seed,
        first_vertical_hz=f1,
        section=section,
        ends=ends,
        damping=_draw_damping(deck_seed, f1),
        thermal=_draw_thermal(deck_seed),
        damage=_draw_damage(deck_seed, section),
        sensor=_draw_sensor(deck_seed, section),
        traffic=_draw_traffic(deck_seed, section),
        road=_draw_road(deck_seed),
        wind=_draw_wind(deck_seed, section),
        tremor=_draw_tremor(deck_seed),
        climate=_draw_climate(deck_seed))
    return _tune_stiffness(deck)


def _draw_section(deck_seed):
    r = _deck_rng(deck_seed, "section")
    span = r.uniform(18.0, 65.0)
    # Road bridges: f1 ~ 100 / L (L in metres) with a scatter of about 20 %.
    f1 = float(np.clip(100.0 / span * math.exp(0.2 * r.standard_normal()), 1.3, 4.8))
    width = r.uniform(7.0, 14.0)
    # Slab, girders, surfacing and barriers per square metre of deck.
    mass = width * r.uniform(750.0, 1150.0)
    depth = span / r.uniform(16.0, 24.0)
    girders = int(r.integers(2, 6))
    edge = r.uniform(0.7, 1.3)
    girder_y = np.linspace(-(width / 2 - edge), width / 2 - edge, girders)
    # Mass spread to the edges (barriers, cantilevers) makes the polar inertia larger.
    polar_radius = math.sqrt(r.uniform(0.8, 1.3) * (width ** 2 + depth ** 2) / 12.0)
    top = depth * r.uniform(0.15, 0.6)
    # Simply supported first bending frequency: omega^2 = EI (pi/L)^4 / m.
    k = math.pi / span
    ei = mass * (2 * math.pi * f1) ** 2 / k ** 4
    lateral_ratio = r.uniform(1.5, 4.5)
    torsion_ratio = r.uniform(1.3, 3.2)
    offset_y = r.uniform(-0.3, 0.3)
    offset_z = top - depth * r.uniform(0.2, 0.45)
    polar = mass * (polar_radius ** 2 + offset_y ** 2 + offset_z ** 2)
    # Torsion: the girders' differential bending (warping, sum EI_g y_g^2) and St-Venant GJ share
    # the drawn first-torsion stiffness; an open deck whose warping alone exceeds it keeps a small GJ.
    warping = ei / girders * float(np.sum(girder_y ** 2))
    needed = polar * (2 * math.pi * f1 * torsion_ratio) ** 2
    gj = max(needed - warping * k ** 4, 0.05 * needed) / k ** 2
    section = Section(
        span_m=span, width_m=width, depth_m=depth, mass_per_m=mass,
        polar_radius_m=polar_radius, mass_offset_y_m=offset_y, mass_offset_z_m=offset_z,
        girder_y_m=tuple(float(y) for y in girder_y), girder_ei=ei / girders,
        lateral_ei=ei * lateral_ratio ** 2, torsion_gj=gj, top_z_m=top,
        neutral_axis_z_m=top - depth * r.uniform(0.2, 0.4), bearing_depth_m=depth - top)
    return section, f1


def _draw_ends(deck_seed, section):
    r = _deck_rng(deck_seed, "supports")
    continuous_end = int(r.integers(0, 2)) if r.uniform() < 0.35 else -1
    ends = []
    for i in range(2):
        elastomeric = r.uniform() < 0.5
        # A laminated pad: compression stiffness E_c A / t with E_c ~ 6 G S^2, shear G A / t.
        ends.append(End(
            vertical="elastomeric" if elastomeric else "rigid",
            # most rubber-bearing ends are still held sideways by a shear key or the abutment walls
            lateral="elastomeric" if elastomeric and r.uniform() < 0.3 else "rigid",
            bearing_vertical_n_per_m=_loguniform(r, 0.8e9, 3.0e9),
            bearing_lateral_n_per_m=_loguniform(r, 2.0e6, 6.0e6),
            fixity=r.uniform(1.0, 10.0) if i == continuous_end else 0.0))
    return tuple(ends)


def _draw_damping(deck_seed, f1):
    r = _deck_rng(deck_seed, "damping")
    z1 = r.uniform(0.006, 0.025)
    z2 = r.uniform(0.8 * z1, 0.035)
    w1, w2 = 2 * math.pi * f1, 2 * math.pi * 15.0
    a = 2 * w1 * w2 * (z1 * w2 - z2 * w1) / (w2 ** 2 - w1 ** 2)
    b = 2 * (z2 * w2 - z1 * w1) / (w2 ** 2 - w1 ** 2)
    return Damping(mass_coefficient=a, stiffness_coefficient=b, crack_loss=r.uniform(0.0, 0.025))


def _draw_thermal(deck_seed):
    r = _deck_rng(deck_seed, "thermal")
    cold = r.uniform(0.0015, 0.005)
    return Thermal(
        warm_slope=r.uniform(0.0005, 0.0015),
        knee_c=r.uniform(-1.5, 1.5),
        cold_slope_vertical=cold,
        cold_slope_torsion=cold * r.uniform(0.5, 1.2),
        cold_slope_lateral=cold * r.uniform(0.2, 1.0),
        frozen_fixity=r.uniform(0.0, 0.3),
        frozen_depth_c=r.uniform(4.0, 10.0),
        rubber_cold_ratio=r.uniform(1.15, 1.6))


def _draw_damage(deck_seed, section):
    r = _deck_rng(deck_seed, "damage")
    # Overload cracking spreads over the zone where the moment exceeded the cracking moment: a
    # good part of the span around the drawn centre, never at the supports.
    centre = r.uniform(0.3, 0.7)
    length = r.uniform(0.15, 0.35)
    first = max(int(round((centre - length / 2) * ELEMENTS)), int(0.15 * ELEMENTS))
    last = min(int(round((centre + length / 2) * ELEMENTS)) - 1, int(0.85 * ELEMENTS) - 1)
    last = max(last, first)
    n = len(section.girder_y_m)
    # One girder, or two adjacent ones; never the whole section of a two-girder deck.
    count = 2 if r.uniform() < 0.35 and n >= 3 else 1
    start = int(r.integers(0, n - count + 1))
    girders = tuple(range(start, start + count))
    slab_share = r.uniform(0.3, 0.6)
    return DamageScenario(
        first_element=first, last_element=last, girders=girders,
        torsion_share=count * (1.0 - slab_share) / n,
        lateral_share=count * r.uniform(0.02, 0.08) / n)


def _draw_sensor(deck_seed, section):
    r = _deck_rng(deck_seed, "sensor")
    under = r.uniform() < 0.5
    height = (section.top_z_m - section.depth_m + 0.05) if under else section.top_z_m + 0.05
    xy_noise = r.uniform(0.002, 0.0065)
    return Sensor(
        position_m=section.span_m * r.uniform(0.2, 0.8),
        offset_y_m=section.width_m * r.uniform(-0.45, 0.45),
        height_m=height,
        roll_deg=r.uniform(-5, 5), pitch_deg=r.uniform(-5, 5), yaw_deg=r.uniform(-5, 5),
        turned=bool(r.uniform() < 0.3),
        gain=tuple(1.0 + r.uniform(-0.03, 0.03, 3)),
        offset=tuple(r.uniform(-0.3, 0.3, 3)),
        # MEMS offset drift, about 0.15 mg per degree
        offset_per_c=tuple(r.uniform(-0.0015, 0.0015, 3)),
        # one chip: similar noise on x and y, a little more on z; 2-8 mm/s2 RMS on every axis
        noise_rms=tuple(float(np.clip(xy_noise * f, 0.002, 0.008)) for f in
                        (r.uniform(0.9, 1.1), r.uniform(0.9, 1.1), r.uniform(1.0, 1.3))),
        flicker_corner_hz=_loguniform(r, 0.05, 1.0),
        grade=r.uniform(-0.04, 0.04), crossfall=r.uniform(-0.025, 0.025))


def _draw_traffic(deck_seed, section):
    r = _deck_rng(deck_seed, "traffic")
    lane = r.uniform(3.0, 3.75)
    carriageway = r.uniform(-0.8, 0.8)
    hand = 1.0 if r.uniform() < 0.8 else -1.0
    return Traffic(
        per_minute=_loguniform(r, 1.0, 12.0),
        truck_share=r.uniform(0.05, 0.25),
        speed_limit_ms=float(r.choice([50.0, 60.0, 80.0, 100.0])) / 3.6,
        lane_y_m=(carriageway - hand * lane / 2, carriageway + hand * lane / 2))


def _draw_road(deck_seed):
    r = _deck_rng(deck_seed, "road")
    return Road(
        # ISO 8608 classes A to B: Gd(0.1 cycles/m) from 4e-6 to 64e-6 m3
        roughness_g0=_loguniform(r, 4e-6, 64e-6),
        joint_step_m=tuple(r.uniform(0.0, 0.015, 2)),
        approach_ramp_m=tuple(r.uniform(3.0, 8.0, 2)),
        joint_dip_m=tuple(r.uniform(0.001, 0.006, 2)),
        track_coherence_cpm=r.uniform(0.1, 0.5))


def _draw_wind(deck_seed, section):
    r = _deck_rng(deck_seed, "wind")
    barrier = 1.0
    return Wind(
        weibull_scale_ms=r.uniform(3.0, 6.5),
        turbulence_u=r.uniform(0.12, 0.25),
        length_u_m=r.uniform(50.0, 150.0),
        drag=r.uniform(1.2, 2.0),
        lift=r.uniform(-0.3, 0.1),
        lift_slope=r.uniform(2.5, 5.5),
        moment=r.uniform(-0.05, 0.05),
        moment_slope=r.uniform(0.4, 1.3),
        drag_height_m=section.depth_m + barrier,
        pressure_z_m=section.top_z_m + barrier - (section.depth_m + barrier) / 2)


def _draw_tremor(deck_seed):
    r = _deck_rng(deck_seed, "tremor")
    return Tremor(vertical_rms=_loguniform(r, 3e-5, 5e-4), horizontal_ratio=r.uniform(1.0, 2.0),
                  site_hz=r.uniform(2.0, 8.0), site_damping=r.uniform(0.3, 0.6))


def _draw_climate(deck_seed):
    r = _deck_rng(deck_seed, "climate")
    return Climate(mean_c=r.uniform(7.0, 12.0), annual_c=r.uniform(8.0, 12.0),
                   diurnal_c=r.uniform(2.0, 6.0), weather_c=r.uniform(2.5, 4.0))


def _tune_stiffness(deck):
    """Scales the deck's beam stiffnesses so that its first vertical mode at 15 C is the drawn
    f1: supports (continuity, bearings) moved it away from the simply supported estimate."""
    for _ in range(4):
        fe = FiniteElementDeck(deck)
        modes = fe.modes(REFERENCE_C, 0.0)
        actual = modes.hz[modes.first_vertical()]
        scale = (deck.first_vertical_hz / actual) ** 2
        s = deck.section
        deck = dataclasses.replace(deck, section=dataclasses.replace(
            s, girder_ei=s.girder_ei * scale, lateral_ei=s.lateral_ei * scale,
            torsion_gj=s.torsion_gj * scale))
    return deck


# ---------------------------------------------------------------------------------------------
# Finite elements
# ---------------------------------------------------------------------------------------------

_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(4)
_GAUSS_X = (_GAUSS_X + 1.0) / 2.0
_GAUSS_W = _GAUSS_W / 2.0


def hermite(xi, length):
    """Cubic Hermite shape functions for (value, slope) at both ends of an element of the given
    length, at local coordinates xi in [0, 1]: N, dN/dx and d2N/dx2, each of shape (4, len(xi))."""
    xi = np.asarray(xi, dtype=float)
    x2, x3 = xi * xi, xi * xi * xi
    n = np.array([1 - 3 * x2 + 2 * x3, length * (xi - 2 * x2 + x3), 3 * x2 - 2 * x3, length * (x3 - x2)])
    dn = np.array([(6 * x2 - 6 * xi) / length, 1 - 4 * xi + 3 * x2, (6 * xi - 6 * x2) / length,
                   3 * x2 - 2 * xi])
    ddn = np.array([(12 * xi - 6) / length ** 2, (6 * xi - 4) / length, (6 - 12 * xi) / length ** 2,
                    (6 * xi - 2) / length])
    return n, dn, ddn


def _element_integrals(length):
    """Integrals over one element: of N N^T (consistent mass), N' N'^T (St-Venant torsion) and
    N'' N''^T (bending), by 4-point Gauss quadrature, exact for these cubics."""
    n, dn, ddn = hermite(_GAUSS_X, length)
    weights = _GAUSS_W * length
    return (n * weights) @ n.T, (dn * weights) @ dn.T, (ddn * weights) @ ddn.T


def _dofs(element, field):
    a, b = FIELDS[field]
    left, right = element * DOFS_PER_NODE, (element + 1) * DOFS_PER_NODE
    return np.array([left + a, left + b, right + a, right + b])


@dataclass
class Modes:
    """Mass-normalized modes of one deck state, those below KEEP_BELOW_HZ."""
    hz: np.ndarray
    damping: np.ndarray
    #: (dofs, modes), zero at the constrained dofs
    shapes: np.ndarray
    #: kinetic-energy shares (vertical, lateral, torsion) per mode, (modes, 3)
    shares: np.ndarray

    def labels(self):
        """V1, V2, L1, T1, ... by the dominant kinetic energy, counted in frequency order."""
        counts = {"V": 0, "L": 0, "T": 0}
        out = []
        for share in self.shares:
            kind = "VLT"[int(np.argmax(share))]
            counts[kind] += 1
            out.append(f"{kind}{counts[kind]}")
        return out

    def first_vertical(self):
        vertical = np.nonzero(self.shares[:, 0] > 0.5)[0]
        return int(vertical[0]) if len(vertical) else int(np.argmax(self.shares[:, 0]))


class FiniteElementDeck:
    """The finite-element model of one deck: assembles and solves it for a temperature and a
    damage severity (0: intact)."""

    def __init__(self, deck):
        self.deck = deck
        s = deck.section
        self.length = s.span_m / ELEMENTS
        self.dof_count = (ELEMENTS + 1) * DOFS_PER_NODE
        self.unit_mass, self.unit_twist, self.unit_bend = _element_integrals(self.length)
        self.girder_y = np.array(s.girder_y_m)
        self.mass = self._mass()
        self.field_mass = {f: self._field_mass(f) for f in FIELDS}
        constrained = []
        for end, node in zip(deck.ends, (0, ELEMENTS)):
            base = node * DOFS_PER_NODE
            if end.vertical == "rigid":
                constrained += [base + W, base + PHI]
            if end.lateral == "rigid":
                constrained.append(base + V)
        self.free = np.setdiff1d(np.arange(self.dof_count), constrained)

    # -- matrices --------------------------------------------------------------------------

    def _mass(self):
        """Consistent mass with the mass centre off the shear centre: the kinetic energy is
        m (w' + e phi')^2 + m (v' - z phi')^2 + I_c phi'^2 (dots for time), over the span."""
        s = self.deck.section
        m, e, z = s.mass_per_m, s.mass_offset_y_m, s.mass_offset_z_m
        polar = m * (s.polar_radius_m ** 2 + e ** 2 + z ** 2)
        mass = np.zeros((self.dof_count, self.dof_count))
        for el in range(ELEMENTS):
            w, v, p = _dofs(el, "w"), _dofs(el, "v"), _dofs(el, "phi")
            for rows, cols, c in ((w, w, m), (v, v, m), (p, p, polar), (w, p, m * e), (p, w, m * e),
                                  (v, p, -m * z), (p, v, -m * z)):
                mass[np.ix_(rows, cols)] += c * self.unit_mass
        return mass

    def _field_mass(self, field):
        density = self.deck.section.mass_per_m
        if field == "phi":
            s = self.deck.section
            density *= s.polar_radius_m ** 2 + s.mass_offset_y_m ** 2 + s.mass_offset_z_m ** 2
        mass = np.zeros((self.dof_count, self.dof_count))
        for el in range(ELEMENTS):
            d = _dofs(el, field)
            mass[np.ix_(d, d)] += density * self.unit_mass
        return mass

    def section_stiffness(self, temperature_c, severity):
        """Per element: girder bending stiffnesses (elements, girders), lateral EI and GJ."""
        s, th, dmg = self.deck.section, self.deck.thermal, self.deck.damage
        girder = np.full((ELEMENTS, len(s.girder_y_m)), s.girder_ei * material_factor(
            th, temperature_c, th.cold_slope_vertical))
        lateral = np.full(ELEMENTS, s.lateral_ei * material_factor(th, temperature_c, th.cold_slope_lateral))
        torsion = np.full(ELEMENTS, s.torsion_gj * material_factor(th, temperature_c, th.cold_slope_torsion))
        if severity > 0.0:
            zone = np.arange(dmg.first_element, dmg.last_element + 1)
            # Cracking fades out at the ends of the zone, where the moment falls below the
            # cracking moment: the two outer elements lose half as much.
            loss = np.full(len(zone), severity)
            if len(zone) > 2:
                loss[[0, -1]] *= 0.5
            for g in dmg.girders:
                girder[zone, g] *= 1.0 - loss
            torsion[zone] *= 1.0 - loss * dmg.torsion_share
            lateral[zone] *= 1.0 - loss * dmg.lateral_share
        return girder, lateral, torsion

    def stiffness(self, temperature_c, severity):
        """Bending of each girder by the deck's deflection plus its offset times the twist,
        (w'' + y_g phi'')^2, lateral bending, St-Venant torsion, and the supports."""
        girder, lateral, torsion = self.section_stiffness(temperature_c, severity)
        y = self.girder_y
        k = np.zeros((self.dof_count, self.dof_count))
        for el in range(ELEMENTS):
            w, v, p = _dofs(el, "w"), _dofs(el, "v"), _dofs(el, "phi")
            ei = girder[el]
            # Off-centre cracking makes sum EI_g y_g non-zero: bending and twist couple.
            s0, s1, s2 = ei.sum(), ei @ y, ei @ (y * y)
            k[np.ix_(w, w)] += s0 * self.unit_bend
            k[np.ix_(w, p)] += s1 * self.unit_bend
            k[np.ix_(p, w)] += s1 * self.unit_bend
            k[np.ix_(p, p)] += s2 * self.unit_bend + torsion[el] * self.unit_twist
            k[np.ix_(v, v)] += lateral[el] * self.unit_bend
        self._add_supports(k, temperature_c, girder)
        return k

    def _add_supports(self, k, temperature_c, girder):
        deck = self.deck
        s, th = deck.section, deck.thermal
        frozen = th.frozen_fixity * min(below_knee(temperature_c, th.knee_c) / th.frozen_depth_c, 1.0)
        rubber = th.rubber_cold_ratio ** ((REFERENCE_C - temperature_c) / (REFERENCE_C - TEMPERATURE_MIN_C))
        for end, node, element in zip(deck.ends, (0, ELEMENTS), (0, ELEMENTS - 1)):
            base = node * DOFS_PER_NODE
            springs = []
            if end.vertical == "elastomeric":
                # a pad under each girder: spring on the girder's deflection w + y_g phi
                for yg in self.girder_y:
                    springs.append(({W: 1.0, PHI: yg}, end.bearing_vertical_n_per_m))
            if end.lateral == "elastomeric":
                # the pads' shear, at bearing level below the shear centre: v + depth phi
                springs.append(({V: 1.0, PHI: s.bearing_depth_m},
                                len(self.girder_y) * end.bearing_lateral_n_per_m * rubber))
            fixity = end.fixity + frozen
            if fixity > 0.0:
                # each girder held against rotation of its own end, w' + y_g phi'
                per_girder = fixity * girder[element] / s.span_m
                for yg, kg in zip(self.girder_y, per_girder):
                    springs.append(({W_X: 1.0, PHI_X: yg}, kg))
            for combination, stiffness in springs:
                c = np.zeros(self.dof_count)
                for dof, factor in combination.items():
                    c[base + dof] = factor
                k += stiffness * np.outer(c, c)

    # -- eigen-solution --------------------------------------------------------------------

    def modes(self, temperature_c, severity):
        """Modes below KEEP_BELOW_HZ: the generalized eigenproblem K psi = omega^2 M psi on the
        free dofs, through the Cholesky factor of M."""
        k = self.stiffness(temperature_c, severity)
        f = self.free
        kf, mf = k[np.ix_(f, f)], self.mass[np.ix_(f, f)]
        chol_inv = np.linalg.inv(np.linalg.cholesky(mf))
        a = chol_inv @ kf @ chol_inv.T
        lam, y = np.linalg.eigh((a + a.T) / 2)
        keep = np.sqrt(np.maximum(lam, 0.0)) / (2 * math.pi) < KEEP_BELOW_HZ
        shapes = np.zeros((self.dof_count, int(keep.sum())))
        shapes[f] = chol_inv.T @ y[:, keep]
        omega = np.sqrt(lam[keep])
        d = self.deck.damping
        zeta = d.mass_coefficient / (2 * omega) + d.stiffness_coefficient * omega / 2
        if severity > 0.0:
            # Friction at the crack faces: in proportion to the strain energy each mode has lost.
            lost = self.stiffness(temperature_c, 0.0) - k
            zeta = zeta + d.crack_loss * np.einsum("im,ij,jm->m", shapes, lost, shapes) / omega ** 2
        zeta = np.clip(zeta, *DAMPING_RANGE)
        energy = np.stack([np.einsum("im,ij,jm->m", shapes, self.field_mass[fld], shapes)
                           for fld in ("w", "v", "phi")], axis=1)
        return Modes(hz=omega / (2 * math.pi), damping=zeta, shapes=shapes,
                     shares=energy / energy.sum(axis=1, keepdims=True))

    def fields_at(self, shapes, x, names):
        """Mode shapes along the span at positions x (metres), for the named fields (w, v, phi,
        and their slopes w_x, v_x, phi_x): dict of (len(x), modes) arrays."""
        x = np.clip(np.asarray(x, dtype=float), 0.0, self.deck.section.span_m)
        el = np.minimum((x / self.length).astype(int), ELEMENTS - 1)
        n, dn, _ = hermite(x / self.length - el, self.length)
        left, right = el * DOFS_PER_NODE, (el + 1) * DOFS_PER_NODE
        out = {}
        for name in names:
            a, b = FIELDS[name.removesuffix("_x")]
            basis = dn if name.endswith("_x") else n
            out[name] = (basis[0][:, None] * shapes[left + a] + basis[1][:, None] * shapes[left + b]
                         + basis[2][:, None] * shapes[right + a] + basis[3][:, None] * shapes[right + b])
        return out

    def participation(self, shapes, field):
        """Modal participation of a uniform ground motion along a field (w: vertical, v: lateral)."""
        rigid = np.zeros(self.dof_count)
        rigid[FIELDS[field][0]::DOFS_PER_NODE] = 1.0
        return shapes.T @ (self.mass @ rigid)


def below_knee(temperature_c, knee_c):
    """How far below the knee the deck is, in degrees; smooth over about 1.5 C, since a deck
    freezes gradually (max(knee - T, 0) away from the knee)."""
    width = 1.5
    return width * float(np.logaddexp(0.0, (knee_c - temperature_c) / width))


def material_factor(thermal, temperature_c, cold_slope):
    """Stiffness at a temperature over that at 15 C: falls slowly with warmth, rises steeply
    below freezing."""
    def raw(t):
        return 1.0 - thermal.warm_slope * (t - REFERENCE_C) + cold_slope * below_knee(t, thermal.knee_c)
    return raw(temperature_c) / raw(REFERENCE_C)


# ---------------------------------------------------------------------------------------------
# Time structure: bursts through a year
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    index: int
    day: float
    hour: float
    temperature_c: float
    #: 0 for a healthy burst
    severity: float

    @property
    def damaged(self):
        return self.severity > 0.0


def schedule(deck, windows, damaged_fraction, seed):
    """The bursts of a run in time order: random times of one year; a share of them, at random,
    recorded on the cracked deck, each with its own crack severity."""
    bursts = windows // BURST_WINDOWS
    r = np.random.default_rng([RUN_STREAM, seed, deck.seed])
    days = np.sort(r.uniform(0.0, 365.0, bursts))
    hours = r.uniform(0.0, 24.0, bursts)
    # Weather: day-to-day anomalies that persist for a few days (AR(1), correlation 0.7 per day).
    weather = np.zeros(367)
    weather[0] = r.standard_normal()
    for d in range(1, len(weather)):
        weather[d] = 0.7 * weather[d - 1] + math.sqrt(1 - 0.49) * r.standard_normal()
    damaged = np.zeros(bursts, dtype=bool)
    damaged[r.permutation(bursts)[:int(round(damaged_fraction * bursts))]] = True
    severities = r.uniform(*SEVERITY_RANGE, bursts)
    c = deck.climate
    out = []
    for b in range(bursts):
        day, hour = float(days[b]), float(hours[b])
        # coldest around 20 January, warmest around 20 July; deck warmest mid-afternoon
        temperature = (c.mean_c - c.annual_c * math.cos(2 * math.pi * (day - 20.0) / 365.0)
                       + c.diurnal_c * math.cos(2 * math.pi * (hour - 15.0) / 24.0)
                       + c.weather_c * float(np.interp(day, np.arange(367), weather)))
        temperature = float(np.clip(temperature, TEMPERATURE_MIN_C, TEMPERATURE_MAX_C))
        out.append(Burst(index=b, day=day, hour=hour, temperature_c=temperature,
                         severity=float(severities[b]) if damaged[b] else 0.0))
    return out


# ---------------------------------------------------------------------------------------------
# Vehicles: quarter cars over the deck's road profile
# ---------------------------------------------------------------------------------------------

#: Road profile before each deck end that a vehicle drives over before it enters: long enough for
#: the suspension to settle from the profile's smooth start.
APPROACH_M = 100.0
PROFILE_STEP_M = 0.05
#: Tyre contact length: the tyre envelops shorter unevenness.
CONTACT_M = 0.2
#: A vehicle's last few seconds of suspension motion after it leaves the deck: FFT padding so
#: the circular convolution does not wrap into the approach.
SUSPENSION_TAIL_S = 8.0
#: Vehicles on the deck at the start of the record entered up to this long before it.
PRE_ROLL_S = 15.0
MIN_HEADWAY_S = 1.0
#: Wheel samples projected onto the modes at a time (bounds memory).
LOAD_CHUNK = 20_000


def road_profiles(deck):
    """Road height (m) along x in [-APPROACH_M, span + APPROACH_M] for each lane and wheel track:
    (x, heights[lane, track, x]). ISO 8608 roughness Gd(n) = Gd(0.1) (n / 0.1)^-2, the two tracks
    related at long wavelengths only; a settled approach slab and a joint gap at each end."""
    r = _deck_rng(deck.seed, "road")
    road, span = deck.road, deck.section.span_m
    x = np.arange(-APPROACH_M, span + APPROACH_M + PROFILE_STEP_M / 2, PROFILE_STEP_M)
    n = 1 << int(math.ceil(math.log2(len(x))))
    freq = np.fft.rfftfreq(n, PROFILE_STEP_M)
    dn = freq[1]
    psd = np.zeros_like(freq)
    band = (freq >= 0.011) & (freq <= 10.0)
    psd[band] = road.roughness_g0 * (freq[band] / 0.1) ** -2
    coherence = 1.0 / (1.0 + (freq / road.track_coherence_cpm) ** 2)
    heights = np.zeros((2, 2, len(x)))
    ramp = np.clip((x + APPROACH_M) / 10.0, 0.0, 1.0) * np.clip((span + APPROACH_M - x) / 10.0, 0.0, 1.0)
    kernel = np.ones(int(round(CONTACT_M / PROFILE_STEP_M))) / round(CONTACT_M / PROFILE_STEP_M)
    for lane in range(2):
        common = _spectral(r, psd, dn, n)
        for track in range(2):
            own = _spectral(r, psd, dn, n)
            z = np.fft.irfft(np.sqrt(coherence) * common + np.sqrt(1 - coherence) * own, n)[:len(x)]
            z = z * ramp + _joints(deck, x)
            heights[lane, track] = np.convolve(z, kernel, mode="same")
    return x, heights


def _spectral(r, psd, df, n):
    """Fourier coefficients of a Gaussian process with one-sided PSD psd, for irfft(., n)."""
    amplitude = n / 2 * np.sqrt(psd * df)
    return amplitude * (r.standard_normal(len(psd)) + 1j * r.standard_normal(len(psd)))


def _joints(deck, x):
    """The approach slab settled by joint_step below the deck, recovering over approach_ramp, and
    a short dip at the joint gap."""
    road, span = deck.road, deck.section.span_m
    z = np.zeros_like(x)
    for i, edge in enumerate((0.0, span)):
        outward = -x + edge if i == 0 else x - span
        ramp = road.approach_ramp_m[i]
        on_ramp = (outward > 0) & (outward < ramp)
        z[on_ramp] -= road.joint_step_m[i] * (1.0 - outward[on_ramp] / ramp)
        gap = np.abs(outward) < 0.075
        z[gap] -= road.joint_dip_m[i] * np.cos(np.pi * outward[gap] / 0.15) ** 2
    return z


@dataclass
class Axle:
    #: distance behind the front axle, m
    offset_m: float
    #: per wheel (one side of the axle)
    sprung_kg: float
    unsprung_kg: float
    spring: float
    damper: float
    tyre: float


@dataclass
class Vehicle:
    entry_s: float
    speed_ms: float
    lane: int
    y_m: float
    track_m: float
    #: height of the body's centre of gravity above its roll axis
    roll_arm_m: float
    axles: list


def draw_vehicle(r, deck, entry_s, lane, truck_share):
    """A car, or a rigid or articulated truck, empty or loaded; steel-leaf or air suspension."""
    limit = deck.traffic.speed_limit_ms
    if r.uniform() >= truck_share:
        gross = r.uniform(1000.0, 2200.0)
        wheelbase = r.uniform(2.4, 3.0)
        loads = [0.55 * gross, 0.45 * gross]
        offsets = [0.0, wheelbase]
        body_hz, body_zeta = r.uniform(1.0, 1.6), r.uniform(0.2, 0.4)
        unsprung_share, tyre = 0.12, r.uniform(1.8e5, 2.6e5)
        speed = max(r.normal(limit, 0.08 * limit), 5.0)
        track, arm = 1.5, r.uniform(0.2, 0.35)
        tyres = [tyre, tyre]
    else:
        kind = r.choice(["rigid2", "rigid3", "artic5"], p=[0.3, 0.2, 0.5])
        fill = r.uniform(0.3, 1.0)
        steer = 2 * 0.5 * r.uniform(5.0e4, 7.0e4)
        if kind == "rigid2":
            offsets = [0.0, r.uniform(3.5, 5.5)]
            loads = [steer * (0.7 + 0.3 * fill), r.uniform(3.5e4, 10.5e4) * fill + 3.0e4]
        elif kind == "rigid3":
            drive = r.uniform(3.5, 5.0)
            offsets = [0.0, drive, drive + 1.35]
            tandem = r.uniform(5.0e4, 9.0e4) * fill + 2.5e4
            loads = [steer * (0.7 + 0.3 * fill), tandem, tandem]
        else:
            drive = r.uniform(3.4, 4.0)
            trailer = drive + r.uniform(5.5, 7.5)
            offsets = [0.0, drive, trailer, trailer + 1.31, trailer + 2.62]
            tridem = r.uniform(3.5e4, 7.0e4) * fill + 1.5e4
            loads = [steer, r.uniform(5.0e4, 9.0e4) * fill + 3.0e4, tridem, tridem, tridem]
        loads = [load / GRAVITY for load in loads]
        air = r.uniform() < 0.6
        body_hz = r.uniform(1.2, 1.8) if air else r.uniform(2.5, 3.5)
        body_zeta = r.uniform(0.15, 0.3) if air else r.uniform(0.05, 0.15)
        unsprung_share = None
        tyres = [r.uniform(0.9e6, 1.1e6)] + [r.uniform(1.5e6, 2.2e6)] * (len(loads) - 1)
        speed = max(min(r.normal(0.9 * limit, 0.07 * limit), 85.0 / 3.6), 5.0)
        track, arm = 2.0, r.uniform(0.3, 0.8)
    axles = []
    for offset, load, tyre in zip(offsets, loads, tyres):
        wheel = load / 2.0
        unsprung = wheel * unsprung_share if unsprung_share else min(r.uniform(250.0, 450.0), 0.4 * wheel)
        sprung = wheel - unsprung
        spring = sprung * (2 * math.pi * body_hz) ** 2
        axles.append(Axle(offset_m=offset, sprung_kg=sprung, unsprung_kg=unsprung, spring=spring,
                          damper=2 * body_zeta * math.sqrt(spring * sprung), tyre=tyre))
    wander = float(np.clip(r.normal(0.0, 0.2), -0.5, 0.5))
    return Vehicle(entry_s=entry_s, speed_ms=speed, lane=lane, y_m=deck.traffic.lane_y_m[lane] + wander,
                   track_m=track, roll_arm_m=arm, axles=axles)


def _hourly_profile(hour):
    """Relative traffic through the day: morning and evening peaks over a midday plateau."""
    return (0.15 + np.exp(-0.5 * ((hour - 7.8) / 1.3) ** 2) + 0.9 * np.exp(-0.5 * ((hour - 17.0) / 1.8) ** 2)
            + 0.45 * np.exp(-0.5 * ((hour - 12.5) / 3.0) ** 2))


_PROFILE_MEAN = float(np.mean(_hourly_profile(np.linspace(0.0, 24.0, 2401))))


def traffic_rate(deck, burst):
    """Vehicles per second and truck share at the burst's hour: quiet nights (with a larger share
    of trucks), lighter weekends."""
    h = burst.hour
    weekend = int(burst.day) % 7 >= 5
    rate = deck.traffic.per_minute / 60.0 * _hourly_profile(h) / _PROFILE_MEAN * (0.75 if weekend else 1.1)
    night = h < 5.0 or h >= 22.0
    share = deck.traffic.truck_share * (1.6 if night else 1.0) * (0.4 if weekend else 1.0)
    return float(rate), min(share, 0.6)


def wheel_loads(deck, vehicles, x_profile, heights):
    """Every wheel's position and load on the deck at every internal step: arrays of step index,
    x, y, vertical load (N, downwards) and lateral force (N)."""
    span = deck.section.span_m
    steps, xs, ys, vertical, lateral = [], [], [], [], []
    for v in vehicles:
        first = int(math.floor((v.entry_s - APPROACH_M / v.speed_ms) / DT))
        reach = APPROACH_M + span + v.axles[-1].offset_m
        count = int(math.ceil(reach / v.speed_ms / DT)) + 2
        nfft = 1 << int(math.ceil(math.log2(count + SUSPENSION_TAIL_S * INTERNAL_HZ)))
        t = (first + np.arange(count)) * DT
        travelled = v.speed_ms * (t - v.entry_s)
        omega = 2 * math.pi * np.fft.rfftfreq(nfft, DT)
        for axle in v.axles:
            path = travelled - axle.offset_m
            x = path if v.lane == 0 else span - path
            on = (path >= 0.0) & (path <= span) & (first + np.arange(count) >= 0) \
                & (first + np.arange(count) < BURST_STEPS)
            if not on.any():
                continue
            force, body = [], []
            for track in range(2):
                road = np.interp(x, x_profile, heights[v.lane, track], left=0.0, right=0.0)
                h_force, h_body = _quarter_car(axle, omega)
                spectrum = np.fft.rfft(road, nfft)
                force.append(np.fft.irfft(h_force * spectrum, nfft)[:count])
                body.append(np.fft.irfft(h_body * spectrum, nfft)[:count])
            static = (axle.sprung_kg + axle.unsprung_kg) * GRAVITY
            # The body rolls when the two tracks lift it differently; the tyres push its centre
            # of gravity sideways: F = m h theta'', theta = (z_left - z_right) / track, h its
            # height above the roll axis.
            roll_force = 2 * axle.sprung_kg * v.roll_arm_m * (body[0] - body[1]) / v.track_m
            for track, side in enumerate((0.5, -0.5)):
                steps.append(first + np.nonzero(on)[0])
                xs.append(x[on])
                ys.append(np.full(on.sum(), v.y_m + side * v.track_m))
                vertical.append(static + force[track][on])
                lateral.append(0.5 * roll_force[on])
    if not steps:
        empty = np.zeros(0)
        return empty.astype(int), empty, empty, empty, empty
    return (np.concatenate(steps), np.concatenate(xs), np.concatenate(ys), np.concatenate(vertical),
            np.concatenate(lateral))


def _quarter_car(axle, omega):
    """Frequency responses from road height under a wheel to its dynamic tyre force (N) and to
    its body's acceleration, for a two-mass quarter car."""
    s = 1j * omega
    ms, mu, ks, cs, kt = axle.sprung_kg, axle.unsprung_kg, axle.spring, axle.damper, axle.tyre
    a11 = ms * s * s + cs * s + ks
    a12 = -(cs * s + ks)
    a22 = mu * s * s + cs * s + ks + kt
    det = a11 * a22 - a12 * a12
    unsprung = a11 * kt / det
    sprung = -a12 * kt / det
    return kt * (1.0 - unsprung), s * s * sprung


def arrivals(r, deck, burst):
    """The vehicles of a burst, in both directions: a Poisson stream per lane with a minimum
    headway."""
    rate, share = traffic_rate(deck, burst)
    split = r.uniform(0.4, 0.6)
    vehicles = []
    end = BURST_STEPS * DT
    for lane, part in enumerate((split, 1.0 - split)):
        mean_gap = 1.0 / max(rate * part, 1e-9)
        t = -PRE_ROLL_S + r.exponential(mean_gap)
        while t < end:
            vehicles.append(draw_vehicle(r, deck, t, lane, share))
            t += MIN_HEADWAY_S + r.exponential(max(mean_gap - MIN_HEADWAY_S, 0.1))
    return vehicles


# ---------------------------------------------------------------------------------------------
# Wind buffeting and ground tremor
# ---------------------------------------------------------------------------------------------

WIND_NODES = 16
#: Buffeting is generated up to this frequency; the admittance has cut it by far before.
WIND_MAX_HZ = 25.0
#: Davenport's decay of the spanwise coherence, exp(-c f dx / U), for u and w.
COHERENCE_DECAY_U = 10.0
COHERENCE_DECAY_W = 8.0


def wind_forces(r, fe, modes, burst):
    """Modal buffeting forces (modes, steps): quasi-steady lift, drag and moment from the
    turbulence u and w along the span (von Karman spectra, Davenport coherence), with Liepmann's
    aerodynamic admittance."""
    deck, wind = fe.deck, fe.deck.wind
    s = deck.section
    n = BURST_STEPS
    # Mean speed normal to the deck: Weibull (shape 2), windier in the afternoon.
    afternoon = 1.0 + 0.2 * math.cos(2 * math.pi * (burst.hour - 15.0) / 24.0)
    weibull = math.sqrt(-math.log(1.0 - r.uniform()))
    yaw = r.uniform(0, math.pi / 2)
    speed = wind.weibull_scale_ms * weibull * afternoon * abs(math.cos(yaw))
    speed = max(speed, 1.0)
    direction = 1.0 if r.uniform() < 0.5 else -1.0
    sigma_u = wind.turbulence_u * speed
    sigma_w = 0.5 * sigma_u
    length_w = wind.length_u_m / 4.0
    freq = np.fft.rfftfreq(n, DT)
    band = np.nonzero((freq > 0) & (freq <= WIND_MAX_HZ))[0]
    f = freq[band]
    df = freq[1]
    nu, nw = f * wind.length_u_m / speed, f * length_w / speed
    s_u = 4 * sigma_u ** 2 * wind.length_u_m / speed / (1 + 70.8 * nu ** 2) ** (5 / 6)
    s_w = 4 * sigma_w ** 2 * length_w / speed * (1 + 755.2 * nw ** 2) / (1 + 283.2 * nw ** 2) ** (11 / 6)
    x = (np.arange(WIND_NODES) + 0.5) * s.span_m / WIND_NODES
    dx = np.abs(x[:, None] - x[None, :])
    u = _correlated(r, s_u, df, f, dx, speed, COHERENCE_DECAY_U, n)
    w = _correlated(r, s_w, df, f, dx, speed, COHERENCE_DECAY_W, n)
    q = 0.5 * AIR_DENSITY * speed ** 2
    admit_deck = 1.0 / np.sqrt(1.0 + 2 * math.pi ** 2 * f * s.width_m / speed)
    admit_drag = 1.0 / np.sqrt(1.0 + 2 * math.pi ** 2 * f * wind.drag_height_m / speed)
    # Quasi-steady (Scanlan) buffeting with coefficients on the deck width; drag is given on
    # the depth of girders and barrier.
    drag_on_width = wind.drag * wind.drag_height_m / s.width_m
    lift = q * s.width_m * (2 * wind.lift * u + (wind.lift_slope + drag_on_width) * w) / speed \
        * admit_deck[:, None]
    drag = direction * q * wind.drag_height_m * (2 * wind.drag * u) / speed * admit_drag[:, None]
    moment = direction * q * s.width_m ** 2 * (2 * wind.moment * u + wind.moment_slope * w) / speed \
        * admit_deck[:, None] - wind.pressure_z_m * drag
    shapes = fe.fields_at(modes.shapes, x, ("w", "v", "phi"))
    seg = s.span_m / WIND_NODES
    modal = seg * (lift @ shapes["w"] + drag @ shapes["v"] + moment @ shapes["phi"])
    spectrum = np.zeros((len(freq), modal.shape[1]), dtype=complex)
    spectrum[band] = modal
    return np.fft.irfft(spectrum, n, axis=0).T


def _correlated(r, psd, df, f, dx, speed, decay, n):
    """Fourier coefficients (bins, nodes) of a turbulence component at the wind nodes."""
    coherence = np.exp(-decay * f[:, None, None] * dx[None] / speed)
    coherence += 1e-9 * np.eye(dx.shape[0])
    chol = np.linalg.cholesky(coherence)
    white = r.standard_normal((len(f), dx.shape[0])) + 1j * r.standard_normal((len(f), dx.shape[0]))
    amplitude = n / 2 * np.sqrt(psd * df)
    return amplitude[:, None] * np.einsum("kij,kj->ki", chol, white)


def ground_motion(r, deck, burst):
    """Ground acceleration (3, steps) at the abutments, the same at both (short spans): soil
    resonance (Kanai-Tajimi) with a high-pass, busier by day."""
    t = deck.tremor
    n = BURST_STEPS
    freq = np.fft.rfftfreq(n, DT)
    ratio = freq / t.site_hz
    damping = 4 * t.site_damping ** 2 * ratio ** 2
    soil = (1 + damping) / ((1 - ratio ** 2) ** 2 + damping)
    high = freq / (0.3 * t.site_hz)
    high_pass = high ** 4 / ((1 - high ** 2) ** 2 + 4 * 0.6 ** 2 * high ** 2)
    shape = np.sqrt(soil * high_pass)
    shape[0] = 0.0
    day = 6.0 <= burst.hour < 22.0
    level = t.vertical_rms * (1.5 if day else 0.6) * math.exp(0.4 * r.standard_normal())
    out = np.empty((3, n))
    for axis, scale in enumerate((t.horizontal_ratio, t.horizontal_ratio, 1.0)):
        noise = np.fft.irfft(shape * np.fft.rfft(r.standard_normal(n)), n)
        out[axis] = noise * level * scale / max(np.std(noise), 1e-12)
    return out


# ---------------------------------------------------------------------------------------------
# Response, sensor and the burst
# ---------------------------------------------------------------------------------------------

#: MEMS decimation filter: a linear-phase low-pass FIR (Kaiser window) at the internal rate,
#: flat to about 18 Hz, at least 60 dB down from 27 Hz, so little aliases into the 25 Hz band.
FIR_TAPS = 241
FIR_CUTOFF_HZ = 22.5
FIR_KAISER_BETA = 8.0


def decimation_filter():
    m = np.arange(FIR_TAPS) - (FIR_TAPS - 1) / 2
    taps = 2 * FIR_CUTOFF_HZ / INTERNAL_HZ * np.sinc(2 * FIR_CUTOFF_HZ / INTERNAL_HZ * m) \
        * np.kaiser(FIR_TAPS, FIR_KAISER_BETA)
    return taps / taps.sum()


def modal_frequency_responses(modes, nfft):
    """Exact zero-order-hold discretization of each modal oscillator q'' + 2 zeta omega q' +
    omega^2 q = f: impulse responses of q and q' (differences of the step response over one step),
    their DFTs, and that of q'' = f - 2 zeta omega q' - omega^2 q."""
    omega = 2 * math.pi * modes.hz[:, None]
    zeta = modes.damping[:, None]
    damped = omega * np.sqrt(1 - zeta ** 2)
    t = np.arange(BURST_STEPS + 1)[None, :] * DT
    decay = np.exp(-zeta * omega * t)
    cos, sin = np.cos(damped * t), np.sin(damped * t)
    step_q = (1 - decay * (cos + zeta * omega / damped * sin)) / omega ** 2
    step_v = decay * sin / damped
    h_q = np.fft.rfft(np.diff(step_q, axis=1)[:, :BURST_STEPS - 1], nfft)
    h_v = np.fft.rfft(np.diff(step_v, axis=1)[:, :BURST_STEPS - 1], nfft)
    # The impulse responses start one step late (the force acts from the step it is applied).
    delay = np.exp(-2j * math.pi * np.fft.rfftfreq(nfft)[None, :])
    h_q, h_v = h_q * delay, h_v * delay
    return h_q, 1.0 - 2 * zeta * omega * h_v - omega ** 2 * h_q


def sensor_coefficients(fe, modes):
    """Deck-frame acceleration at the sensor per unit modal acceleration (3, modes), and the
    gravity it sees tilted per unit modal displacement (3, modes)."""
    sn, s = fe.deck.sensor, fe.deck.section
    at = fe.fields_at(modes.shapes, [sn.position_m], ("w", "w_x", "v", "v_x", "phi"))
    f = {name: values[0] for name, values in at.items()}
    e, h = sn.offset_y_m, sn.height_m
    height_over_axis = h - s.neutral_axis_z_m
    acceleration = np.array([
        # lengthwise: the section rotates by w' about its neutral axis and by v' in plan
        -height_over_axis * f["w_x"] - e * f["v_x"],
        # across: lateral bending, and a point above the twist axis swings sideways
        f["v"] - h * f["phi"],
        # up: bending, and a point off the centreline rises with the twist
        f["w"] + e * f["phi"]])
    # A section pitched by w' and rolled by phi sees gravity's reaction along its x and y axes.
    tilt = np.array([GRAVITY * f["w_x"], GRAVITY * f["phi"], np.zeros_like(f["w"])])
    return acceleration, tilt


def rotation(roll_deg, pitch_deg, yaw_deg):
    """Sensor-from-deck rotation for mounting errors applied roll, then pitch, then yaw."""
    a, p, y = (math.radians(v) for v in (roll_deg, pitch_deg, yaw_deg))
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    return rz @ ry @ rx


def sensor_noise(r, sensor):
    """White plus flicker (1/f) noise per axis over the burst at the output rate, scaled to the
    sensor's RMS in expectation."""
    n = BURST_SAMPLES
    freq = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    shape = np.sqrt(1.0 + sensor.flicker_corner_hz / np.maximum(freq, freq[1]))
    weights = np.full(len(freq), 2.0)
    weights[0] = 1.0
    weights[-1] = 1.0
    expected = math.sqrt(float(np.sum(weights * shape ** 2)) / n)
    out = np.empty((3, n))
    for axis in range(3):
        white = np.fft.rfft(r.standard_normal(n))
        out[axis] = np.fft.irfft(shape * white, n) * sensor.noise_rms[axis] / expected
    return out


class Generator:
    """Windows of one deck: the FE model, its road and the sensor, shared by all bursts."""

    def __init__(self, deck):
        self.deck = deck
        self.fe = FiniteElementDeck(deck)
        self.profile_x, self.profiles = road_profiles(deck)
        self.nfft = 1 << int(math.ceil(math.log2(2 * BURST_STEPS + FIR_TAPS)))
        self.fir = np.fft.rfft(decimation_filter(), self.nfft)
        sn = deck.sensor
        self.mounting = rotation(sn.roll_deg, sn.pitch_deg, sn.yaw_deg)
        if sn.turned:
            self.mounting = np.diag([-1.0, -1.0, 1.0]) @ self.mounting
        # The deck itself climbs at its grade and falls to the side at its cross-fall.
        site = rotation(math.degrees(sn.crossfall), -math.degrees(sn.grade), 0.0)
        self.gravity = site.T @ np.array([0.0, 0.0, GRAVITY])

    def burst(self, burst, seed):
        """The burst's 12 windows as integers in units of 0.1 mm/s2, (12, 3, 256)."""
        r = np.random.default_rng([BURST_STREAM, seed, self.deck.seed, burst.index])
        fe, deck = self.fe, self.deck
        modes = fe.modes(burst.temperature_c, burst.severity)
        forces = self._traffic_forces(r, modes, burst) + wind_forces(r, fe, modes, burst)
        ground = ground_motion(r, deck, burst)
        # Uniform ground motion of the supports drives each mode through its participation.
        forces -= np.outer(fe.participation(modes.shapes, "w"), ground[2])
        forces -= np.outer(fe.participation(modes.shapes, "v"), ground[1])
        h_q, h_a = modal_frequency_responses(modes, self.nfft)
        spectrum = np.fft.rfft(forces, self.nfft)
        acceleration, tilt = sensor_coefficients(fe, modes)
        deck_frame = (acceleration @ (spectrum * h_a) + tilt @ (spectrum * h_q)
                      + np.fft.rfft(ground, self.nfft))
        filtered = np.fft.irfft(deck_frame * self.fir, self.nfft)[:, :BURST_STEPS]
        samples = filtered[:, WARM_UP_STEPS::OVERSAMPLING][:, :BURST_SAMPLES]
        return self._sense(r, samples, burst)

    def _traffic_forces(self, r, modes, burst):
        vehicles = arrivals(r, self.deck, burst)
        steps, x, y, vertical, lateral = wheel_loads(self.deck, vehicles, self.profile_x, self.profiles)
        forces = np.zeros((len(modes.hz), BURST_STEPS))
        top = self.deck.section.top_z_m
        for start in range(0, len(steps), LOAD_CHUNK):
            part = slice(start, start + LOAD_CHUNK)
            f = self.fe.fields_at(modes.shapes, x[part], ("w", "v", "phi"))
            # Work of a downward wheel load at (x, y) and a sideways force at deck level:
            # -P (w + y phi) + F (v - top phi).
            generalized = -vertical[part, None] * (f["w"] + y[part, None] * f["phi"]) \
                + lateral[part, None] * (f["v"] - top * f["phi"])
            for m in range(len(modes.hz)):
                forces[m] += np.bincount(steps[part], weights=generalized[:, m], minlength=BURST_STEPS)
        return forces

    def _sense(self, r, deck_frame, burst):
        sn = self.deck.sensor
        specific_force = deck_frame + self.gravity[:, None]
        measured = np.array(sn.gain)[:, None] * (self.mounting @ specific_force)
        offset = np.array(sn.offset) + np.array(sn.offset_per_c) * (burst.temperature_c - REFERENCE_C)
        measured += offset[:, None] + sensor_noise(r, sn)
        quantized = np.floor(measured * DECIMAL_SCALE + 0.5).astype(np.int64)
        return quantized.reshape(3, BURST_WINDOWS, WINDOW_SAMPLES).transpose(1, 0, 2)


def generate(deck, windows, damaged_fraction, seed):
    """Yields (burst, windows) in time order; windows are (12, 3, 256) in units of 0.1 mm/s2."""
    gen = Generator(deck)
    for burst in schedule(deck, windows, damaged_fraction, seed):
        yield burst, gen.burst(burst, seed)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _fixed(value):
    """An integer in 0.1 mm/s2 as m/s2 with 4 decimals; a minus sign only on a non-zero value."""
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // DECIMAL_SCALE}.{abs(value) % DECIMAL_SCALE:04d}"


def csv_text(window):
    """A window (3, 256) of integers in 0.1 mm/s2 as the Java CsvWindow writes it."""
    lines = [",".join(CHANNELS)]
    lines += [",".join(_fixed(v) for v in row) for row in window.T.tolist()]
    return "\n".join(lines) + "\n"


def write_run(out, deck, windows, damaged_fraction, seed):
    """Writes OUT/<label>/<window index, 5 digits>.csv; returns the count per label."""
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise SystemExit(f"--out: not a directory ({out})")
        if os.listdir(out):
            raise SystemExit(f"--out: directory is not empty ({out})")
    for label in (HEALTHY, DAMAGED):
        os.makedirs(os.path.join(out, label), exist_ok=True)
    counts = {HEALTHY: 0, DAMAGED: 0}
    for burst, block in generate(deck, windows, damaged_fraction, seed):
        label = DAMAGED if burst.damaged else HEALTHY
        for k, window in enumerate(block):
            index = burst.index * BURST_WINDOWS + k
            with open(os.path.join(out, label, f"{index:05d}.csv"), "w", encoding="ascii", newline="\n") as f:
                f.write(csv_text(window))
            counts[label] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Describe and check
# ---------------------------------------------------------------------------------------------


def match_modes(fe, reference, other):
    """For each reference mode, the index of the other state's mode most like it (MAC)."""
    cross = reference.shapes.T @ fe.mass @ other.shapes
    return np.argmax(cross ** 2, axis=1)


def _mode_list(modes):
    return [{"mode": label, "hz": round(float(f), 4), "damping": round(float(z), 5),
             "shares_vlt": [round(float(v), 3) for v in share]}
            for label, f, z, share in zip(modes.labels(), modes.hz, modes.damping, modes.shares)]


def describe(deck):
    """The deck's parameters and modal frequencies (healthy at 15, -10 and 35 C, and damaged at
    15 C at the lowest, middle and highest severity) as a JSON-able dict."""
    fe = FiniteElementDeck(deck)
    states = {"healthy_15C": (REFERENCE_C, 0.0), "healthy_-10C": (TEMPERATURE_MIN_C, 0.0),
              "healthy_35C": (TEMPERATURE_MAX_C, 0.0)}
    for s in (SEVERITY_RANGE[0], sum(SEVERITY_RANGE) / 2, SEVERITY_RANGE[1]):
        states[f"damaged_15C_severity_{s:.2f}"] = (REFERENCE_C, s)
    reference = fe.modes(REFERENCE_C, 0.0)
    v1 = reference.first_vertical()
    modes, first_vertical_change = {}, {}
    for name, (t, s) in states.items():
        m = fe.modes(t, s)
        modes[name] = _mode_list(m)
        first_vertical_change[name] = round(
            float(m.hz[match_modes(fe, reference, m)[v1]] / reference.hz[v1] - 1.0), 5)
    params = dataclasses.asdict(deck)
    params["damage"]["eccentricity"] = damage_eccentricity(deck)
    return {"deck": params, "first_vertical_change": first_vertical_change, "modes": modes}


def damage_eccentricity(deck):
    """Lateral position of the cracked girders over the deck's half-width."""
    y = np.array(deck.section.girder_y_m)[list(deck.damage.girders)]
    return round(float(y.mean() / (deck.section.width_m / 2)), 4)


def _uniform_beam_deck(span, ei, mass):
    """A deck reduced to a uniform simply supported beam, for the analytic check."""
    deck = draw_deck(1)
    section = dataclasses.replace(
        deck.section, span_m=span, mass_per_m=mass, girder_y_m=(-1.0, 1.0), girder_ei=ei / 2,
        mass_offset_y_m=0.0, mass_offset_z_m=0.0, lateral_ei=100 * ei, torsion_gj=100 * ei)
    rigid = End(vertical="rigid", lateral="rigid", bearing_vertical_n_per_m=0.0, bearing_lateral_n_per_m=0.0,
                fixity=0.0)
    thermal = dataclasses.replace(deck.thermal, frozen_fixity=0.0)
    return dataclasses.replace(deck, section=section, ends=(rigid, rigid), thermal=thermal)


def check():
    """Self-checks; returns the failures (empty when all hold)."""
    failures = []

    def expect(condition, what):
        print(("ok    " if condition else "FAIL  ") + what)
        if not condition:
            failures.append(what)

    span, ei, mass = 30.0, 4.0e10, 1.0e4
    analytic = (math.pi / span) ** 2 * math.sqrt(ei / mass) / (2 * math.pi)
    beam = FiniteElementDeck(_uniform_beam_deck(span, ei, mass)).modes(REFERENCE_C, 0.0)
    fe_hz = beam.hz[beam.first_vertical()]
    expect(abs(fe_hz / analytic - 1) < 0.005,
           f"uniform simply supported beam: FE {fe_hz:.5f} Hz vs analytic {analytic:.5f} Hz")
    second = beam.hz[np.nonzero(beam.shares[:, 0] > 0.5)[0][1]]
    expect(abs(second / (4 * analytic) - 1) < 0.005,
           f"its second bending mode: FE {second:.5f} Hz vs analytic {4 * analytic:.5f} Hz")
    for seed in range(101, 109):
        deck = draw_deck(seed)
        fe = FiniteElementDeck(deck)
        healthy = fe.modes(REFERENCE_C, 0.0)
        v1 = healthy.first_vertical()
        damaged = fe.modes(REFERENCE_C, SEVERITY_RANGE[0])
        d1 = damaged.hz[match_modes(fe, healthy, damaged)[v1]]
        expect(d1 < healthy.hz[v1], f"deck {seed}: damage lowers V1 ({healthy.hz[v1]:.4f} -> {d1:.4f} Hz)")
        highest = max(float(fe.modes(t, s).hz.max()) for t in (TEMPERATURE_MIN_C, TEMPERATURE_MAX_C)
                      for s in (0.0, SEVERITY_RANGE[1]))
        expect(highest < NYQUIST_HZ, f"deck {seed}: highest kept mode {highest:.2f} Hz < {NYQUIST_HZ} Hz")
        expect(1.2 <= healthy.hz[v1] <= 5.0, f"deck {seed}: V1 {healthy.hz[v1]:.3f} Hz within 1.2..5 Hz")
    runs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "run")
            write_run(out, draw_deck(103), 24, 0.5, 7)
            files = {}
            for label in (HEALTHY, DAMAGED):
                for name in sorted(os.listdir(os.path.join(out, label))):
                    with open(os.path.join(out, label, name), "rb") as f:
                        files[f"{label}/{name}"] = f.read()
            runs.append(files)
    first = runs[0]
    layouts = [{f"{DAMAGED if k // BURST_WINDOWS == damaged else HEALTHY}/{k:05d}.csv" for k in range(24)}
               for damaged in (0, 1)]
    expect(set(first) in layouts, "24 windows, half damaged, as two whole bursts")
    expect(runs[0] == runs[1], "same seeds give the same bytes")
    text = first[sorted(first)[0]].decode("ascii").splitlines()
    values = np.array([[float(v) for v in line.split(",")] for line in text[1:]])
    expect(text[0] == "ax,ay,az" and values.shape == (256, 3), "header ax,ay,az and 256 rows of 3 values")
    expect(bool(np.all(np.isfinite(values))) and abs(values[:, 2].mean() - GRAVITY) < 1.0,
           f"finite values, az near +1 g (mean {values[:, 2].mean():.3f})")
    return failures


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="output directory; created, and must be empty if it exists")
    p.add_argument("--deck-seed", type=int, default=101, help="seed the deck is drawn from (default: 101)")
    p.add_argument("--windows", type=int, default=600,
                   help=f"number of windows, a multiple of {BURST_WINDOWS} (default: 600)")
    p.add_argument("--damaged-fraction", type=float, default=0.5,
                   help="share of bursts recorded on the cracked deck, 0..1 (default: 0.5)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of times, temperatures, severities, traffic, wind and noise (default: 0)")
    p.add_argument("--describe", action="store_true", help="print the deck's parameters and modes as JSON")
    p.add_argument("--check", action="store_true", help="run the self-checks")
    a = p.parse_args(argv)
    if a.check:
        failures = check()
        print(f"{len(failures)} failure(s)")
        return 1 if failures else 0
    if a.deck_seed < 0 or a.seed < 0:
        p.error(f"--deck-seed and --seed: must be >= 0 (got {a.deck_seed}, {a.seed})")
    deck = draw_deck(a.deck_seed)
    if a.describe:
        print(json.dumps(describe(deck), indent=1))
        return 0
    if not a.out:
        p.error("--out: required unless --describe or --check")
    if a.windows < BURST_WINDOWS or a.windows % BURST_WINDOWS:
        p.error(f"--windows: must be a positive multiple of {BURST_WINDOWS} (one burst), got {a.windows}")
    if not 0.0 <= a.damaged_fraction <= 1.0:
        p.error(f"--damaged-fraction: must be within 0..1, got {a.damaged_fraction}")
    counts = write_run(a.out, deck, a.windows, a.damaged_fraction, a.seed)
    print(json.dumps({"out": a.out, "windows": a.windows, "counts": counts, "seed": a.seed,
                      "deck_seed": a.deck_seed, "sample_rate_hz": SAMPLE_RATE_HZ, "length": WINDOW_SAMPLES,
                      "burst_windows": BURST_WINDOWS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
