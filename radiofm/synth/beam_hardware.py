"""60 GHz phased-array transmitters for the beam data set: codebooks, front-end hardware, room geometry.

A transmit **front end** is one physical phased-array module. Every unit leaves the factory with its own
hardware errors, and those errors — not the codebook, which is the same firmware on every unit — decide what
a beam index radiates (SPEC §2, DeepBeam: "different beam patterns introduce different impairments to the
waveform"). :class:`FrontEnd` holds one unit's errors; :func:`draw_front_end` draws them from a seed.

Conventions: a uniform linear array of M elements along y, broadside along +x; angles in degrees from
broadside, positive towards +y. The array factor of weights w (M,) at departure angle θ is
``Σ_m w_m exp(j 2π d m sin θ)`` with d the spacing in wavelengths; beam b steered to θ_b has the ideal
weights ``exp(−j 2π d m sin θ_b)``, quantised to the phase shifters' ``phase_bits`` (2 bits on 60 GHz
consumer arrays such as SiBeam's, hence irregular side lobes).

All functions are pure: arrays in, arrays out, randomness only from the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPEED_OF_LIGHT_M_S = 299_792_458.0


# ------------------------------------------------------------------------------------------- codebook


def steering_angles_deg(n_beams: int, span_deg: float) -> np.ndarray:
    """Steering directions of an ``n_beams`` codebook spread evenly over ±``span_deg``: (B,) degrees."""
    if n_beams == 1:
        return np.zeros(1)
    return np.linspace(-span_deg, span_deg, n_beams)


def codebook(n_beams: int, n_elements: int, *, span_deg: float, spacing_wl: float, phase_bits: int) -> np.ndarray:
    """Ideal quantised phase-only beam weights, the same on every unit: (B, M) complex128, |w| = 1.

    ``phase_bits`` = 0 means unquantised phases.
    """
    theta = np.deg2rad(steering_angles_deg(n_beams, span_deg))[:, None]
    m = np.arange(n_elements)[None, :]
    phase = -2 * np.pi * spacing_wl * m * np.sin(theta)
    if phase_bits > 0:
        step = 2 * np.pi / 2**phase_bits
        phase = np.round(phase / step) * step
    return np.exp(1j * phase)


def element_pattern(theta_deg: np.ndarray, *, exponent: float = 1.0, backlobe: float = 0.05) -> np.ndarray:
    """Field pattern of one patch element: cos(θ)^exponent in front, a small constant behind. (…) float."""
    c = np.cos(np.deg2rad(theta_deg))
    return np.where(c > 0, np.abs(c) ** exponent, backlobe)


def steering_matrix(theta_deg: np.ndarray, n_elements: int, spacing_wl: float) -> np.ndarray:
    """Array response to departure angles ``theta_deg`` (P,): (P, M) complex128."""
    m = np.arange(n_elements)[None, :]
    return np.exp(2j * np.pi * spacing_wl * m * np.sin(np.deg2rad(np.asarray(theta_deg, float)))[:, None])


# ------------------------------------------------------------------------------------------- front ends


@dataclass(frozen=True)
class FrontEndSpread:
    """How much units differ: the distributions one unit's hardware errors are drawn from."""

    element_gain_std_db: float = 1.5  # per-element amplitude error (driver/PA gain, feed loss), normal, dB
    element_phase_std_deg: float = 20.0  # per-element phase error (routing, phase-shifter offsets), normal, deg
    mount_error_std_deg: float = 1.5  # array orientation error in the module, normal, deg
    iq_gain_db_range: tuple[float, float] = (0.1, 1.0)  # TX mixer I/Q gain imbalance, uniform, dB (random sign)
    iq_phase_deg_range: tuple[float, float] = (1.0, 6.0)  # TX mixer quadrature error, uniform, deg (random sign)
    phase_noise_linewidth_hz_range: tuple[float, float] = (2e3, 20e3)  # LO Wiener-equivalent linewidth, log-uniform
    cfo_ppm_range: tuple[float, float] = (-5.0, 5.0)  # TX LO offset from the receiver's, uniform, ppm of the carrier
    pa_backoff_db_range: tuple[float, float] = (3.0, 9.0)  # PA input back-off from saturation (RMS), uniform, dB
    pa_am_pm_deg_range: tuple[float, float] = (2.0, 10.0)  # PA AM/PM phase shift at saturation, uniform, deg
    tx_gain_offset_std_db: float = 1.0  # unit-to-unit output power spread, normal, dB


@dataclass(frozen=True)
class FrontEnd:
    """One transmit unit's hardware. Arrays are per element (M,)."""

    index: int  # the unit's number; its file name says ``tx-ant-<index>``
    element_gain_db: np.ndarray  # amplitude error of each element's chain, dB
    element_phase_deg: np.ndarray  # phase error of each element's chain, deg
    mount_error_deg: float  # the array's orientation error: every pattern is rotated by this
    iq_gain_db: float  # TX I/Q gain imbalance (Q branch louder by this), dB
    iq_phase_deg: float  # TX I/Q quadrature error, deg
    phase_noise_linewidth_hz: float  # LO phase noise as a Wiener process of this 3-dB linewidth, Hz
    cfo_ppm: float  # LO frequency offset from the receiver, ppm of the carrier
    pa_backoff_db: float  # PA input back-off: RMS drive this far below the Rapp saturation amplitude, dB
    pa_am_pm_deg: float  # PA AM/PM conversion at saturation, deg
    tx_gain_offset_db: float  # output power offset of this unit, dB

    def to_dict(self) -> dict:
        """JSON-ready description (written into the data set's manifest)."""
        return {
            "index": self.index,
            "element_gain_db": [round(float(v), 4) for v in self.element_gain_db],
            "element_phase_deg": [round(float(v), 3) for v in self.element_phase_deg],
            "mount_error_deg": round(self.mount_error_deg, 4),
            "iq_gain_db": round(self.iq_gain_db, 4),
            "iq_phase_deg": round(self.iq_phase_deg, 4),
            "phase_noise_linewidth_hz": round(self.phase_noise_linewidth_hz, 1),
            "cfo_ppm": round(self.cfo_ppm, 4),
            "pa_backoff_db": round(self.pa_backoff_db, 3),
            "pa_am_pm_deg": round(self.pa_am_pm_deg, 3),
            "tx_gain_offset_db": round(self.tx_gain_offset_db, 3),
        }


def draw_front_end(index: int, n_elements: int, spread: FrontEndSpread, rng: np.random.Generator) -> FrontEnd:
    """Draw unit ``index``'s hardware errors from ``spread``."""

    def signed(lo_hi: tuple[float, float]) -> float:
        return float(rng.uniform(*lo_hi) * rng.choice([-1.0, 1.0]))

    lw_lo, lw_hi = spread.phase_noise_linewidth_hz_range
    return FrontEnd(
        index=int(index),
        element_gain_db=rng.normal(0.0, spread.element_gain_std_db, n_elements),
        element_phase_deg=rng.normal(0.0, spread.element_phase_std_deg, n_elements),
        mount_error_deg=float(rng.normal(0.0, spread.mount_error_std_deg)),
        iq_gain_db=signed(spread.iq_gain_db_range),
        iq_phase_deg=signed(spread.iq_phase_deg_range),
        phase_noise_linewidth_hz=float(np.exp(rng.uniform(np.log(lw_lo), np.log(lw_hi)))),
        cfo_ppm=float(rng.uniform(*spread.cfo_ppm_range)),
        pa_backoff_db=float(rng.uniform(*spread.pa_backoff_db_range)),
        pa_am_pm_deg=float(rng.uniform(*spread.pa_am_pm_deg_range)),
        tx_gain_offset_db=float(rng.normal(0.0, spread.tx_gain_offset_std_db)),
    )


def realised_weights(ideal: np.ndarray, fe: FrontEnd) -> np.ndarray:
    """What unit ``fe`` radiates for each codebook entry: ideal (B, M) × element errors -> (B, M) complex128."""
    err = 10 ** (fe.element_gain_db / 20) * np.exp(1j * np.deg2rad(fe.element_phase_deg))
    return ideal * err[None, :]


def beam_pattern_db(
    ideal: np.ndarray, fe: FrontEnd | None, theta_deg: np.ndarray, *, spacing_wl: float, exponent: float = 1.0
) -> np.ndarray:
    """Power pattern of every beam, dB relative to one element: (B, A). ``fe=None``: the ideal unit."""
    w = ideal if fe is None else realised_weights(ideal, fe)
    mount = 0.0 if fe is None else fe.mount_error_deg
    a = steering_matrix(np.asarray(theta_deg) - mount, ideal.shape[1], spacing_wl)  # (A, M)
    field = (w @ a.T) * element_pattern(np.asarray(theta_deg) - mount, exponent=exponent)[None, :]
    return 20 * np.log10(np.abs(field) + 1e-12)


def rapp_pa(x: np.ndarray, *, saturation: float, smoothness: float, am_pm_deg: float) -> np.ndarray:
    """Solid-state PA: Rapp AM/AM (``smoothness`` p) with AM/PM rising to ``am_pm_deg`` at saturation.

    x: complex input, amplitude relative to the small-signal drive; returns the output, same shape and dtype.
    """
    r2 = (x.real**2 + x.imag**2) / saturation**2  # |x|² / A_sat²
    gain = (1.0 + r2**smoothness) ** (-0.5 / smoothness)
    phase = np.deg2rad(am_pm_deg) * r2 / (1.0 + r2)
    return x * (gain * np.cos(phase) + 1j * (gain * np.sin(phase))).astype(x.dtype, copy=False)


# ------------------------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Room:
    """A rectangular room seen from above (metres); the TX array sits at the origin facing +x."""

    left_wall_y_m: float = 2.5  # wall parallel to x at y = +left
    right_wall_y_m: float = -3.0  # wall parallel to x at y = right (negative)
    back_wall_x_m: float = 7.0  # wall parallel to y at x = back, behind the receiver
    height_m: float = 1.0  # TX and RX antenna height above the floor (for the floor bounce)
    wall_loss_db: float = 7.0  # mean reflection loss of a wall (drywall/glass at 60 GHz), dB
    floor_loss_db: float = 10.0  # mean reflection loss of the floor, dB


def scatter_paths(
    rx_xy_m: np.ndarray, points_xy_m: np.ndarray, loss_db: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Single-bounce paths TX (origin) -> point scatterer -> receiver, as :func:`specular_paths` returns them.

    points_xy_m: (K, 2) scatterer positions, loss_db: (K,) their loss beyond free space over the whole path.
    """
    pts = np.asarray(points_xy_m, float).reshape(-1, 2)
    az = np.rad2deg(np.arctan2(pts[:, 1], pts[:, 0]))
    length = np.hypot(pts[:, 0], pts[:, 1]) + np.hypot(pts[:, 0] - rx_xy_m[0], pts[:, 1] - rx_xy_m[1])
    return az, np.zeros(len(pts)), length, np.asarray(loss_db, float).reshape(-1)


def specular_paths(rx_xy_m: np.ndarray, room: Room) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Line of sight plus first-order wall and floor reflections from the TX at the origin to ``rx_xy_m``.

    Image method: a wall reflection leaves the TX towards the mirror image of the receiver. Returns
    (departure azimuth deg (P,), elevation deg (P,), path length m (P,), mean reflection loss dB (P,)),
    paths ordered LOS, left wall, right wall, back wall, floor.
    """
    x, y = float(rx_xy_m[0]), float(rx_xy_m[1])
    images = [
        (x, y, 0.0),
        (x, 2 * room.left_wall_y_m - y, room.wall_loss_db),
        (x, 2 * room.right_wall_y_m - y, room.wall_loss_db),
        (2 * room.back_wall_x_m - x, y, room.wall_loss_db),
    ]
    az, el, length, loss = [], [], [], []
    for ix, iy, lo in images:
        az.append(np.rad2deg(np.arctan2(iy, ix)))
        el.append(0.0)
        length.append(np.hypot(ix, iy))
        loss.append(lo)
    d = np.hypot(x, y)
    az.append(np.rad2deg(np.arctan2(y, x)))  # the floor bounce leaves at the LOS azimuth, pointing down
    el.append(-np.rad2deg(np.arctan2(2 * room.height_m, d)))
    length.append(np.hypot(d, 2 * room.height_m))
    loss.append(room.floor_loss_db)
    return np.array(az), np.array(el), np.array(length), np.array(loss)
