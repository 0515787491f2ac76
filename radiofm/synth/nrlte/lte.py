"""LTE FDD downlink carrier (frame structure type 1, 15 kHz, normal CP) shaped by the 36.101 reference channels.

What is modelled, per 36.211 unless noted (every traffic regime renders all of it; see
:mod:`~radiofm.synth.nrlte.traffic` for the PDSCH schedules):

- 12 N_RB subcarriers with the DC subcarrier left empty (§6.12): N_RB/2 RBs below DC, N_RB/2 above; the
  occupied band is 90 % of the channel (1.4 MHz: 77 %), 36.101 Table 5.6-1.
- Cell-specific reference signals (§6.10.1) for 1, 2 or 4 antenna ports, every 6th subcarrier with
  v_shift = N_ID_cell mod 6: ports 0/1 on symbols 0 and 4 of every slot (port 0: v = 0 on symbol 0, 3 on
  symbol 4; port 1 the reverse), ports 2/3 on symbol 1 (v = 3 (n_s mod 2) and 3 + 3 (n_s mod 2)). The ports'
  signals are summed into the one emitted waveform; CRS REs are boosted by ``crs_boost_db`` over PDSCH.
- PSS (Zadoff-Chu, §6.11.1) on the last symbol and SSS (§6.11.2) on the one before it, slots 0 and 10 of every
  radio frame, the 62 subcarriers around DC (5 reserved each side); PBCH on symbols 0-3 of slot 1, the 72
  central subcarriers, rate-matched around the CRS of four ports (§6.6.4).
- Control region (PCFICH/PHICH/PDCCH as random QPSK) on the first CFI symbols of every subframe across the
  whole carrier (on symbol 0 of a one-port cell the port-1 CRS positions stay empty, §6.2.4).
- PDSCH on the remaining symbols of the scheduled PRBs, skipping CRS, sync and PBCH resource elements, with the
  reference channel's modulation; which PRBs in which subframe is the traffic regime's.

Knobs drawn per carrier (``draw_lte``; all recorded in the carrier metadata):

- reference_channel (-> bandwidth_mhz, n_rb, modulation): the table below; matlab: R.2, R.6, R.8 or R.9
  [36.101 A.3.3.1; MATLAB example].
- n_id_cell: 0..503 [36.211 §6.11].
- traffic, load: the grid regime; load U(0.2, 1) random, 1 full, 0 idle, the RMC pattern's share matlab [traffic].
- time_shift_symbols: 0, 7, .. 553, a circular shift of the frame by whole slots (a random time shift of the
  waveform in the MATLAB example; whole slots keep the PSS in the last symbol of a slot, the CRS on symbols 0
  and 4 and every CP its length, as a receiver expects) [MATLAB example; ours elsewhere].
- crs_ports: 1, 2 or 4 (matlab: 1) [36.211 §6.10.1].
- crs_boost_db: -P_A, one of -3, -2, -1, 0, 1.77, 3, 4.77, 6 dB (matlab: 0) [36.213 §5.2].
- cfi: 1..3 (2..4 at 6 RB); matlab: the RMC's, 4 at 1.4 MHz, 3 at 3/5 MHz, 2 at >= 10 MHz [36.211 Table 6.7-1;
  36.101 Table A.3.3.1-1 note 1].
- prb_set: matlab light load: PRBs 0, 1 plus 0-2 of PRBs 4-8; None otherwise [MATLAB example].
- subframes_off: matlab otherwise: 1-8 of the 10 subframes without a transport block; None otherwise [MATLAB].
- profile, doppler_hz: EPA5, EVA5, EVA70, ETU70, ETU300 (matlab: EPA/EVA/ETU at 0, 10 or 500 Hz)
  [36.101 Annex B.2; MATLAB example].

36.101 Annex A.3.3.1 (FDD, single-antenna CRS) reference channels used here (Tables A.3.3.1-1 QPSK R=1/3,
-2 16QAM R=1/2, -3 64QAM R=3/4; the same set as MATLAB's ``lteRMCDL`` R.2-R.9). The RMCs carry no PDSCH in
subframe 5; the matlab regime keeps that, the others (live-network traffic) do not.

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

from radiofm.synth.nrlte import sequences, traffic
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
MATLAB_REFERENCE_CHANNELS = ("R.2", "R.6", "R.8", "R.9")
# 36.101 Annex B.2: the LTE fading conditions used in performance tests (profile, maximum Doppler Hz)
LTE_CHANNELS = (("EPA", 5.0), ("EVA", 5.0), ("EVA", 70.0), ("ETU", 70.0), ("ETU", 300.0))
MATLAB_DOPPLERS_HZ = (0.0, 10.0, 500.0)
CRS_BOOSTS_DB = (-3.0, -2.0, -1.0, 0.0, 1.77, 3.0, 4.77, 6.0)  # -P_A, 36.213 §5.2
SCS_HZ = 15e3
# CRS (port, symbol l of the slot, v in even slots, v in odd slots), 36.211 §6.10.1.2; ports 0-1 first, then 2-3
_CRS_PATTERNS = ((0, 0, 0, 0), (0, 4, 3, 3), (1, 0, 3, 3), (1, 4, 0, 0), (2, 1, 0, 3), (3, 1, 3, 6))


@dataclass
class LTEConfig:
    """One LTE carrier's random configuration (all JSON-serialisable; see the module's knob table)."""

    reference_channel: str
    bandwidth_mhz: float
    n_rb: int
    modulation: str
    n_id_cell: int
    traffic: str  # grid regime: random, matlab, full or idle
    load: float  # mean fraction of (subframe, PRB) pairs with PDSCH
    time_shift_symbols: int
    crs_ports: int
    crs_boost_db: float
    cfi: int
    prb_set: list[int] | None  # matlab light load: the PRBs of every subframe
    subframes_off: list[int] | None  # matlab otherwise: subframes (0..9) without a transport block
    profile: str
    doppler_hz: float
    scs_hz: float = SCS_HZ

    @property
    def n_subcarriers(self) -> int:
        return 12 * self.n_rb

    def to_dict(self) -> dict:
        return asdict(self)


def rmc_cfi(n_rb: int) -> int:
    """The reference channels' CFI, 36.101 Table A.3.3.1-1 note 1."""
    return 4 if n_rb <= 10 else 3 if n_rb <= 25 else 2


def draw_lte(rng: np.random.Generator, *, traffic_regime: str = "random", max_bandwidth_mhz: float = 20) -> LTEConfig:
    """Draw a random LTE carrier within the bandwidth for a grid regime (see the knob table)."""
    if traffic_regime not in traffic.GRID_REGIMES:
        raise ValueError(f"grid regime must be one of {traffic.GRID_REGIMES}, got {traffic_regime!r}")
    matlab = traffic_regime == "matlab"
    family = MATLAB_REFERENCE_CHANNELS if matlab else tuple(REFERENCE_CHANNELS)
    rc = str(rng.choice([rc for rc in family if REFERENCE_CHANNELS[rc][0] <= max_bandwidth_mhz]))
    bw, n_rb, mod = REFERENCE_CHANNELS[rc]
    profile, doppler = LTE_CHANNELS[int(rng.integers(len(LTE_CHANNELS)))]
    prb_set = subframes_off = None
    if matlab:
        doppler = float(rng.choice(MATLAB_DOPPLERS_HZ))
        if rng.random() < 0.5:  # light load
            extra = rng.choice(np.arange(4, 9), size=int(rng.integers(0, 3)), replace=False)
            prb_set = sorted([0, 1, *(int(k) for k in extra)])
            load = len(prb_set) / n_rb * 0.9
        else:
            subframes_off = sorted(int(k) for k in rng.choice(10, size=int(rng.integers(1, 9)), replace=False))
            load = (10 - len(set(subframes_off) | {5})) / 10
    else:
        load = {"random": float(rng.uniform(0.2, 1.0)), "full": 1.0, "idle": 0.0}[traffic_regime]
    return LTEConfig(
        reference_channel=rc,
        bandwidth_mhz=bw,
        n_rb=n_rb,
        modulation=mod,
        n_id_cell=int(rng.integers(0, 504)),
        traffic=traffic_regime,
        load=float(load),
        time_shift_symbols=7 * int(rng.integers(0, numerology(SCS_HZ)["n_symbols"] // 7)),  # whole slots
        crs_ports=1 if matlab else int(rng.choice([1, 2, 4])),
        crs_boost_db=0.0 if matlab else float(rng.choice(CRS_BOOSTS_DB)),
        cfi=rmc_cfi(n_rb) if matlab else int(rng.integers(1, 4)) + int(n_rb <= 10),
        prb_set=prb_set,
        subframes_off=subframes_off,
        profile=profile,
        doppler_hz=float(doppler),
    )


def pdsch_allocation(cfg: LTEConfig, rng: np.random.Generator) -> np.ndarray:
    """PRBs with PDSCH (or OCNG) in each subframe, bool (n_subframes, n_rb)."""
    n_sf = numerology(SCS_HZ)["n_symbols"] // 14
    if cfg.traffic == "idle":
        return np.zeros((n_sf, cfg.n_rb), dtype=bool)
    if cfg.traffic == "full":
        return np.ones((n_sf, cfg.n_rb), dtype=bool)
    if cfg.traffic == "random":
        return prb_allocation(rng, n_sf, cfg.n_rb, cfg.load)
    subframe = np.arange(n_sf) % 10
    on = subframe != 5  # the RMCs: no PDSCH in subframe 5
    rbs = np.ones(cfg.n_rb, dtype=bool)
    if cfg.prb_set is not None:
        rbs = np.isin(np.arange(cfg.n_rb), cfg.prb_set)
    else:
        on &= ~np.isin(subframe, cfg.subframes_off)
    return on[:, None] & rbs[None, :]


def crs_mask_and_values(cfg: LTEConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CRS of all ports over 40 ms: (rows (R,), cols (R,), values (R,)) into the (n_symbols, n_sc) grid.

    Values are unit-power QPSK (the boost is applied by :func:`build_grid`).
    """
    n_slots = numerology(SCS_HZ)["n_symbols"] // 7
    v_shift = cfg.n_id_cell % 6
    m = np.arange(2 * cfg.n_rb)
    rows, cols, vals = [], [], []
    slots = np.arange(n_slots)
    for _port, sym, v_even, v_odd in _CRS_PATTERNS[: {1: 2, 2: 4, 4: 6}[cfg.crs_ports]]:
        values = sequences.lte_crs(cfg.n_id_cell, np.arange(20), np.full(20, sym), cfg.n_rb)  # one frame
        values = np.tile(values, (n_slots // 20, 1))  # (n_slots, 2 n_rb)
        v = np.where(slots % 2 == 0, v_even, v_odd)
        k = 6 * m[None, :] + ((v + v_shift) % 6)[:, None]  # (n_slots, 2 n_rb)
        rows.append(np.broadcast_to((7 * slots + sym)[:, None], k.shape).ravel())
        cols.append(k.ravel())
        vals.append(values.ravel())
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def build_grid(cfg: LTEConfig, rng: np.random.Generator) -> np.ndarray:
    """The carrier's resource grid over 40 ms (its own frame timing), complex64 (n_symbols, 12 * n_rb), no DC.

    Column j is subcarrier j (lowest first); the DC gap lies between columns 6 n_rb - 1 and 6 n_rb.
    A PDSCH RE has power 1.
    """
    n_sym = numerology(SCS_HZ)["n_symbols"]
    n_sf, n_sc, n_rb, cfi = n_sym // 14, cfg.n_subcarriers, cfg.n_rb, cfg.cfi
    grid = np.zeros((n_sf, 14, n_sc), dtype=np.complex64)
    alloc = pdsch_allocation(cfg, rng)
    used = np.flatnonzero(alloc.any(axis=1))
    if len(used):
        data = random_symbols(rng, cfg.modulation, (len(used), 14 - cfi, n_sc))
        data *= np.repeat(alloc[used], 12, axis=1)[:, None, :]
        grid[used, cfi:] = data
    grid[:, :cfi] = random_symbols(rng, "QPSK", (n_sf, cfi, n_sc))  # control region, full band
    grid = grid.reshape(n_sym, n_sc)
    v_shift = cfg.n_id_cell % 6
    if cfg.crs_ports == 1:  # REGs on symbol 0 are defined around two ports' CRS
        grid[np.ix_(np.arange(0, n_sym, 14), np.flatnonzero(np.arange(n_sc) % 3 == v_shift % 3))] = 0
    # sync and broadcast on the 72 central subcarriers of every radio frame
    c0 = 6 * n_rb - 36
    n_id1, n_id2 = divmod(cfg.n_id_cell, 3)
    pss = sequences.lte_pss(n_id2)
    reserved = (np.arange(c0, c0 + 72) % 3) == (v_shift % 3)  # CRS positions of four ports on l = 0, 1
    for frame in range(n_sym // 140):
        base = 140 * frame
        for sf in (0, 5):
            row = base + 14 * sf
            grid[row + 5 : row + 7, c0 : c0 + 72] = 0
            grid[row + 5, c0 + 5 : c0 + 67] = sequences.lte_sss(n_id1, n_id2, sf)
            grid[row + 6, c0 + 5 : c0 + 67] = pss
        block = random_symbols(rng, "QPSK", (4, 72))
        block[:2, reserved] = 0
        grid[base + 7 : base + 11, c0 : c0 + 72] = block  # slot 1, symbols 0..3
    rows, cols, vals = crs_mask_and_values(cfg)
    grid[rows, cols] = vals * np.float32(10 ** (cfg.crs_boost_db / 20))
    return grid


def reference_mask(cfg: LTEConfig) -> np.ndarray:
    """REs an idle cell may occupy: control region, CRS, PSS/SSS and PBCH, bool (n_symbols, n_sc)."""
    n_sym = numerology(SCS_HZ)["n_symbols"]
    mask = np.zeros((n_sym // 14, 14, cfg.n_subcarriers), dtype=bool)
    mask[:, : cfg.cfi] = True
    mask = mask.reshape(n_sym, -1)
    rows, cols, _ = crs_mask_and_values(cfg)
    mask[rows, cols] = True
    c0 = 6 * cfg.n_rb - 36
    for base in range(0, n_sym, 140):
        for row in (base + 5, base + 6, base + 75, base + 76, *range(base + 7, base + 11)):
            mask[row, c0 : c0 + 72] = True
    return mask


def subcarrier_bins(cfg: LTEConfig, centre_bin: int) -> np.ndarray:
    """FFT bins (relative to the capture centre, in 15 kHz units) of the carrier's columns, int64 (12 n_rb,)."""
    half = cfg.n_subcarriers // 2
    j = np.arange(cfg.n_subcarriers)
    return centre_bin + np.where(j < half, j - half, j - half + 1)
