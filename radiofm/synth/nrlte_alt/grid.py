"""The resource grid both builders fill: complex values plus a per-RE kind label.

A grid covers whole slots (NR) or subframes (LTE) of one carrier: ``values`` (S, K) complex64 and ``kind``
(S, K) uint8, S OFDM symbols by K = 12·N_RB subcarriers in the specification's index order (k = 0 is the
lowest subcarrier; for LTE the unused DC carrier is *not* a column, the modulator inserts it). Data REs are
first marked in ``kind`` / ``bits`` / ``gain`` and drawn all at once by :func:`fill_data`, which keeps the
builders vectorised and the random draws in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radiofm.synth.nrlte_alt.sequences import random_symbols

# RE kinds (uint8 codes in Grid.kind)
EMPTY = 0
PDSCH = 1
PDSCH_DMRS = 2
PDCCH = 3  # NR PDCCH payload; LTE PDCCH REGs
PDCCH_DMRS = 4
PSS = 5
SSS = 6
PBCH = 7
PBCH_DMRS = 8
CRS = 9
PCFICH = 10
PHICH = 11
CSI_RS = 12
OCNG = 13

KIND_NAMES = {
    EMPTY: "empty",
    PDSCH: "pdsch",
    PDSCH_DMRS: "pdsch-dmrs",
    PDCCH: "pdcch",
    PDCCH_DMRS: "pdcch-dmrs",
    PSS: "pss",
    SSS: "sss",
    PBCH: "pbch",
    PBCH_DMRS: "pbch-dmrs",
    CRS: "crs",
    PCFICH: "pcfich",
    PHICH: "phich",
    CSI_RS: "csi-rs",
    OCNG: "ocng",
}
DATA_KINDS = (PDSCH, PDCCH, PBCH, PCFICH, PHICH, OCNG)  # REs whose values fill_data draws


@dataclass
class Grid:
    """One carrier's resource grid over ``n_slots`` whole slots starting at absolute slot ``first_slot``."""

    values: np.ndarray  # (S, K) complex64
    kind: np.ndarray  # (S, K) uint8, one of the codes above
    bits: np.ndarray  # (S, K) uint8, bits per data symbol (2 QPSK .. 8 256QAM), 0 where not data
    gain: np.ndarray  # (S, K) float32, amplitude of data REs (1 = the 0 dB reference RE)
    symbols_per_slot: int
    first_slot: int
    info: dict = field(default_factory=dict)  # what the builder scheduled, for tests and metadata

    @classmethod
    def empty(cls, n_slots: int, n_sc: int, symbols_per_slot: int, first_slot: int) -> Grid:
        shape = (n_slots * symbols_per_slot, n_sc)
        return cls(
            values=np.zeros(shape, np.complex64),
            kind=np.zeros(shape, np.uint8),
            bits=np.zeros(shape, np.uint8),
            gain=np.zeros(shape, np.float32),
            symbols_per_slot=symbols_per_slot,
            first_slot=first_slot,
        )

    @property
    def n_slots(self) -> int:
        return self.values.shape[0] // self.symbols_per_slot

    def rows(self, slot: int) -> slice:
        """Rows of absolute slot ``slot``."""
        r0 = (slot - self.first_slot) * self.symbols_per_slot
        return slice(r0, r0 + self.symbols_per_slot)

    def mark(self, rows, cols, kind: int, bits: int = 2, gain: float = 1.0, only_empty: bool = True) -> None:
        """Mark data REs ``[rows, cols]`` as ``kind``; by default only REs still empty.

        ``rows`` is an int or slice with ``cols`` any column index (fast path), or both broadcastable arrays.
        """
        if isinstance(rows, (int, np.integer, slice)):
            r = slice(int(rows), int(rows) + 1) if not isinstance(rows, slice) else rows
            colmask = np.zeros(self.kind.shape[1], bool)
            colmask[cols] = True
            kb = self.kind[r]
            sel = (kb == EMPTY) & colmask if only_empty else np.broadcast_to(colmask, kb.shape)
            kb[sel] = kind
            self.bits[r][sel] = bits
            self.gain[r][sel] = gain
            return
        sub = self.kind[rows, cols]
        sel = sub == EMPTY if only_empty else np.ones(sub.shape, bool)
        sub[sel] = kind
        self.kind[rows, cols] = sub
        b = self.bits[rows, cols]
        b[sel] = bits
        self.bits[rows, cols] = b
        gn = self.gain[rows, cols]
        gn[sel] = gain
        self.gain[rows, cols] = gn

    def put(self, rows, cols, kind: int, values) -> None:
        """Write known values (a reference or synchronisation signal) into ``[rows, cols]``."""
        self.kind[rows, cols] = kind
        self.values[rows, cols] = values
        self.bits[rows, cols] = 0


def fill_data(grid: Grid, rng: np.random.Generator) -> None:
    """Draw random constellation points for every marked data RE (scaled by its gain), in place."""
    for q in (2, 4, 6, 8):
        idx = np.flatnonzero(grid.bits == q)
        if idx.size:
            flat = grid.values.reshape(-1)
            flat[idx] = random_symbols(rng, q, idx.size) * grid.gain.reshape(-1)[idx]


def rb_mask(n_rb: int, starts_lengths) -> np.ndarray:
    """(n_rb,) bool: the union of ``[start, start + length)`` RB ranges."""
    m = np.zeros(n_rb, bool)
    for s, n in starts_lengths:
        m[max(s, 0) : min(s + n, n_rb)] = True
    return m
