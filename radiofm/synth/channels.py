"""Multipath fading channels with Doppler: 3GPP tapped-delay-line profiles, time-varying Rayleigh taps.

Profiles (delays in seconds, powers in dB before normalisation to unit total power):

- ``"EPA"``, ``"EVA"``, ``"ETU"`` — 36.104 Annex B.2 (extended pedestrian A, vehicular A, typical urban).
- ``"TDL-A"``, ``"TDL-B"``, ``"TDL-C"`` — 38.901 Tables 7.7.2-1/-2/-3 (NLOS). Their delays are normalised;
  the actual delays are ``normalised_delay * delay_spread_s`` (38.901 §7.7.3; 100 ns by default,
  the "nominal" value).
- ``"flat"`` — a single Rayleigh tap; ``"awgn-only"`` — identity (no fading).

Each tap is an independent complex Gaussian process with the classical (Jakes) Doppler spectrum, made by a
sum of ``N_SINUSOIDS`` complex sinusoids with random arrival angles and phases (Monte-Carlo sum-of-sinusoids).
The expected total power gain is exactly 1 for every profile. Taps are evaluated on a coarse time grid (at
least 32 points per Doppler period, never coarser than 1 ms) and linearly interpolated, so the cost is
independent of the sample rate except for the final multiply-add per tap.

Two ways to apply the channel:

- :func:`fading` — time domain, any signal: delays rounded to the nearest sample (taps that land on the same
  sample are merged, powers summed, which keeps the statistics), one multiply-add per tap.
- :func:`frequency_response` — the channel's frequency response at given times and frequencies (T, F), for
  OFDM generators that apply the channel per symbol on the resource grid (exact when the delay spread fits in
  the cyclic prefix; much cheaper than filtering tens of millions of samples).
"""

from __future__ import annotations

import numpy as np

from radiofm.errors import ConfigError

N_SINUSOIDS = 20  # sinusoids per tap in the sum-of-sinusoids Rayleigh process

# fmt: off
# 36.104 Table B.2-1..B.2-3: (excess tap delay ns, relative power dB)
_LTE_PROFILES = {
    "EPA": ([0, 30, 70, 90, 110, 190, 410], [0.0, -1.0, -2.0, -3.0, -8.0, -17.2, -20.8]),
    "EVA": (
        [0, 30, 150, 310, 370, 710, 1090, 1730, 2510],
        [0.0, -1.5, -1.4, -3.6, -0.6, -9.1, -7.0, -12.0, -16.9],
    ),
    "ETU": (
        [0, 50, 120, 200, 230, 500, 1600, 2300, 5000],
        [-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, -3.0, -5.0, -7.0],
    ),
}

# 38.901 Tables 7.7.2-1 (TDL-A), 7.7.2-2 (TDL-B), 7.7.2-3 (TDL-C): (normalised delay, power dB)
_TDL_PROFILES = {
    "TDL-A": (
        [0.0000, 0.3819, 0.4025, 0.5868, 0.4610, 0.5375, 0.6708, 0.5750, 0.7618, 1.5375, 1.8978, 2.2242,
         2.1718, 2.4942, 2.5119, 3.0582, 4.0810, 4.4579, 4.5695, 4.7966, 5.0066, 5.3043, 9.6586],
        [-13.4, 0.0, -2.2, -4.0, -6.0, -8.2, -9.9, -10.5, -7.5, -15.9, -6.6, -16.7,
         -12.4, -15.2, -10.8, -11.3, -12.7, -16.2, -18.3, -18.9, -16.6, -19.9, -29.7],
    ),
    "TDL-B": (
        [0.0000, 0.1072, 0.2155, 0.2095, 0.2870, 0.2986, 0.3752, 0.5055, 0.3681, 0.3697, 0.5700, 0.5283,
         1.1021, 1.2756, 1.5474, 1.7842, 2.0169, 2.8294, 3.0219, 3.6187, 4.1067, 4.2790, 4.7834],
        [0.0, -2.2, -4.0, -3.2, -9.8, -1.2, -3.4, -5.2, -7.6, -3.0, -8.9, -9.0,
         -4.8, -5.7, -7.5, -1.9, -7.6, -12.2, -9.8, -11.4, -14.9, -9.2, -11.3],
    ),
    "TDL-C": (
        [0.0000, 0.2099, 0.2219, 0.2329, 0.2176, 0.6366, 0.6448, 0.6560, 0.6584, 0.7935, 0.8213, 0.9336,
         1.2285, 1.3083, 2.1704, 2.7105, 4.2589, 4.6003, 5.4902, 5.6077, 6.3065, 6.6374, 7.0427, 8.6523],
        [-4.4, -1.2, -3.5, -5.2, -2.5, 0.0, -2.2, -3.9, -7.4, -7.1, -10.7, -11.1,
         -5.1, -6.8, -8.7, -13.2, -13.9, -13.9, -15.8, -17.1, -16.0, -15.7, -21.6, -22.8],
    ),
}
# fmt: on

PROFILES = ("EPA", "EVA", "ETU", "TDL-A", "TDL-B", "TDL-C", "flat", "awgn-only")


def profile_taps(profile: str, *, delay_spread_s: float = 100e-9) -> tuple[np.ndarray, np.ndarray]:
    """Tap delays (s, float64 (K,)) and linear powers (float64 (K,), summing to 1) of a named profile.

    ``delay_spread_s`` scales the normalised TDL delays and is ignored by the other profiles.
    """
    if profile in _LTE_PROFILES:
        delays_ns, powers_db = _LTE_PROFILES[profile]
        delays = np.asarray(delays_ns, dtype=np.float64) * 1e-9
    elif profile in _TDL_PROFILES:
        if not delay_spread_s > 0:
            raise ConfigError(f"delay_spread_s must be > 0, got {delay_spread_s}")
        norm, powers_db = _TDL_PROFILES[profile]
        delays = np.asarray(norm, dtype=np.float64) * delay_spread_s
    elif profile in ("flat", "awgn-only"):
        delays, powers_db = np.zeros(1), [0.0]
    else:
        raise ConfigError(f"unknown channel profile {profile!r}; choose one of {', '.join(PROFILES)}")
    powers = 10.0 ** (np.asarray(powers_db, dtype=np.float64) / 10.0)
    return delays, powers / powers.sum()


def rayleigh_gains(powers: np.ndarray, times_s: np.ndarray, doppler_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Complex tap gains (T, K) complex64 at ``times_s`` (T,): independent Rayleigh processes with Jakes spectra.

    Tap k has mean power ``powers[k]``; with ``doppler_hz`` = 0 each tap is a random constant.
    Evaluated exactly at every time; :func:`fading` and :func:`frequency_response` call it on a coarse grid.
    """
    powers = np.asarray(powers, dtype=np.float64)
    k, m = len(powers), N_SINUSOIDS
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(k, m))
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(k, m))
    freqs = doppler_hz * np.cos(angles)  # (K, M) Doppler shift of each sinusoid
    t = np.asarray(times_s, dtype=np.float64)
    arg = 2.0 * np.pi * t[:, None, None] * freqs[None] + phases[None]  # (T, K, M)
    gains = np.exp(1j * arg).sum(axis=2) * np.sqrt(powers / m)[None, :]
    return gains.astype(np.complex64)


def fading(
    iq: np.ndarray,
    sample_rate_hz: float,
    *,
    profile: str,
    doppler_hz: float,
    rng: np.random.Generator,
    delay_spread_s: float = 100e-9,
) -> np.ndarray:
    """Pass ``iq`` (N,) complex through a time-varying multipath channel; returns complex64 (N,).

    The output keeps the input's length (the channel's delayed tail past the end is dropped) and has unit
    average power gain over realisations. ``"awgn-only"`` returns a complex64 copy.
    """
    if sample_rate_hz <= 0:
        raise ConfigError(f"sample_rate_hz must be > 0, got {sample_rate_hz}")
    if doppler_hz < 0:
        raise ConfigError(f"doppler_hz must be >= 0, got {doppler_hz}")
    x = np.asarray(iq).astype(np.complex64, copy=False).ravel()
    delays, powers = profile_taps(profile, delay_spread_s=delay_spread_s)
    if profile == "awgn-only":
        return x.copy()
    n = len(x)
    lags = np.rint(delays * sample_rate_hz).astype(np.int64)
    merged_lags = np.unique(lags)
    merged_powers = np.array([powers[lags == lag].sum() for lag in merged_lags])
    # coarse gain grid with a whole number of samples per step; linear interpolation inside each block
    step_s = 1e-3 if doppler_hz <= 0 else min(1e-3, 1.0 / (32.0 * doppler_hz))
    block = max(1, min(n, int(step_s * sample_rate_hz)))
    n_blocks = -(-n // block)
    gains = rayleigh_gains(merged_powers, np.arange(n_blocks + 1) * (block / sample_rate_hz), doppler_hz, rng)
    ramp = (np.arange(block, dtype=np.float32) / block)[None, :]  # (1, block)
    max_lag = int(merged_lags.max())
    xp = np.zeros(max_lag + n_blocks * block, dtype=np.complex64)
    xp[max_lag : max_lag + n] = x
    y = np.zeros((n_blocks, block), dtype=np.complex64)
    for j, lag in enumerate(merged_lags):
        if lag >= n:
            continue
        shifted = xp[max_lag - lag : max_lag - lag + n_blocks * block].reshape(n_blocks, block)
        g0 = gains[:-1, j, None]
        g = g0 + (gains[1:, j, None] - g0) * ramp  # (n_blocks, block) interpolated gain
        y += shifted * g
    return y.ravel()[:n]


def frequency_response(
    profile: str,
    times_s: np.ndarray,
    freqs_hz: np.ndarray,
    *,
    doppler_hz: float,
    rng: np.random.Generator,
    delay_spread_s: float = 100e-9,
) -> np.ndarray:
    """Channel frequency response H (T, F) complex64 at times ``times_s`` (T,) and baseband ``freqs_hz`` (F,).

    H[t, f] = sum_k g_k(t) exp(-j 2 pi f tau_k); E|H|^2 = 1. Used to fade an OFDM resource grid per symbol.
    """
    delays, powers = profile_taps(profile, delay_spread_s=delay_spread_s)
    if profile == "awgn-only":
        return np.ones((len(times_s), len(freqs_hz)), dtype=np.complex64)
    times_s = np.asarray(times_s, dtype=np.float64)
    span = float(times_s.max() - times_s.min()) if len(times_s) else 0.0
    step_s = 1e-3 if doppler_hz <= 0 else min(1e-3, 1.0 / (32.0 * doppler_hz))
    n_coarse = int(np.ceil(span / step_s)) + 2
    if len(times_s) > n_coarse:  # dense times: evaluate on the coarse grid, interpolate linearly
        t0 = times_s.min()
        g = rayleigh_gains(powers, t0 + np.arange(n_coarse) * step_s, doppler_hz, rng)  # (n_coarse, K)
        pos = (times_s - t0) / step_s
        i0 = np.minimum(pos.astype(np.int64), n_coarse - 2)
        frac = (pos - i0).astype(np.float32)[:, None]
        gains = g[i0] + (g[i0 + 1] - g[i0]) * frac
    else:
        gains = rayleigh_gains(powers, times_s, doppler_hz, rng)
    steer = np.exp(-2j * np.pi * np.outer(delays, np.asarray(freqs_hz, dtype=np.float64))).astype(np.complex64)
    return gains @ steer  # (T, K) @ (K, F)
