"""LTE FDD downlink carrier (frame structure type 1, 15 kHz, normal CP) shaped by the 36.101 reference channels.

What is modelled, per 36.211 unless noted:

- 12 N_RB subcarriers with the DC subcarrier left empty (§6.12): N_RB/2 RBs below DC, N_RB/2 above.
- Cell-specific reference signals (§6.10.1) for 1 or 2 antenna ports, symbols 0 and 4 of every slot, every 6th
  subcarrier with v_shift = N_ID_cell mod 6 (port 0: v = 0 on symbol 0, 3 on symbol 4; port 1 the reverse).
  The two ports' signals are summed into the one emitted waveform.
- PSS (Zadoff-Chu, §6.11.1) on the last symbol and SSS (§6.11.2) on the one before it, slots 0 and 10 of every
  radio frame, the 62 subcarriers around DC (5 reserved each side); PBCH on symbols 0-3 of slot 1, the 72
  central subcarriers, rate-matched around the CRS of up to four ports.
- Control region (PCFICH/PHICH/PDCCH as random QPSK) on the first CFI symbols of each subframe across the
  whole carrier, CFI per 36.101 Table A.3.3.1-1 note 1 (4 at 1.4 MHz, 3 at 3/5 MHz, 2 at >= 10 MHz).
- PDSCH per the reference channel below: its modulation, allocated in 9 subframes of 10 (none in subframe 5),
  on the remaining symbols, skipping CRS, sync and PBCH resource elements. The RMCs allocate every RB; we vary
  the PRB load per carrier in [0.2, 1.0] (the scheduled PRBs change every subframe) to get the load variation
  the segmentation task needs.

36.101 Annex A.3.3.1 (FDD, single-antenna CRS) reference channels used here (Tables A.3.3.1-1 QPSK R=1/3,
-2 16QAM R=1/2, -3 64QAM R=3/4; the same set as MATLAB's ``lteRMCDL`` R.2-R.9):

| RC | bandwidth | RBs | modulation |
|---|---|---|---|
| R.4 | 1.4 MHz | 6 | QPSK |
| R.2 | 10 MHz | 50 | QPSK |
| R.3 | 10 MHz | 50 | 16QAM |
| R.5 | 3 MHz | 15 | 64QAM |
| R.6 | 5 MHz | 25 | 64QAM |
| R.7 | 10 MHz | 50 | 64QAM |
| R.8 | 15 MHz | 75 | 64QAM |
| R.9 | 20 MHz | 100 | 64QAM |

Paper A names R.2/R.4/R.6/R.8; we draw from this whole family so that all six LTE bandwidths (1.4, 3, 5, 10,
15, 20 MHz -> 6, 15, 25, 50, 75, 100 RB, 36.101 Table 5.6-1) appear.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from radiofm.synth.nrlte import sequences
from radiofm.synth.nrlte.ofdm import numerology, prb_allocation, random_symbols

# reference channel -> (channel bandwidth MHz, allocated RBs = N_RB, PDSCH modulation)
REFERENCE_CHANNELS = {
    "R.4": (1.4, 6, "QPSK"),
    "R.2": (10.0, 50, "QPSK"),
    "R.3": (10.0, 50, "16QAM"),
    "R.5": (3.0, 15, "64QAM"),
    "R.6": (5.0, 25, "64QAM"),
    "R.7": (10.0, 50, "64QAM"),
    "R.8": (15.0, 75, "64QAM"),
    "R.9": (20.0, 100, "64QAM"),
}
# 36.101 Annex B.2: the LTE fading conditions used in performance tests (profile, maximum Doppler Hz)
LTE_CHANNELS = (("EPA", 5.0), ("EVA", 5.0), ("EVA", 70.0), ("ETU", 70.0), ("ETU", 300.0))
SCS_HZ = 15e3


@dataclass
class LTEConfig:
    """One LTE carrier's random configuration (all JSON-serialisable)."""

    reference_channel: str
    bandwidth_mhz: float
    n_rb: int
    modulation: str
    n_id_cell: int
    n_ports: int
    cfi: int
    load: float
    profile: str
    doppler_hz: float
    scs_hz: float = SCS_HZ

    @property
    def n_subcarriers(self) -> int:
        return 12 * self.n_rb

    def to_dict(self) -> dict:
        return asdict(self)


def draw_lte(rng: np.random.Generator, *, max_bandwidth_mhz: float = 20) -> LTEConfig:
    """Draw a random LTE carrier (a reference channel, cell identity, ports, load, fading) within the bandwidth."""
    names = [rc for rc, (bw, _, _) in REFERENCE_CHANNELS.items() if bw <= max_bandwidth_mhz]
    rc = str(rng.choice(names))
    bw, n_rb, mod = REFERENCE_CHANNELS[rc]
    profile, doppler = LTE_CHANNELS[int(rng.integers(len(LTE_CHANNELS)))]
    return LTEConfig(
        reference_channel=rc,
        bandwidth_mhz=bw,
        n_rb=n_rb,
        modulation=mod,
        n_id_cell=int(rng.integers(0, 504)),
        n_ports=int(rng.integers(1, 3)),
        cfi=4 if n_rb <= 10 else 3 if n_rb <= 25 else 2,
        load=float(rng.uniform(0.2, 1.0)),
        profile=profile,
        doppler_hz=doppler,
    )


def crs_mask_and_values(cfg: LTEConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CRS positions over 40 ms: (rows (R,), cols (R,), values (R,)) into the (n_symbols, n_sc) grid."""
    n_slots = numerology(SCS_HZ)["n_symbols"] // 7
    v_shift = cfg.n_id_cell % 6
    m = np.arange(2 * cfg.n_rb)
    slots = np.repeat(np.arange(n_slots), 2)
    syms = np.tile([0, 4], n_slots)
    values = sequences.lte_crs(cfg.n_id_cell, slots[:40], syms[:40], cfg.n_rb)  # one radio frame (20 slots)
    values = np.tile(values, (n_slots // 20, 1))  # (2 n_slots, 2 n_rb)
    rows, cols, vals = [], [], []
    for port in range(cfg.n_ports):
        v = np.where(syms == 0, 0, 3) if port == 0 else np.where(syms == 0, 3, 0)  # (2 n_slots,)
        k = 6 * m[None, :] + ((v + v_shift) % 6)[:, None]  # (2 n_slots, 2 n_rb)
        rows.append(np.broadcast_to((7 * slots + syms)[:, None], k.shape).ravel())
        cols.append(k.ravel())
        vals.append(values.ravel())
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def build_grid(cfg: LTEConfig, rng: np.random.Generator) -> np.ndarray:
    """The carrier's resource grid over 40 ms, complex64 (n_symbols, 12 * n_rb), DC not included.

    Column j is subcarrier j (lowest first); the DC gap lies between columns 6 n_rb - 1 and 6 n_rb.
    """
    n_sym = numerology(SCS_HZ)["n_symbols"]
    n_sf, n_sc, n_rb = n_sym // 14, cfg.n_subcarriers, cfg.n_rb
    grid = random_symbols(rng, cfg.modulation, (n_sf, 14, n_sc))
    alloc = prb_allocation(rng, n_sf, n_rb, cfg.load)  # (n_sf, n_rb)
    alloc[np.arange(n_sf) % 10 == 5] = False  # RMC: no PDSCH in subframe 5
    grid *= np.repeat(alloc, 12, axis=1)[:, None, :]
    grid[:, : cfg.cfi] = random_symbols(rng, "QPSK", (n_sf, cfg.cfi, n_sc))  # control region, full band
    grid = grid.reshape(n_sym, n_sc)
    # CRS: empty every position of both ports' patterns first (port 1's positions are reserved on 2 ports)
    v_shift = cfg.n_id_cell % 6
    crs_cols = (np.arange(n_sc) % 3) == (v_shift % 3)
    rs_rows = (np.arange(n_sym) % 7 == 0) | (np.arange(n_sym) % 7 == 4)
    grid[np.ix_(rs_rows, crs_cols)] = 0
    rows, cols, vals = crs_mask_and_values(cfg)
    grid[rows, cols] = vals
    # sync and broadcast on the 72 central subcarriers of every radio frame
    c0 = 6 * n_rb - 36
    n_id1, n_id2 = divmod(cfg.n_id_cell, 3)
    pss, central = sequences.lte_pss(n_id2), np.arange(c0, c0 + 72)
    for frame in range(n_sym // 140):
        base = 140 * frame
        for sf in (0, 5):
            row = base + 14 * sf
            grid[row + 5, c0 : c0 + 72] = 0
            grid[row + 6, c0 : c0 + 72] = 0
            grid[row + 5, c0 + 5 : c0 + 67] = sequences.lte_sss(n_id1, n_id2, sf)
            grid[row + 6, c0 + 5 : c0 + 67] = pss
        pbch_rows = base + 7 + np.arange(4)  # slot 1, symbols 0..3
        block = random_symbols(rng, "QPSK", (4, 72))
        reserved = (central % 3) == (v_shift % 3)
        block[0, reserved] = grid[pbch_rows[0], central[reserved]]  # keep the CRS (or the reserved gap)
        block[1, reserved] = 0  # ports 2/3 CRS positions: reserved
        grid[np.ix_(pbch_rows, central)] = block
    return grid


def subcarrier_bins(cfg: LTEConfig, centre_bin: int) -> np.ndarray:
    """FFT bins (relative to the capture centre, in 15 kHz units) of the carrier's columns, int64 (12 n_rb,)."""
    half = cfg.n_subcarriers // 2
    j = np.arange(cfg.n_subcarriers)
    return centre_bin + np.where(j < half, j - half, j - half + 1)
