"""Sequences and constellations of the LTE and NR downlink, written from the specifications.

- Length-31 Gold sequence ``c(n)``: TS 36.211 §7.2 / TS 38.211 §5.2.1 (``x1`` fixed, ``x2`` seeded by
  ``c_init``, ``Nc = 1600``). ``x2`` is linear over GF(2) in its 31 seed bits, so we tabulate, once, which
  seed bits each ``x2(n)`` sums (a 31-bit mask) and evaluate many seeds at once as mask parities.
- LTE PSS: Zadoff-Chu of length 63 with the middle element punctured, roots 25/29/34 for N_ID^(2) = 0/1/2
  (TS 36.211 §6.11.1.1, Table 6.11.1.1-1).
- LTE SSS: two interleaved length-31 m-sequences scrambled by ``c0/c1`` and ``z1`` (TS 36.211 §6.11.2.1).
- NR PSS / SSS: length-127 BPSK m-sequences (TS 38.211 §7.4.2.2, §7.4.2.3).
- QPSK/16QAM/64QAM/256QAM with unit average energy, Gray mapped (TS 36.211 §7.1 / TS 38.211 §5.1).
"""

from __future__ import annotations

import functools

import numpy as np

_NC = 1600  # TS 36.211 §7.2 / TS 38.211 §5.2.1


def _lfsr(taps: tuple[int, ...], init: tuple[int, ...], length: int) -> np.ndarray:
    """Binary sequence ``x(i + n0) = sum(x(i + t) for t in taps) mod 2`` with ``x(0..n0-1) = init``."""
    n0 = len(init)
    x = list(init) + [0] * (length - n0)
    for i in range(length - n0):
        v = 0
        for t in taps:
            v ^= x[i + t]
        x[i + n0] = v
    return np.asarray(x, dtype=np.uint8)


@functools.lru_cache(maxsize=1)
def _x1(length: int = 16384) -> np.ndarray:
    return _lfsr((0, 3), (1,) + (0,) * 30, length)


@functools.lru_cache(maxsize=8)
def _x2_masks(length: int) -> np.ndarray:
    """(length,) int64: bit i of entry n says whether seed bit i enters the mod-2 sum ``x2(Nc + n)``."""
    total = _NC + length
    rows = [1 << i for i in range(31)]  # x2(i) = seed bit i for i < 31
    for n in range(total - 31):
        rows.append(rows[n + 3] ^ rows[n + 2] ^ rows[n + 1] ^ rows[n])
    return np.asarray(rows[_NC:total], dtype=np.int64)


def gold(c_init: np.ndarray | int, length: int) -> np.ndarray:
    """Pseudo-random sequences ``c(0..length-1)`` for each seed; (S, length) uint8, or (length,) for an int."""
    seeds = np.atleast_1d(np.asarray(c_init, dtype=np.int64))
    padded = 1 << max(6, int(np.ceil(np.log2(max(length, 1)))))  # cache a few sizes, not every length
    masks = _x2_masks(padded)[:length]
    x2 = np.bitwise_count(seeds[:, None] & masks[None, :]) & 1  # parity of the selected seed bits
    c = (x2 ^ _x1(max(16384, _NC + padded))[_NC : _NC + length]).astype(np.uint8)
    return c[0] if np.ndim(c_init) == 0 else c


def qpsk_from_bits(c: np.ndarray) -> np.ndarray:
    """Reference-signal QPSK ``((1 - 2c(2m)) + j(1 - 2c(2m+1))) / sqrt(2)`` along the last axis; complex64."""
    b = 1.0 - 2.0 * c.astype(np.float32)
    return ((b[..., 0::2] + 1j * b[..., 1::2]) / np.sqrt(2)).astype(np.complex64)


# ---- LTE synchronisation signals --------------------------------------------------------------------------

LTE_PSS_ROOTS = (25, 29, 34)  # TS 36.211 Table 6.11.1.1-1


def lte_pss(nid2: int) -> np.ndarray:
    """(62,) complex64 ``d_u(n)``: the length-63 Zadoff-Chu sequence of root ``u`` without its middle element."""
    u = LTE_PSS_ROOTS[nid2]
    n = np.arange(62)
    m = np.where(n < 31, n * (n + 1), (n + 1) * (n + 2))
    return np.exp(-1j * np.pi * u * m / 63).astype(np.complex64)


def _pm(taps: tuple[int, ...], length: int = 31) -> np.ndarray:
    return 1 - 2 * _lfsr(taps, (0, 0, 0, 0, 1), length).astype(np.int8)


def lte_sss(nid1: int, nid2: int, subframe: int) -> np.ndarray:
    """(62,) float32 SSS of subframe 0 or 5 for cell-identity group ``nid1`` (0..167) and ``nid2``."""
    qp = nid1 // 30
    q = (nid1 + qp * (qp + 1) // 2) // 30
    mp = nid1 + q * (q + 1) // 2
    m0 = mp % 31
    m1 = (m0 + mp // 31 + 1) % 31
    s, c, z = _pm((0, 2)), _pm((0, 3)), _pm((0, 1, 2, 4))  # x(i+5) = x(i+2)+x(i); x(i+3)+x(i); x(i+4..)
    n = np.arange(31)
    s0, s1 = s[(n + m0) % 31], s[(n + m1) % 31]
    c0, c1 = c[(n + nid2) % 31], c[(n + nid2 + 3) % 31]
    z0, z1 = z[(n + m0 % 8) % 31], z[(n + m1 % 8) % 31]
    d = np.empty(62, dtype=np.float32)
    if subframe == 0:
        d[0::2], d[1::2] = s0 * c0, s1 * c1 * z0
    else:
        d[0::2], d[1::2] = s1 * c0, s0 * c1 * z1
    return d


# ---- NR synchronisation signals ---------------------------------------------------------------------------


def nr_pss(nid2: int) -> np.ndarray:
    """(127,) float32 ``1 - 2x((n + 43 N_ID^(2)) mod 127)``, ``x(i+7) = x(i+4) + x(i)``, TS 38.211 §7.4.2.2."""
    x = _lfsr((0, 4), (0, 1, 1, 0, 1, 1, 1), 127).astype(np.int16)
    n = np.arange(127)
    return (1 - 2 * x[(n + 43 * nid2) % 127]).astype(np.float32)


def nr_sss(nid1: int, nid2: int) -> np.ndarray:
    """(127,) float32 SSS for ``nid1`` (0..335), TS 38.211 §7.4.2.3."""
    x0 = _lfsr((0, 4), (1, 0, 0, 0, 0, 0, 0), 127).astype(np.int16)
    x1 = _lfsr((0, 1), (1, 0, 0, 0, 0, 0, 0), 127).astype(np.int16)
    m0 = 15 * (nid1 // 112) + 5 * nid2
    m1 = nid1 % 112
    n = np.arange(127)
    return ((1 - 2 * x0[(n + m0) % 127]) * (1 - 2 * x1[(n + m1) % 127])).astype(np.float32)


# ---- data constellations ----------------------------------------------------------------------------------

MODULATIONS = {"QPSK": 2, "16QAM": 4, "64QAM": 6, "256QAM": 8}


@functools.cache
def constellation(bits_per_symbol: int) -> np.ndarray:
    """(2**q,) complex64 Gray-mapped square QAM with unit mean energy (index = the q-bit label)."""
    half = bits_per_symbol // 2
    levels = 2**half
    labels = np.arange(2**bits_per_symbol)

    def axis(bits: np.ndarray) -> np.ndarray:  # Gray decode a half label into a PAM level
        g = bits.copy()
        shift = bits >> 1
        while shift.any():
            g ^= shift
            shift >>= 1
        return 2.0 * g - (levels - 1)

    i_bits, q_bits = np.zeros_like(labels), np.zeros_like(labels)
    for b in range(half):  # even label bits drive I, odd drive Q (as 36.211 Table 7.1.x interleaves them)
        i_bits |= ((labels >> (bits_per_symbol - 1 - 2 * b)) & 1) << (half - 1 - b)
        q_bits |= ((labels >> (bits_per_symbol - 2 - 2 * b)) & 1) << (half - 1 - b)
    pts = axis(i_bits) + 1j * axis(q_bits)
    return (pts / np.sqrt(np.mean(np.abs(pts) ** 2))).astype(np.complex64)


def random_symbols(rng: np.random.Generator, bits_per_symbol: int, n: int) -> np.ndarray:
    """(n,) complex64 uniformly random constellation points."""
    pts = constellation(bits_per_symbol)
    return pts[rng.integers(0, pts.size, n, dtype=np.int32)]
