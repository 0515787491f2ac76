"""3GPP physical-layer sequences: NR PSS/SSS (38.211 §7.4.2), LTE PSS/SSS (36.211 §6.11), the length-31 Gold
sequence c(n) (38.211 §5.2.1 = 36.211 §7.2) and the QPSK reference signals built on it (NR DMRS, LTE CRS).

All functions are pure and vectorised. The PSS/SSS, Gold, LTE CRS and NR DMRS sequences (and ``qpsk_from_bits``)
live in :mod:`radiofm.dsp.sequences` (the cell search and the CRS / DMRS band measurements use them too) and are
re-exported here.
"""

from __future__ import annotations

import functools

import numpy as np

from radiofm.dsp.sequences import gold, lte_crs, lte_pss, lte_sss, nr_dmrs, nr_pss, nr_sss, qpsk_from_bits

__all__ = ["gold", "lte_crs", "lte_pss", "lte_sss", "nr_dmrs", "nr_pbch_dmrs", "nr_pss", "nr_sss", "qpsk_from_bits"]


@functools.lru_cache(maxsize=4096)
def nr_pbch_dmrs(n_id_cell: int, i_ssb: int, n_hf: int = 0, l_max: int = 4) -> np.ndarray:
    """NR PBCH DMRS r(0..143) (38.211 §7.4.1.4.1): complex64 (144,)."""
    i_bar = (i_ssb & 3) + 4 * n_hf if l_max == 4 else i_ssb & 7
    c_init = 2**11 * (i_bar + 1) * (n_id_cell // 4 + 1) + 2**6 * (i_bar + 1) + n_id_cell % 4
    out = qpsk_from_bits(gold(c_init, 288))
    out.flags.writeable = False  # cached
    return out
