"""3GPP synchronisation and scrambling sequences: NR PSS/SSS (38.211 §7.4.2), LTE PSS/SSS (36.211 §6.11), the
length-31 Gold sequence c(n) (38.211 §5.2.1 = 36.211 §7.2) and the reference signals built on it (LTE CRS, NR
PDSCH DMRS).

Used by the generator (:mod:`radiofm.synth.nrlte`) to build carriers and by the receivers
(:mod:`radiofm.dsp.cellsearch`, :mod:`radiofm.dsp.lte_cells`, :mod:`radiofm.dsp.nr_cells`) to find them. All
functions are pure and vectorised; m-sequences are tiny and cached.
"""

from __future__ import annotations

import functools

import numpy as np

_NC = 1600  # Gold sequence offset N_C


def _m_sequence(taps: tuple[int, ...], init: tuple[int, ...], length: int) -> np.ndarray:
    """Binary m-sequence x(i + n) = sum_{t in taps} x(i + t) mod 2, n = len(init); uint8 (length,)."""
    n = len(init)
    step = n - max(taps)  # x(i + n) for i in [j, j + step) only needs already known values
    x = np.zeros(length + n + step, dtype=np.uint8)
    x[:n] = init
    for j in range(0, length, step):
        acc = x[j + taps[0] : j + taps[0] + step].copy()
        for t in taps[1:]:
            acc ^= x[j + t : j + t + step]
        x[j + n : j + n + step] = acc
    return x[:length]


# ---------------------------------------------------------------- NR PSS / SSS (38.211 §7.4.2.2, §7.4.2.3)


@functools.cache
def _nr_pss_x() -> np.ndarray:
    return _m_sequence((0, 4), (0, 1, 1, 0, 1, 1, 1), 127)  # x(i+7) = (x(i+4) + x(i)) mod 2


@functools.cache
def _nr_sss_x() -> tuple[np.ndarray, np.ndarray]:
    init = (1, 0, 0, 0, 0, 0, 0)
    x0 = _m_sequence((0, 4), init, 127)  # x0(i+7) = (x0(i+4) + x0(i)) mod 2
    x1 = _m_sequence((0, 1), init, 127)  # x1(i+7) = (x1(i+1) + x1(i)) mod 2
    return x0, x1


def nr_pss(n_id2: int) -> np.ndarray:
    """NR primary synchronisation signal d_PSS(n), n = 0..126: float32 (127,) of +-1 (BPSK)."""
    if n_id2 not in (0, 1, 2):
        raise ValueError(f"N_ID2 must be 0, 1 or 2, got {n_id2}")
    m = (np.arange(127) + 43 * n_id2) % 127
    return (1.0 - 2.0 * _nr_pss_x()[m]).astype(np.float32)


def nr_sss(n_id1: int, n_id2: int) -> np.ndarray:
    """NR secondary synchronisation signal d_SSS(n), n = 0..126: float32 (127,) of +-1."""
    if not 0 <= n_id1 < 336 or n_id2 not in (0, 1, 2):
        raise ValueError(f"need 0 <= N_ID1 < 336 and N_ID2 in 0..2, got {n_id1}, {n_id2}")
    x0, x1 = _nr_sss_x()
    m0 = 15 * (n_id1 // 112) + 5 * n_id2
    m1 = n_id1 % 112
    n = np.arange(127)
    return ((1.0 - 2.0 * x0[(n + m0) % 127]) * (1.0 - 2.0 * x1[(n + m1) % 127])).astype(np.float32)


# ---------------------------------------------------------------- LTE PSS / SSS (36.211 §6.11.1, §6.11.2)

_LTE_PSS_ROOTS = (25, 29, 34)  # Zadoff-Chu root index u for N_ID2 = 0, 1, 2 (Table 6.11.1.1-1)


def lte_pss(n_id2: int) -> np.ndarray:
    """LTE PSS: length-63 Zadoff-Chu with the middle (DC) element punctured, complex64 (62,)."""
    u = _LTE_PSS_ROOTS[n_id2]
    n = np.arange(62, dtype=np.float64)
    m = np.where(n < 31, n * (n + 1), (n + 1) * (n + 2))
    return np.exp(-1j * np.pi * u * m / 63).astype(np.complex64)


@functools.cache
def _lte_sss_tilde() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    init = (0, 0, 0, 0, 1)
    s = 1.0 - 2.0 * _m_sequence((0, 2), init, 31)  # x(i+5) = (x(i+2) + x(i)) mod 2
    c = 1.0 - 2.0 * _m_sequence((0, 3), init, 31)  # x(i+5) = (x(i+3) + x(i)) mod 2
    z = 1.0 - 2.0 * _m_sequence((0, 1, 2, 4), init, 31)  # x(i+5) = (x(i+4) + x(i+2) + x(i+1) + x(i)) mod 2
    return s, c, z


def lte_sss(n_id1: int, n_id2: int, subframe: int) -> np.ndarray:
    """LTE SSS d(0..61) for subframe 0 or 5 (the two halves swap): float32 (62,) of +-1."""
    q1 = n_id1 // 30
    q = (n_id1 + q1 * (q1 + 1) // 2) // 30
    mp = n_id1 + q * (q + 1) // 2
    m0 = mp % 31
    m1 = (m0 + mp // 31 + 1) % 31
    s, c, z = _lte_sss_tilde()
    n = np.arange(31)
    s0, s1 = s[(n + m0) % 31], s[(n + m1) % 31]
    c0, c1 = c[(n + n_id2) % 31], c[(n + n_id2 + 3) % 31]
    z1_m0, z1_m1 = z[(n + m0 % 8) % 31], z[(n + m1 % 8) % 31]
    d = np.empty(62, dtype=np.float32)
    if subframe == 0:
        d[0::2], d[1::2] = s0 * c0, s1 * c1 * z1_m0
    else:
        d[0::2], d[1::2] = s1 * c0, s0 * c1 * z1_m1
    return d


# ---------------------------------------------------------------- Gold sequence


_GOLD_MAX = 4096  # longest c(n) we ever need (NR DMRS for 273 RB: 3276 bits)


@functools.cache
def _gold_tables() -> tuple[np.ndarray, np.ndarray]:
    """x1 part (GOLD_MAX,) and the 31 x2 basis responses, bit-packed (31, GOLD_MAX / 8), all offset by N_C.

    x2 is linear in its initial state, so x2 for any c_init is the XOR of the basis responses of its set bits.
    """
    total = _NC + _GOLD_MAX
    x1 = _m_sequence((0, 3), (1,) + (0,) * 30, total)[_NC:]
    basis = np.stack([_m_sequence((0, 1, 2, 3), tuple(int(b == i) for b in range(31)), total)[_NC:] for i in range(31)])
    return x1, np.packbits(basis, axis=1)


def gold(c_init: np.ndarray | int, length: int) -> np.ndarray:
    """Pseudo-random sequence c(n), n = 0..length-1, for each c_init: uint8 (..., length)."""
    if length > _GOLD_MAX:
        raise ValueError(f"Gold sequence length {length} > {_GOLD_MAX}")
    x1, packed = _gold_tables()
    c_init = np.asarray(c_init, dtype=np.int64)
    n_bytes = -(-length // 8)
    bits = ((c_init[..., None] >> np.arange(31)) & 1).astype(bool)  # (..., 31)
    chosen = np.where(bits[..., None], packed[:, :n_bytes], np.uint8(0))  # (..., 31, n_bytes)
    x2 = np.unpackbits(np.bitwise_xor.reduce(chosen, axis=-2), axis=-1, count=length)
    return x2 ^ x1[:length]


# ---------------------------------------------------------------- QPSK reference signals on the Gold sequence


def qpsk_from_bits(c: np.ndarray) -> np.ndarray:
    """r(m) = ((1 - 2c(2m)) + j(1 - 2c(2m+1))) / sqrt(2): (..., 2M) bits -> complex64 (..., M)."""
    b = 1.0 - 2.0 * c.astype(np.float32)
    return ((b[..., 0::2] + 1j * b[..., 1::2]) / np.sqrt(2.0)).astype(np.complex64)


def lte_crs(n_id_cell: int, slots: np.ndarray, symbols: np.ndarray, n_rb: int = 110) -> np.ndarray:
    """LTE cell-specific RS r_{l,ns}(m') for m = 0..2*n_rb-1 (36.211 §6.10.1.1, normal CP, N_RB^max,DL = 110).

    ``slots``, ``symbols`` (S,) pairs -> complex64 (S, 2*n_rb). The cell's CRS are the middle of the 110-RB
    sequence (m' = m + 110 - n_rb), so a receiver that knows only the DC uses ``n_rb=110``.
    """
    slots, symbols = np.asarray(slots, np.int64), np.asarray(symbols, np.int64)
    c_init = 1024 * (7 * (slots + 1) + symbols + 1) * (2 * n_id_cell + 1) + 2 * n_id_cell + 1
    r = qpsk_from_bits(gold(c_init, 4 * 110))
    return r[..., 110 - n_rb : 110 + n_rb]


def nr_dmrs(n_id: int, slots: np.ndarray, symbols: np.ndarray, n_values: int, *, symbols_per_slot: int = 14):
    """NR PDSCH DMRS sequence r(m), m = 0..n_values-1 (38.211 §7.4.1.1.1, n_SCID = 0): complex64 (S, n_values)."""
    slots, symbols = np.asarray(slots, np.int64), np.asarray(symbols, np.int64)
    c_init = (2**17 * (symbols_per_slot * slots + symbols + 1) * (2 * n_id + 1) + 2 * n_id) % 2**31
    return qpsk_from_bits(gold(c_init, 2 * n_values))
