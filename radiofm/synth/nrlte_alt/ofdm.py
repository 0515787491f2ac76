"""CP-OFDM modulation for the LTE and NR normal-cyclic-prefix numerologies, with transmitter windowing.

Timing (TS 36.211 §6.12 for LTE, TS 38.211 §5.3.1 for NR; T_s = 1/30.72 MHz): a symbol is ``2048·2^-μ·T_s``
long and its cyclic prefix ``144·2^-μ·T_s``, except the first symbol of every 0.5 ms, whose prefix is
``16·T_s`` longer (LTE: 160/144 at μ = 0). At ``fs`` the counts scale by ``fs / 30.72 MHz``; the FFT size is
``fs / Δf``, so the grid is placed directly in the wide band (no resampling).

Subcarrier placement: NR puts subcarrier ``k`` at ``(k - K/2)·Δf`` (TS 38.211 §5.3.1, the carrier centre
falls on subcarrier K/2, no DC gap); LTE at ``(k - K/2)·Δf`` for ``k < K/2`` and ``(k - K/2 + 1)·Δf`` above,
leaving the DC subcarrier unused (TS 36.211 §6.12).

Windowing (weighted overlap-add, as base stations use to meet their ACLR/SEM limits): the first ``W`` samples
of each symbol's prefix are cross-faded with a raised-cosine ramp from the previous symbol's cyclic
continuation, so symbol boundaries have no phase jumps; ``W = 0`` switches it off.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from radiofm.errors import ConfigError

BASE_RATE_HZ = 30.72e6
SUPPORTED_RATES_HZ = (15.36e6, 30.72e6, 61.44e6, 122.88e6)
SYMBOLS_PER_SLOT = 14


def check_rate(sample_rate_hz: float) -> None:
    """Raise ConfigError unless ``sample_rate_hz`` is one of the LTE/NR FFT rates we modulate at directly."""
    if not any(abs(sample_rate_hz - r) < 1e-3 for r in SUPPORTED_RATES_HZ):
        rates = ", ".join(f"{r / 1e6:g}" for r in SUPPORTED_RATES_HZ)
        raise ConfigError(f"nrlte_alt: sample rate {sample_rate_hz / 1e6:g} MS/s unsupported (use one of {rates})")


def slot_layout(scs_hz: float, sample_rate_hz: float) -> tuple[int, np.ndarray, int]:
    """(n_fft, cp (14,) samples per symbol of a 14-symbol slot, slot length in samples) at ``sample_rate_hz``.

    The pattern is the same for every slot when μ ≤ 1 (15/30 kHz), the only numerologies used here.
    """
    check_rate(sample_rate_hz)
    mu = int(round(np.log2(scs_hz / 15e3)))
    if mu not in (0, 1):
        raise ConfigError(f"nrlte_alt: subcarrier spacing {scs_hz:g} Hz unsupported (15 or 30 kHz)")
    scale = sample_rate_hz / BASE_RATE_HZ
    n_fft = int(round(sample_rate_hz / scs_hz))
    cp = np.full(SYMBOLS_PER_SLOT, int(round(144 * scale / 2**mu)))
    cp[np.arange(SYMBOLS_PER_SLOT) % (7 * 2**mu) == 0] += int(round(16 * scale))
    return n_fft, cp, int(cp.sum() + SYMBOLS_PER_SLOT * n_fft)


def symbol_starts(cp: np.ndarray, n_fft: int, n_slots: int) -> np.ndarray:
    """(n_slots·14,) sample index where each symbol (its prefix) starts, from the first slot's start."""
    within = np.concatenate([[0], np.cumsum(cp + n_fft)[:-1]])
    slot_len = int(cp.sum() + cp.size * n_fft)
    return (np.arange(n_slots)[:, None] * slot_len + within[None, :]).reshape(-1)


def modulate(
    values: np.ndarray, *, scs_hz: float, sample_rate_hz: float, lte_dc: bool, window_len: int = 0,
    half_subcarrier: bool = False,
) -> np.ndarray:  # fmt: skip
    """Time signal of a grid of whole slots: (S, K) complex → (S/14 · slot length,) complex64.

    Unscaled: each RE of value ``a`` contributes a tone of amplitude ``|a|`` (the IFFT has no 1/N).
    ``half_subcarrier``: every subcarrier k sits at (k + 1/2)·Δf (an SSB on an odd k_SSB at 30 kHz), its phase
    referred to the start of each symbol's useful part, cyclic prefix included, as TS 38.211 §5.3.1 writes it:
    sample n of a symbol with prefix c is the IFFT's sample (n - c) mod N times exp(jπ(n - c)/N).
    """
    n_fft, cp, slot_len = slot_layout(scs_hz, sample_rate_hz)
    n_sym, k = values.shape
    if n_sym % SYMBOLS_PER_SLOT or k >= n_fft:
        raise ConfigError(f"nrlte_alt: grid of {n_sym}x{k} does not fit whole slots of FFT size {n_fft}")
    half = k // 2
    spec = np.zeros((n_sym, n_fft), np.complex64)
    spec[:, n_fft - half :] = values[:, :half]
    low = 1 if lte_dc else 0
    spec[:, low : low + k - half] = values[:, half:]
    sym = scipy.fft.ifft(spec, axis=1, norm="forward", overwrite_x=True, workers=1).astype(np.complex64, copy=False)
    n_slots = n_sym // SYMBOLS_PER_SLOT
    out = np.empty((n_slots, slot_len), np.complex64)
    pos = 0
    for l in range(SYMBOLS_PER_SLOT):
        c = int(cp[l])
        rows = sym[l::SYMBOLS_PER_SLOT]
        out[:, pos : pos + c] = rows[:, n_fft - c :]
        out[:, pos + c : pos + c + n_fft] = rows
        if half_subcarrier:
            out[:, pos : pos + c + n_fft] *= _half_shift(np.arange(-c, n_fft), n_fft)
        pos += c + n_fft
    out = out.reshape(-1)
    w = int(min(window_len, cp.min()))
    if w > 0 and n_sym > 1:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(w) + 0.5) / w)).astype(np.float32)
        idx = symbol_starts(cp, n_fft, n_slots)[1:, None] + np.arange(w)
        tail = sym[:-1, :w] * _half_shift(np.arange(n_fft, n_fft + w), n_fft) if half_subcarrier else sym[:-1, :w]
        out[idx] = ramp * out[idx] + (1 - ramp) * tail  # the previous symbol continued past its end
    return out


def _half_shift(m: np.ndarray, n_fft: int) -> np.ndarray:
    """exp(jπ m / N): half a subcarrier's rotation at sample m from a symbol's useful start."""
    return np.exp(1j * np.pi * m / n_fft).astype(np.complex64)


def subcarrier_freqs_hz(n_sc: int, scs_hz: float, lte_dc: bool) -> np.ndarray:
    """(K,) baseband frequency of each grid subcarrier."""
    k = np.arange(n_sc) - n_sc // 2
    if lte_dc:
        k = np.where(k >= 0, k + 1, k)
    return k * scs_hz


def occupied_edges_hz(n_sc: int, scs_hz: float, lte_dc: bool) -> tuple[float, float]:
    """(lower, upper) edge of the occupied band around the carrier's DC: extreme subcarriers ± Δf/2."""
    f = subcarrier_freqs_hz(n_sc, scs_hz, lte_dc)
    return float(f[0] - scs_hz / 2), float(f[-1] + scs_hz / 2)
