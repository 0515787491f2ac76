"""Transmitter and receiver impairments, and bursty-traffic timing helpers.

All functions take complex baseband ``iq`` of shape (N,) at ``sample_rate_hz`` and draw randomness only
from the ``rng`` passed in. Functions named ``add_*`` / ``apply_*_`` with a trailing underscore work in
place (the corpus buffers are tens of megabytes); the others return a new array.
"""

from __future__ import annotations

import numpy as np


def ppm_to_hz(ppm: float, carrier_hz: float) -> float:
    """Frequency error in Hz of an oscillator off by ``ppm`` parts per million at ``carrier_hz``."""
    return float(ppm) * 1e-6 * float(carrier_hz)


def apply_cfo(iq: np.ndarray, sample_rate_hz: float, cfo_hz: float, *, phase_rad: float = 0.0) -> np.ndarray:
    """Carrier frequency offset: multiply by exp(j(2π·cfo·n/fs + phase)). Returns complex64 (N,)."""
    n = np.arange(iq.size)
    return (iq * np.exp(1j * (2 * np.pi * cfo_hz / sample_rate_hz * n + phase_rad))).astype(np.complex64)


def iq_imbalance(iq: np.ndarray, *, gain_db: float, phase_deg: float) -> np.ndarray:
    """Receiver IQ gain/phase imbalance: y = α·x + β·conj(x), with the Q branch ``gain_db`` louder and
    ``phase_deg`` off quadrature. A tone at +f gets an image at −f, :func:`image_rejection_db` below it."""
    return apply_iq_imbalance_(np.array(iq, dtype=np.complex64), gain_db=gain_db, phase_deg=phase_deg)


def apply_iq_imbalance_(iq: np.ndarray, *, gain_db: float, phase_deg: float) -> np.ndarray:
    """:func:`iq_imbalance` in place on complex64 ``iq``: I stays, Q ← g·(Q·cos φ − I·sin φ), which equals
    α·x + β·conj(x) with α = (1 + g·e^(−jφ))/2, β = (1 − g·e^(jφ))/2."""
    g, phi = 10 ** (gain_db / 20), np.deg2rad(phase_deg)
    parts = iq.view(np.float32).reshape(-1, 2)
    i, q = parts[:, 0], parts[:, 1]
    q *= np.float32(g * np.cos(phi))
    q -= np.float32(g * np.sin(phi)) * i
    return iq


def apply_iq_skew_(iq: np.ndarray, *, gain_db: float, phase_deg: float, skew_samples: float) -> np.ndarray:
    """A wideband receiver's frequency-dependent I/Q imbalance, in place on complex64 ``iq``: the mixer of
    :func:`apply_iq_imbalance_`, then the Q branch's filter and ADC ``skew_samples`` later than the I branch's (a
    real fractional delay, applied over the whole array in the frequency domain). The quadrature error is then
    ``phase_deg`` − 360°·f·skew at frequency f (in cycles per sample): the image rejection varies across the band,
    best where the two cancel and worst at one band edge, as on an uncalibrated wideband front end."""
    apply_iq_imbalance_(iq, gain_db=gain_db, phase_deg=phase_deg)
    parts = iq.view(np.float32).reshape(-1, 2)
    q = np.fft.rfft(parts[:, 1].astype(np.float64))
    q *= np.exp(-2j * np.pi * np.fft.rfftfreq(len(iq)) * skew_samples)
    parts[:, 1] = np.fft.irfft(q, len(iq))
    return iq


def iq_skew_rejection_db(gain_db: float, phase_deg: float, skew_samples: float, freq: np.ndarray) -> np.ndarray:
    """Image rejection (dB) of :func:`apply_iq_skew_` at frequencies ``freq`` (cycles per sample, |f| ≤ 0.5): a
    tone at f over its image at −f."""
    g = 10 ** (gain_db / 20)
    f = np.asarray(freq, dtype=np.float64)
    d = lambda v: np.exp(-2j * np.pi * v * skew_samples)  # noqa: E731 - the Q branch's delay at v
    alpha = (1 + g * np.exp(-1j * np.deg2rad(phase_deg)) * d(f)) / 2  # the tone at f
    beta = (1 - g * np.exp(1j * np.deg2rad(phase_deg)) * d(-f)) / 2  # what lands at −f from it
    return 20 * np.log10(np.abs(alpha) / np.abs(beta))


def image_rejection_db(gain_db: float, phase_deg: float) -> float:
    """Power ratio (dB) of a tone to its image under :func:`iq_imbalance`."""
    alpha, beta = _imbalance_coeffs(gain_db, phase_deg)
    return float(20 * np.log10(abs(alpha) / abs(beta)))


def _imbalance_coeffs(gain_db: float, phase_deg: float) -> tuple[complex, complex]:
    g = 10 ** (gain_db / 20)
    phi = np.deg2rad(phase_deg)
    return complex((1 + g * np.exp(-1j * phi)) / 2), complex((1 - g * np.exp(1j * phi)) / 2)


def add_dc_offset_(iq: np.ndarray, offset: complex) -> np.ndarray:
    """LO leakage / DC offset: a constant added to every sample (a spike in the DC bin). In place."""
    iq += np.complex64(offset)
    return iq


def apply_phase_noise_(
    iq: np.ndarray, sample_rate_hz: float, *, linewidth_hz: float, rng: np.random.Generator, decimation: int = 8
) -> np.ndarray:
    """Oscillator phase noise as a Wiener process of 3-dB ``linewidth_hz`` (phase variance 2π·Δf per second).

    The phase is drawn every ``decimation`` samples and held, which is indistinguishable at these linewidths
    and keeps the cost low on 10⁷-sample recordings. In place.
    """
    n_knots = -(-iq.size // decimation)
    step_std = np.sqrt(2 * np.pi * linewidth_hz * decimation / sample_rate_hz)
    phase = np.cumsum(rng.standard_normal(n_knots) * step_std) + rng.uniform(0, 2 * np.pi)
    rot = np.exp(1j * phase).astype(np.complex64)
    view = iq[: (iq.size // decimation) * decimation].reshape(-1, decimation)
    view *= rot[: view.shape[0], None]
    if view.size < iq.size:
        iq[view.size :] *= rot[-1]
    return iq


def thermal_noise(n: int, *, power: float, rng: np.random.Generator) -> np.ndarray:
    """Circular white Gaussian noise with mean power ``power`` per complex sample. Returns complex64 (n,)."""
    x = rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64)
    x *= np.float32(np.sqrt(power / 2))
    return x


def apply_agc_steps_(iq: np.ndarray, steps: list[tuple[int, float]]) -> np.ndarray:
    """Automatic-gain-control steps: from each ``(sample_index, gain_db)`` onwards the signal is scaled by
    that gain (until the next step). In place."""
    for j, (start, gain_db) in enumerate(sorted(steps)):
        stop = sorted(steps)[j + 1][0] if j + 1 < len(steps) else iq.size
        iq[start:stop] *= np.float32(10 ** (gain_db / 20))
    return iq


def clip_(iq: np.ndarray, full_scale: float) -> int:
    """ADC clipping: I and Q each limited to ±``full_scale``. In place; returns how many samples clipped."""
    re = iq.view(np.float32) if iq.dtype == np.complex64 else iq.view(np.float64)
    n_clipped = int(np.count_nonzero(np.abs(re) > full_scale))
    np.clip(re, -full_scale, full_scale, out=re)
    return n_clipped


def burst_times(
    rng: np.random.Generator,
    *,
    t_end_s: float,
    busy_fraction: float,
    duration_s_range: tuple[float, float],
    t_start_s: float = 0.0,
    min_gap_s: float = 0.0,
    log_uniform: bool = True,
) -> list[tuple[float, float]]:
    """Bursty on/off traffic: ``(start_s, duration_s)`` pairs from ``t_start_s`` up to ``t_end_s``.

    Burst lengths are drawn from ``duration_s_range`` (log-uniform by default: many short, some long); idle
    gaps are exponential with the mean that makes the channel busy ``busy_fraction`` of the time, plus
    ``min_gap_s``. The first burst starts at a random phase of the on/off cycle, so a recording can open
    in the middle of a burst (negative start).
    """
    lo, hi = duration_s_range
    busy = float(np.clip(busy_fraction, 1e-3, 0.95))
    mean_len = (hi - lo) / np.log(hi / lo) if (log_uniform and hi > lo) else 0.5 * (lo + hi)
    mean_gap = mean_len * (1 - busy) / busy

    def draw_len() -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if log_uniform else float(rng.uniform(lo, hi))

    out = []
    t = t_start_s - rng.uniform(0, mean_len + mean_gap)
    while t < t_end_s:
        d = draw_len()
        if t + d > t_start_s:
            out.append((t, d))
        t += d + min_gap_s + rng.exponential(mean_gap)
    return out
