"""Propagation and RF impairments: TDL fading with Doppler, transmit filtering, frequency shift, receiver IQ
imbalance and LO leakage.

Power-delay profiles (all taps complex Gaussian, i.e. Rayleigh, unless marked LOS):

- EPA / EVA / ETU: TS 36.101 Annex B.2.1, Tables B.2.1-2/3/4 (delays in ns).
- TDL-A / B / C (NLOS) and TDL-D / E (LOS: the first tap is a deterministic path, Rician with the next,
  equal-delay Rayleigh tap): TR 38.901 Tables 7.7.2-1..5, normalised delays scaled by a delay spread of
  30 / 100 / 300 ns ("short" / "nominal" / "long", TR 38.901 Table 7.7.3-1).

Doppler (our own sum-of-sinusoids, after Jakes/Clarke): each Rayleigh tap is ``M^-1/2 Σ_m exp(j(2π f_d
cos α_m t + φ_m))`` with ``M = 16`` stratified random arrival angles ``α_m`` and random phases ``φ_m`` —
unit mean power, classical U-shaped spectrum; a LOS tap is ``exp(j(2π f_d cos θ t + φ))``. Tap gains are
evaluated every 50 µs, interpolated linearly and held over ~4 µs blocks (at f_d ≤ 300 Hz the phase moves
< 0.01 rad per block), and each tap delay is rounded to the nearest sample; taps at the same sample add.
The profile is normalised to unit total power, so the channel keeps the mean received power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...], bool, bool]] = {
    # name: (delays, powers dB, delays are normalised (× delay spread), first tap is LOS)
    "EPA": ((0, 30, 70, 90, 110, 190, 410), (0.0, -1.0, -2.0, -3.0, -8.0, -17.2, -20.8), False, False),
    "EVA": (
        (0, 30, 150, 310, 370, 710, 1090, 1730, 2510),
        (0.0, -1.5, -1.4, -3.6, -0.6, -9.1, -7.0, -12.0, -16.9),
        False,
        False,
    ),
    "ETU": (
        (0, 50, 120, 200, 230, 500, 1600, 2300, 5000),
        (-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, -3.0, -5.0, -7.0),
        False,
        False,
    ),
    "TDL-A": (
        (0.0, 0.3819, 0.4025, 0.5868, 0.4610, 0.5375, 0.6708, 0.5750, 0.7618, 1.5375, 1.8978, 2.2242, 2.1718,
         2.4942, 2.5119, 3.0582, 4.0810, 4.4579, 4.5695, 4.7966, 5.0066, 5.3043, 9.6586),
        (-13.4, 0.0, -2.2, -4.0, -6.0, -8.2, -9.9, -10.5, -7.5, -15.9, -6.6, -16.7, -12.4, -15.2, -10.8, -11.3,
         -12.7, -16.2, -18.3, -18.9, -16.6, -19.9, -29.7),
        True,
        False,
    ),
    "TDL-B": (
        (0.0, 0.1072, 0.2155, 0.2095, 0.2870, 0.2986, 0.3752, 0.5055, 0.3681, 0.3697, 0.5700, 0.5283, 1.1021,
         1.2756, 1.5474, 1.7842, 2.0169, 2.8294, 3.0219, 3.6187, 4.1067, 4.2790, 4.7834),
        (0.0, -2.2, -4.0, -3.2, -9.8, -1.2, -3.4, -5.2, -7.6, -3.0, -8.9, -9.0, -4.8, -5.7, -7.5, -1.9, -7.6,
         -12.2, -9.8, -11.4, -14.9, -9.2, -11.3),
        True,
        False,
    ),
    "TDL-C": (
        (0.0, 0.2099, 0.2219, 0.2329, 0.2176, 0.6366, 0.6448, 0.6560, 0.6584, 0.7935, 0.8213, 0.9336, 1.2285,
         1.3083, 2.1704, 2.7105, 4.2589, 4.6003, 5.4902, 5.6077, 6.3065, 6.6374, 7.0427, 8.6523),
        (-4.4, -1.2, -3.5, -5.2, -2.5, 0.0, -2.2, -3.9, -7.4, -7.1, -10.7, -11.1, -5.1, -6.8, -8.7, -13.2, -13.9,
         -13.9, -15.8, -17.1, -16.0, -15.7, -21.6, -22.8),
        True,
        False,
    ),
    "TDL-D": (
        (0.0, 0.0, 0.035, 0.612, 1.363, 1.405, 1.804, 2.596, 1.775, 4.042, 7.937, 9.424, 9.708, 12.525),
        (-0.2, -13.5, -18.8, -21.0, -22.8, -17.9, -20.1, -21.9, -22.9, -27.8, -23.6, -24.8, -30.0, -27.7),
        True,
        True,
    ),
    "TDL-E": (
        (0.0, 0.0, 0.5133, 0.5440, 0.5630, 0.5440, 0.7112, 1.9092, 1.9293, 1.9589, 2.6426, 3.7136, 5.4524,
         12.0034, 20.6519),
        (-0.03, -22.03, -15.8, -18.1, -19.8, -22.9, -22.4, -18.6, -20.8, -22.6, -22.3, -25.6, -20.2, -29.8, -29.2),
        True,
        True,
    ),
}  # fmt: skip
DELAY_SPREADS_NS = (30.0, 100.0, 300.0)
_SINUSOIDS = 16
_COARSE_S = 50e-6


@dataclass(frozen=True)
class ChannelSpec:
    """A fading channel: profile name ("none" = no multipath), delay spread (TDL-x only), max Doppler."""

    profile: str = "none"
    delay_spread_ns: float = 0.0
    doppler_hz: float = 0.0


def draw_channel(rng: np.random.Generator) -> ChannelSpec:
    """10 % no multipath, else a uniformly chosen profile; f_d ~ U(0, 300) Hz."""
    if rng.random() < 0.1:
        return ChannelSpec("none", 0.0, float(rng.uniform(0, 300)))
    name = str(rng.choice(list(PROFILES)))
    ds = float(rng.choice(DELAY_SPREADS_NS)) if PROFILES[name][2] else 0.0
    return ChannelSpec(name, ds, float(rng.uniform(0, 300)))


def tap_table(spec: ChannelSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(delays s, powers linear summing to 1, LOS flags) of the profile's taps."""
    delays, powers_db, normalised, los = PROFILES[spec.profile]
    d = np.asarray(delays) * (spec.delay_spread_ns if normalised else 1.0) * 1e-9
    p = 10 ** (np.asarray(powers_db) / 10)
    flags = np.zeros(d.size, bool)
    flags[0] = los
    return d, p / p.sum(), flags


def tap_gains(spec: ChannelSpec, times_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n_taps, T) complex gains at ``times_s`` (sum-of-sinusoids Rayleigh taps, phasor LOS taps)."""
    _, power, los = tap_table(spec)
    n, m = power.size, _SINUSOIDS
    alpha = 2 * np.pi * (np.arange(m) + rng.random((n, m))) / m
    phase = rng.uniform(0, 2 * np.pi, (n, m))
    alpha[los, 1:], phase[los, 1:] = 0.0, 0.0
    weight = np.where(los[:, None], (np.arange(m) == 0).astype(float), 1 / np.sqrt(m))
    f = spec.doppler_hz * np.cos(alpha)  # (n, m)
    arg = 2 * np.pi * f[:, :, None] * times_s[None, None, :] + phase[:, :, None]
    return np.sqrt(power)[:, None] * np.einsum("nm,nmt->nt", weight, np.exp(1j * arg))


def apply_tdl(x: np.ndarray, sample_rate_hz: float, spec: ChannelSpec, rng: np.random.Generator) -> np.ndarray:
    """Pass (N,) complex64 through the fading channel; returns (N,) complex64 (delayed energy past N cut)."""
    if spec.profile == "none":
        return x
    delays, _, _ = tap_table(spec)
    n = x.size
    block = max(1, int(round(sample_rate_hz / 240e3)))
    n_blocks = -(-n // block)
    coarse_t = np.arange(0, n / sample_rate_hz + 2 * _COARSE_S, _COARSE_S)
    coarse = tap_gains(spec, coarse_t, rng)
    block_t = (np.arange(n_blocks) + 0.5) * block / sample_rate_hz
    d_samp = np.round(delays * sample_rate_hz).astype(int)
    d_max = int(d_samp.max())
    xp = np.zeros(d_max + n_blocks * block, np.complex64)
    xp[d_max : d_max + n] = x
    y = np.zeros((n_blocks, block), np.complex64)
    tmp = np.empty_like(y)
    for d in np.unique(d_samp):
        c = coarse[d_samp == d].sum(axis=0)
        gain = (np.interp(block_t, coarse_t, c.real) + 1j * np.interp(block_t, coarse_t, c.imag)).astype(np.complex64)
        np.multiply(gain[:, None], xp[d_max - d : d_max - d + n_blocks * block].reshape(n_blocks, block), out=tmp)
        y += tmp
    return y.reshape(-1)[:n]


def tx_filter(x: np.ndarray, sample_rate_hz: float, lower_hz: float, upper_hz: float, guard_hz: float) -> np.ndarray:
    """Band-limit a baseband carrier like a base-station channel filter (linear-phase Kaiser FIR, 50 dB).

    Passband: the occupied band ``[lower_hz, upper_hz]``; the transition spans ``guard_hz`` (the room to the
    channel edge), so the channel edges are 50 dB down. Group delay is compensated (``mode="same"``).
    Returns ``x`` unchanged when the filter would need more than 4001 taps.
    """
    if guard_hz <= 0:
        return x
    import scipy.signal  # here: importing it costs ~0.5 s of every CLI start-up (annotate imports this module)

    numtaps, beta = scipy.signal.kaiserord(50.0, guard_hz / (0.5 * sample_rate_hz))
    if numtaps > 4001:
        return x
    numtaps |= 1
    h = scipy.signal.firwin(numtaps, 0.5 * (upper_hz - lower_hz + guard_hz), window=("kaiser", beta), fs=sample_rate_hz)
    centre = 0.5 * (upper_hz + lower_hz)
    h = h * np.exp(2j * np.pi * centre * (np.arange(numtaps) - numtaps // 2) / sample_rate_hz)
    return scipy.signal.oaconvolve(x, h.astype(np.complex64), mode="same").astype(np.complex64, copy=False)


def mix(x: np.ndarray, freq_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Shift (N,) complex64 by ``freq_hz`` (phase continuous from sample 0), in single precision."""
    n = x.size
    block = 4096
    nb = -(-n // block)
    w = 2 * np.pi * freq_hz / sample_rate_hz
    coarse = np.exp(1j * w * block * np.arange(nb)).astype(np.complex64)
    fine = np.exp(1j * w * np.arange(block)).astype(np.complex64)
    ph = (coarse[:, None] * fine[None, :]).reshape(-1)[:n]
    return x * ph


def iq_imbalance(x: np.ndarray, gain_db: float, phase_deg: float) -> np.ndarray:
    """Receiver IQ imbalance ``y = α x + β x*`` with ``α = (1 + g e^{-jφ})/2``, ``β = (1 − g e^{jφ})/2``."""
    gq, phi = 10 ** (gain_db / 20), np.deg2rad(phase_deg)
    alpha = 0.5 * (1 + gq * np.exp(-1j * phi))
    beta = 0.5 * (1 - gq * np.exp(1j * phi))
    return (alpha * x + beta * np.conj(x)).astype(np.complex64)
