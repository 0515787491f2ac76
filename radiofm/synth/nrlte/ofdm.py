"""CP-OFDM at 61.44 MS/s: numerology, symbol timing, and a batched modulator.

Every carrier is synthesised directly at the capture rate with a large FFT (nfft = 61.44 MHz / SCS: 4096 at
15 kHz, 2048 at 30 kHz), so the FFT bins span the whole observable band and a carrier is placed by the bins it
occupies, with no resampling or mixing. Carriers that share an SCS (LTE and 15 kHz NR have identical symbol
timing) share one grid and one IFFT.

Normal cyclic prefix (38.211 §5.3.1 / 36.211 §6.12): 144 * 2^-mu * kappa Tc, plus 16 kappa Tc on the first
symbol of every 0.5 ms. At 61.44 MS/s (1 sample = 32 Tc): 15 kHz -> 320 / 288 samples, 30 kHz -> 176 / 144.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

from radiofm.dsp.frontend import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ  # noqa: F401  (the model front end's grid)

HALF_MS_SAMPLES = 30_720  # CP pattern repeats every 0.5 ms


@functools.cache
def numerology(scs_hz: float) -> dict:
    """FFT size, CP lengths, symbols per 0.5 ms, per slot (14) and in 40 ms, for 15 or 30 kHz SCS."""
    if scs_hz not in (15e3, 30e3):
        raise ValueError(f"SCS must be 15 or 30 kHz, got {scs_hz}")
    nfft = int(round(SAMPLE_RATE_HZ / scs_hz))
    cp = 144 * 64 * nfft // 4096 // 32  # 144 kappa 2^-mu Tc in samples: 288 (15 kHz) or 144 (30 kHz)
    per_half_ms = 7 * int(round(scs_hz / 15e3))
    n_symbols = per_half_ms * int(round(FRAME_S / 0.5e-3))
    return {"nfft": nfft, "cp": cp, "cp_long": cp + 32, "per_half_ms": per_half_ms, "n_symbols": n_symbols}


@functools.cache
def symbol_starts(scs_hz: float) -> np.ndarray:
    """Sample index (int64 (n_symbols + 1,)) where each symbol's CP begins; the last entry is the frame end."""
    nm = numerology(scs_hz)
    lengths = np.full(nm["n_symbols"], nm["nfft"] + nm["cp"], dtype=np.int64)
    lengths[:: nm["per_half_ms"]] += 32
    out = np.zeros(nm["n_symbols"] + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def symbol_times_s(scs_hz: float) -> np.ndarray:
    """Centre time (s) of each symbol's useful part, float64 (n_symbols,): where a channel is sampled."""
    nm = numerology(scs_hz)
    starts = symbol_starts(scs_hz)
    return (starts[1:] - nm["nfft"] / 2) / SAMPLE_RATE_HZ


def add_block(grid: np.ndarray, rows: slice, first_bin: int, block: np.ndarray) -> None:
    """Add ``block`` (R, W) to a natural-order grid (n_symbols, nfft) at subcarriers first_bin .. first_bin+W-1.

    Bins are relative to the capture centre (negative below it); natural order puts bin b at column b mod nfft,
    as ``ifft`` expects, so no fftshift copy is needed. A block that straddles the centre is split.
    """
    nfft = grid.shape[1]
    start, width = first_bin % nfft, block.shape[1]
    split = min(width, nfft - start)
    grid[rows, start : start + split] += block[:, :split]
    if split < width:
        grid[rows, : width - split] += block[:, split:]


def modulate(grid: np.ndarray, scs_hz: float, *, add_to: np.ndarray | None = None) -> np.ndarray:
    """OFDM-modulate a natural-order resource grid: (n_symbols, nfft) complex64 -> (FRAME_SAMPLES,) complex64.

    Column c of ``grid`` is the subcarrier at (c if c < nfft/2 else c - nfft) * scs_hz from the capture centre
    (``numpy.fft`` order; fill it with :func:`add_block`). The grid is overwritten. Scaled so that a
    resource element of power 1 contributes power 1/nfft to the time signal (unitary IFFT): a grid with n active
    unit-power subcarriers gives power n/nfft, so power spectral density is independent of the SCS.
    With ``add_to`` (FRAME_SAMPLES,) complex64 the waveform is added into it (no new buffer) and it is returned.
    """
    nm = numerology(scs_hz)
    nfft, cp, cp_long, k = nm["nfft"], nm["cp"], nm["cp_long"], nm["per_half_ms"]
    body = scipy.fft.ifft(grid, axis=1, norm="ortho", workers=1, overwrite_x=True)  # (S, nfft)
    body = body.astype(np.complex64, copy=False).reshape(-1, k, nfft)  # (half-ms blocks, k, nfft)
    n_blocks, first = body.shape[0], cp_long + nfft
    if add_to is None:
        out = np.empty((n_blocks, HALF_MS_SAMPLES), dtype=np.complex64)
        out[:, :cp_long] = body[:, 0, -cp_long:]
        out[:, cp_long:first] = body[:, 0]
        rest = out[:, first:].reshape(n_blocks, k - 1, cp + nfft)
        rest[:, :, :cp] = body[:, 1:, -cp:]
        rest[:, :, cp:] = body[:, 1:]
        return out.reshape(-1)
    out = add_to.reshape(n_blocks, HALF_MS_SAMPLES)
    out[:, :cp_long] += body[:, 0, -cp_long:]
    out[:, cp_long:first] += body[:, 0]
    rest = out[:, first:].reshape(n_blocks, k - 1, cp + nfft)
    rest[:, :, :cp] += body[:, 1:, -cp:]
    rest[:, :, cp:] += body[:, 1:]
    return add_to


# ---------------------------------------------------------------- resource-element helpers

MODULATIONS = {"QPSK": 2, "16QAM": 4, "64QAM": 6, "256QAM": 8}


@functools.cache
def constellation(modulation: str) -> np.ndarray:
    """Square Gray-free QAM alphabet with unit average power, complex64 (M,). (Bit labelling is irrelevant here.)"""
    bits = MODULATIONS[modulation]
    side = 2 ** (bits // 2)
    levels = np.arange(-(side - 1), side, 2, dtype=np.float64)
    points = (levels[:, None] + 1j * levels[None, :]).ravel()
    return (points / np.sqrt(np.mean(np.abs(points) ** 2))).astype(np.complex64)


def random_symbols(rng: np.random.Generator, modulation: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform random symbols of ``modulation``, complex64 ``shape``."""
    alphabet = constellation(modulation)
    return alphabet[rng.integers(0, len(alphabet), size=shape, dtype=np.uint16)]


def rbg_size(n_rb: int) -> int:
    """Resource block group size P, 38.214 Table 5.1.2.2.1-1 configuration 1 (also 36.213 Table 7.1.6.1-1 shape)."""
    return 2 if n_rb <= 36 else 4 if n_rb <= 72 else 8 if n_rb <= 144 else 16


def prb_allocation(rng: np.random.Generator, n_units: int, n_rb: int, load: float) -> np.ndarray:
    """Per-slot (or subframe) PRB allocation with mean occupancy ``load`` in (0, 1]: bool (n_units, n_rb).

    Half the carriers schedule one contiguous block per slot (allocation type 1), half a random set of
    resource block groups (type 0). The number of PRBs varies from slot to slot around ``load * n_rb``.
    """
    frac = np.clip(load * rng.uniform(0.7, 1.3, size=n_units), 1.0 / n_rb, 1.0)
    if rng.random() < 0.5:
        length = np.maximum(1, np.rint(frac * n_rb)).astype(np.int64)
        start = (rng.random(n_units) * (n_rb - length + 1)).astype(np.int64)
        rb = np.arange(n_rb)
        return (rb >= start[:, None]) & (rb < (start + length)[:, None])
    p = rbg_size(n_rb)
    n_rbg = -(-n_rb // p)
    chosen = rng.random((n_units, n_rbg)) < frac[:, None]
    return np.repeat(chosen, p, axis=1)[:, :n_rb]
