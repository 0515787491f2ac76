"""3GPP physical-layer sequences: NR PSS/SSS (38.211 §7.4.2), LTE PSS/SSS (36.211 §6.11), the length-31 Gold
sequence c(n) (38.211 §5.2.1 = 36.211 §7.2) and the QPSK reference signals built on it (NR DMRS, LTE CRS).

All functions are pure and vectorised. The PSS/SSS and Gold sequences live in :mod:`radiofm.dsp.sequences`
(the cell search uses them too) and are re-exported here.
"""

from __future__ import annotations

import functools

import numpy as np

from radiofm.dsp.sequences import gold, lte_pss, lte_sss, nr_pss, nr_sss

__all__ = ["gold", "lte_crs", "lte_pss", "lte_sss", "nr_dmrs", "nr_pbch_dmrs", "nr_pss", "nr_sss", "qpsk_from_bits"]


# ---------------------------------------------------------------- QPSK reference signals on the Gold sequence


def qpsk_from_bits(c: np.ndarray) -> np.ndarray:
    """r(m) = ((1 - 2c(2m)) + j(1 - 2c(2m+1))) / sqrt(2): (..., 2M) bits -> complex64 (..., M)."""
    b = 1.0 - 2.0 * c.astype(np.float32)
    return ((b[..., 0::2] + 1j * b[..., 1::2]) / np.sqrt(2.0)).astype(np.complex64)


def lte_crs(n_id_cell: int, slots: np.ndarray, symbols: np.ndarray, n_rb: int) -> np.ndarray:
    """LTE cell-specific RS r_{l,ns}(m') for m = 0..2*n_rb-1 (36.211 §6.10.1.1, normal CP, N_RB^max,DL = 110).

    ``slots``, ``symbols`` (S,) pairs -> complex64 (S, 2*n_rb).
    """
    slots, symbols = np.asarray(slots, np.int64), np.asarray(symbols, np.int64)
    c_init = 1024 * (7 * (slots + 1) + symbols + 1) * (2 * n_id_cell + 1) + 2 * n_id_cell + 1
    r = qpsk_from_bits(gold(c_init, 4 * 110))
    return r[:, 110 - n_rb : 110 + n_rb]


def nr_dmrs(n_id: int, slots: np.ndarray, symbols: np.ndarray, n_values: int, *, symbols_per_slot: int = 14):
    """NR PDSCH DMRS sequence r(m), m = 0..n_values-1 (38.211 §7.4.1.1.1, n_SCID = 0): complex64 (S, n_values)."""
    slots, symbols = np.asarray(slots, np.int64), np.asarray(symbols, np.int64)
    c_init = (2**17 * (symbols_per_slot * slots + symbols + 1) * (2 * n_id + 1) + 2 * n_id) % 2**31
    return qpsk_from_bits(gold(c_init, 2 * n_values))


@functools.lru_cache(maxsize=4096)
def nr_pbch_dmrs(n_id_cell: int, i_ssb: int, n_hf: int = 0, l_max: int = 4) -> np.ndarray:
    """NR PBCH DMRS r(0..143) (38.211 §7.4.1.4.1): complex64 (144,)."""
    i_bar = (i_ssb & 3) + 4 * n_hf if l_max == 4 else i_ssb & 7
    c_init = 2**11 * (i_bar + 1) * (n_id_cell // 4 + 1) + 2**6 * (i_bar + 1) + n_id_cell % 4
    out = qpsk_from_bits(gold(c_init, 288))
    out.flags.writeable = False  # cached
    return out
