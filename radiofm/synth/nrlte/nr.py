"""5G NR downlink carrier (FR1, SCS 15/30 kHz): SSB bursts with real PSS/SSS, PBCH + DMRS, PDSCH with DMRS.

What is modelled, per 38.211 unless noted:

- Bandwidth -> N_RB from 38.101-1 Table 5.3.2-1 (maximum transmission bandwidth configuration). 30 kHz at
  5 MHz (11 RB) is left out: it cannot hold a 20-RB SS block.
- SS/PBCH block (§7.4.3.1): 4 symbols x 240 subcarriers; PSS on symbol 0 and SSS on symbol 2, subcarriers
  56..182; PBCH on symbols 1 and 3 (all 240) and symbol 2 (0..47, 192..239), its DMRS on every 4th subcarrier
  offset by N_ID_cell mod 4 (§7.4.3.1.3); PBCH payload random QPSK. Burst positions (38.213 §4.1): case A
  (15 kHz) first symbols {2, 8} + 14n, case B (30 kHz) {4, 8, 16, 20} + 28n, with L = 4 or 8 blocks in the
  first half frame; burst periodicity 20 ms (bursts at 0 and 20 ms of the 40 ms capture). The SSB sits at a
  random RB offset inside the carrier (k_SSB = 0).
- Slots of 14 symbols; control (PDCCH-like QPSK) on symbols 0-1 of the scheduled PRBs; PDSCH mapping type A on
  symbols 2..13 with front-loaded DMRS on symbol 2 (dmrs-TypeA-Position pos2) and optionally symbol 11
  (dmrs-AdditionalPosition pos1); DMRS configuration type 1, port 1000 (even subcarriers, §7.4.1.1), two CDM
  groups without data so the odd subcarriers of DMRS symbols stay empty. PDSCH is rate-matched around the SSB.
- PRB load per carrier drawn in [0.2, 1.0]; the scheduled PRBs change every slot (see ``prb_allocation``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from radiofm.synth.nrlte import sequences
from radiofm.synth.nrlte.ofdm import MODULATIONS, numerology, prb_allocation, random_symbols

# 38.101-1 Table 5.3.2-1, N_RB by channel bandwidth (MHz), FR1. Only bandwidths that fit a 61.44 MHz capture.
NR_N_RB = {
    15e3: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 40: 216, 50: 270},
    30e3: {10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133},
}
NR_PROFILES = ("TDL-A", "TDL-B", "TDL-C")
SSB_RB = 20  # SS/PBCH block width in RBs


@dataclass
class NRConfig:
    """One NR carrier's random configuration (all JSON-serialisable)."""

    scs_hz: float
    bandwidth_mhz: int
    n_rb: int
    n_id_cell: int
    l_max: int  # SS blocks per burst: 4 or 8
    ssb_rb_offset: int  # first RB of the SS block inside the carrier
    modulation: str
    load: float  # mean fraction of PRBs scheduled per slot
    dmrs_additional: int  # 0: DMRS on symbol 2 only; 1: also on symbol 11
    profile: str
    delay_spread_s: float
    doppler_hz: float

    @property
    def n_subcarriers(self) -> int:
        return 12 * self.n_rb

    def to_dict(self) -> dict:
        return asdict(self)


def draw_nr(rng: np.random.Generator, *, max_bandwidth_mhz: float = 50) -> NRConfig:
    """Draw a random NR carrier no wider than ``max_bandwidth_mhz``."""
    scs = float(rng.choice([15e3, 30e3]))
    choices = [bw for bw in NR_N_RB[scs] if bw <= max_bandwidth_mhz]
    bw = int(rng.choice(choices))
    n_rb = NR_N_RB[scs][bw]
    return NRConfig(
        scs_hz=scs,
        bandwidth_mhz=bw,
        n_rb=n_rb,
        n_id_cell=int(rng.integers(0, 1008)),
        l_max=int(rng.choice([4, 8])),
        ssb_rb_offset=int(rng.integers(0, n_rb - SSB_RB + 1)),
        modulation=str(rng.choice(list(MODULATIONS))),
        load=float(rng.uniform(0.2, 1.0)),
        dmrs_additional=int(rng.integers(0, 2)),
        profile=str(rng.choice(NR_PROFILES)),
        delay_spread_s=float(np.exp(rng.uniform(np.log(30e-9), np.log(300e-9)))),
        doppler_hz=float(rng.uniform(0.0, 500.0)),
    )


def ssb_first_symbols(scs_hz: float, l_max: int) -> np.ndarray:
    """First OFDM symbol of each SS block within a half frame (38.213 §4.1 cases A and B), int64 (l_max,)."""
    if scs_hz == 15e3:  # case A
        n = np.arange(l_max // 2)
        return (np.array([2, 8])[None, :] + 14 * n[:, None]).ravel()
    n = np.arange(l_max // 4)  # case B
    return (np.array([4, 8, 16, 20])[None, :] + 28 * n[:, None]).ravel()


def ssb_symbol_indices(cfg: NRConfig) -> np.ndarray:
    """Absolute first symbol (in the 40 ms capture) of every transmitted SS block, int64."""
    nm = numerology(cfg.scs_hz)
    per_half_frame = nm["n_symbols"] // 8  # 5 ms half frames in 40 ms
    firsts = ssb_first_symbols(cfg.scs_hz, cfg.l_max)
    bursts = np.array([0, 4]) * per_half_frame  # 20 ms periodicity: half frames 0 and 4
    return (bursts[:, None] + firsts[None, :]).ravel()


def ssb_block(cfg: NRConfig, i_ssb: int, rng: np.random.Generator) -> np.ndarray:
    """One SS/PBCH block as a (4, 240) complex64 resource grid."""
    n_id1, n_id2 = divmod(cfg.n_id_cell, 3)
    block = np.zeros((4, 240), dtype=np.complex64)
    block[0, 56:183] = sequences.nr_pss(n_id2)
    block[2, 56:183] = sequences.nr_sss(n_id1, n_id2)
    pbch = np.zeros((4, 240), dtype=bool)
    pbch[[1, 3]] = True
    pbch[2, :48] = pbch[2, 192:] = True
    dmrs = pbch & ((np.arange(240) % 4) == cfg.n_id_cell % 4)[None, :]
    data = pbch & ~dmrs
    block[dmrs] = sequences.nr_pbch_dmrs(cfg.n_id_cell, i_ssb, l_max=cfg.l_max)
    block[data] = random_symbols(rng, "QPSK", (int(data.sum()),))
    return block


def build_grid(cfg: NRConfig, rng: np.random.Generator) -> np.ndarray:
    """The carrier's resource grid over 40 ms, complex64 (n_symbols, 12 * n_rb), unit power per used RE.

    Column j is subcarrier j of the carrier (lowest frequency first).
    """
    n_sym = numerology(cfg.scs_hz)["n_symbols"]
    n_slots, n_sc = n_sym // 14, cfg.n_subcarriers
    grid = random_symbols(rng, cfg.modulation, (n_slots, 14, n_sc))
    grid[:, :2] = random_symbols(rng, "QPSK", (n_slots, 2, n_sc))  # control region
    dmrs_symbols = [2, 11] if cfg.dmrs_additional else [2]
    per_frame = n_slots // 4  # the sequence depends on the slot number within a 10 ms frame: compute once
    slots = np.repeat(np.arange(per_frame), len(dmrs_symbols))
    syms = np.tile(dmrs_symbols, per_frame)
    dmrs = sequences.nr_dmrs(cfg.n_id_cell, slots, syms, n_sc // 2).reshape(per_frame, len(dmrs_symbols), -1)
    dmrs = np.tile(dmrs, (4, 1, 1))
    grid[:, dmrs_symbols, 0::2] = dmrs
    grid[:, dmrs_symbols, 1::2] = 0
    alloc = prb_allocation(rng, n_slots, cfg.n_rb, cfg.load)  # (n_slots, n_rb)
    grid *= np.repeat(alloc, 12, axis=1)[:, None, :]
    grid = grid.reshape(n_sym, n_sc)
    k0 = 12 * cfg.ssb_rb_offset
    for i, first in enumerate(ssb_symbol_indices(cfg)):
        grid[first : first + 4, k0 : k0 + 240] = ssb_block(cfg, i % cfg.l_max, rng)
    return grid


def subcarrier_bins(cfg: NRConfig, centre_bin: int) -> tuple[int, int]:
    """First and last FFT bin (relative to the capture centre, in SCS units) of the carrier's subcarriers."""
    half = cfg.n_subcarriers // 2
    return centre_bin - half, centre_bin + half - 1
