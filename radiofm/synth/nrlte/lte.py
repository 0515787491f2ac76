"""LTE downlink carrier (15 kHz, normal CP; FDD, TDD or FDD with MBSFN subframes) shaped by the 36.101 reference
channels.

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
- Frame structure (``frame_structure``; the list above is FDD, type 1, every subframe downlink):
  - ``tdd`` (type 2, §4.2): uplink-downlink configuration 0-6 (Table 4.2-2) and special subframe configuration
    0-9 (Table 4.2-1, normal CP: DwPTS of 3, 9, 10, 11, 12, 3, 9, 10, 11, 6 symbols). Uplink subframes and the
    guard period/UpPTS of special subframes are empty (a capture of the downlink; the NR TDD slots are treated
    alike in :mod:`~radiofm.synth.nrlte.nr`); the PSS moves to the third symbol of subframes 1 and 6
    (§6.11.1.2), the SSS to the last symbol of subframes 0 and 5 (§6.11.2.2); the control region of subframes 1
    and 6 has at most 2 symbols (Table 6.7-1) and a DwPTS of 3 symbols carries no PDSCH (36.213 §7.1.7).
  - ``mbsfn`` (FDD): 1-6 of the subframes 1, 2, 3, 6, 7, 8 that an MBSFN-SubframeConfig can name (36.331) are
    MBSFN subframes: only their non-MBSFN region (control and CRS, 1-2 symbols, 2 with four CRS ports or
    <= 10 RBs, Table 6.7-1) is sent; the MBSFN region is empty, as when an operator reserves it for NR in
    dynamic spectrum sharing (no PMCH is modelled).

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
- prb_set: matlab light load: for each subframe 0-9 of the frame its own set, PRBs 0, 1 plus 0-2 of PRBs 4-8;
  None otherwise [MATLAB helperSpecSenseLTESignal: PRBSet{p} per subframe].
- subframes_off: matlab otherwise: 1-8 of the 10 subframes without a transport block; None otherwise [MATLAB].
- profile, doppler_hz: EPA5, EVA5, EVA70, ETU70, ETU300 (matlab: EPA/EVA/ETU at 0, 10 or 500 Hz)
  [36.101 Annex B.2; MATLAB example].
- frame_structure: drawn last, from the mix given to :func:`draw_lte` (``radiofm generate nrlte --lte-frames``;
  the scene's default :data:`FRAME_MIX`: fdd 0.6, tdd 0.25, mbsfn 0.15 [ours; LTE bands 33-48 are TDD
  (36.101 Table 5.5-1), and DSS networks configure MBSFN subframes]); matlab: always FDD (the RMCs of the
  example are FDD); without a mix FDD and nothing drawn. tdd_config, special_config: uniform over 0-6 and
  0-9; mbsfn_subframes: 1-6 of the candidates, the count uniform [36.211 §4.2; 36.331 MBSFN-SubframeConfig].

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
# 36.211 Table 4.2-2: uplink-downlink configurations 0..6, subframes 0..9 (D downlink, S special, U uplink)
TDD_UL_DL = ("DSUUUDSUUU", "DSUUDDSUUD", "DSUDDDSUDD", "DSUUUDDDDD", "DSUUDDDDDD", "DSUDDDDDDD", "DSUUUDSUUD")
DWPTS_SYMBOLS = (3, 9, 10, 11, 12, 3, 9, 10, 11, 6)  # 36.211 Table 4.2-1, normal CP, special configurations 0..9
MBSFN_CANDIDATES = (1, 2, 3, 6, 7, 8)  # FDD subframes an MBSFN-SubframeConfig can name (36.331)
FRAME_MIX = {"fdd": 0.6, "tdd": 0.25, "mbsfn": 0.15}  # the scene's default frame-structure mix [ours]
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
    prb_set: list[list[int]] | None  # matlab light load: the PRBs of each subframe 0-9 of the frame
    subframes_off: list[int] | None  # matlab otherwise: subframes (0..9) without a transport block
    profile: str
    doppler_hz: float
    scs_hz: float = SCS_HZ
    frame_structure: str = "fdd"  # fdd, tdd or mbsfn (FDD with MBSFN subframes)
    tdd_config: int | None = None  # tdd: uplink-downlink configuration 0..6
    special_config: int | None = None  # tdd: special subframe configuration 0..9
    mbsfn_subframes: list[int] | None = None  # mbsfn: the MBSFN subframes of every radio frame

    @property
    def n_subcarriers(self) -> int:
        return 12 * self.n_rb

    @property
    def duplex(self) -> str:
        return "TDD" if self.frame_structure == "tdd" else "FDD"

    def subframe_pattern(self) -> str:
        """The radio frame's subframes 0..9: D downlink, S special, U uplink, M MBSFN."""
        if self.frame_structure == "tdd":
            return TDD_UL_DL[self.tdd_config]
        mbsfn = set(self.mbsfn_subframes or ())
        return "".join("M" if sf in mbsfn else "D" for sf in range(10))

    def to_dict(self) -> dict:
        extra = {} if self.frame_structure == "fdd" else {"subframe_pattern": self.subframe_pattern()}
        return asdict(self) | {"duplex": self.duplex} | extra


def rmc_cfi(n_rb: int) -> int:
    """The reference channels' CFI, 36.101 Table A.3.3.1-1 note 1."""
    return 4 if n_rb <= 10 else 3 if n_rb <= 25 else 2


def frame_mix(names=None) -> dict[str, float]:
    """{frame structure: probability} for ``names`` (a sequence or comma list of "fdd", "tdd", "mbsfn"; None = all):
    :data:`FRAME_MIX` renormalised over them. Unknown names -> ValueError (users' names are checked, with a
    one-line message, where they enter: :mod:`radiofm.data.nrlte`)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    names = list(FRAME_MIX) if names is None else list(dict.fromkeys(names))
    if not names or any(n not in FRAME_MIX for n in names):
        raise ValueError(f"frame structures must be some of {tuple(FRAME_MIX)}, got {names!r}")
    total = sum(FRAME_MIX[n] for n in names)
    return {n: FRAME_MIX[n] / total for n in FRAME_MIX if n in names}


def draw_lte(
    rng: np.random.Generator,
    *,
    traffic_regime: str = "random",
    max_bandwidth_mhz: float = 20,
    frames: dict[str, float] | None = None,
) -> LTEConfig:
    """Draw a random LTE carrier within the bandwidth for a grid regime (see the knob table).

    ``frames``: {frame structure: probability} (:func:`frame_mix`) to draw the frame structure from, last; None,
    FDD alone or the matlab regime: FDD, drawing nothing more (the carriers as before frame structures existed).
    """
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
            prb_set = []
            for _ in range(10):  # the helper's randi([4 8], randi([0 2]), 1): repeats merge
                extra = rng.integers(4, 9, size=int(rng.integers(0, 3)))
                prb_set.append(sorted({0, 1, *(int(k) for k in extra)}))
            load = float(np.mean([len(p) for p in prb_set])) / n_rb * 0.9
        else:
            subframes_off = sorted(int(k) for k in rng.choice(10, size=int(rng.integers(1, 9)), replace=False))
            load = (10 - len(set(subframes_off) | {5})) / 10
    else:
        load = {"random": float(rng.uniform(0.2, 1.0)), "full": 1.0, "idle": 0.0}[traffic_regime]
    cfg = LTEConfig(
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
    if frames is None or matlab or list(frames) == ["fdd"]:
        return cfg
    return draw_frame_structure(cfg, rng, frames)


def draw_frame_structure(cfg: LTEConfig, rng: np.random.Generator, frames: dict[str, float]) -> LTEConfig:
    """``cfg`` (changed in place and returned) with a frame structure drawn from ``frames`` and its knobs."""
    names = list(frames)
    structure = names[int(rng.choice(len(names), p=[frames[n] for n in names]))]
    cfg.frame_structure = structure
    if structure == "tdd":
        cfg.tdd_config = int(rng.integers(len(TDD_UL_DL)))
        cfg.special_config = int(rng.integers(len(DWPTS_SYMBOLS)))
    elif structure == "mbsfn":
        count = int(rng.integers(1, len(MBSFN_CANDIDATES) + 1))
        cfg.mbsfn_subframes = sorted(int(k) for k in rng.choice(MBSFN_CANDIDATES, size=count, replace=False))
    return cfg


def control_symbols(cfg: LTEConfig) -> np.ndarray:
    """Control-region length of each subframe of a radio frame, int (10,): the CFI in downlink subframes, at most
    2 in MBSFN subframes and, in TDD, in subframes 1 and 6 (special or downlink: the PSS is on their third
    symbol) (2 at <= 10 RBs; MBSFN: also 2 with four CRS ports), 0 in uplink ones (36.211 Table 6.7-1)."""
    two = 2 if cfg.n_rb <= 10 else min(cfg.cfi, 2)
    sizes = {"D": cfg.cfi, "S": two, "M": 2 if cfg.crs_ports == 4 else two, "U": 0}
    out = np.array([sizes[c] for c in cfg.subframe_pattern()])
    if cfg.frame_structure == "tdd":
        out[[1, 6]] = np.minimum(out[[1, 6]], two)
    return out


def downlink_rows(cfg: LTEConfig) -> np.ndarray:
    """Symbols the cell may send in, bool (n_symbols,) over 40 ms (its own frame timing): all of a downlink
    subframe, the DwPTS of a special one, the non-MBSFN region of an MBSFN one, nothing of an uplink one."""
    ctrl = control_symbols(cfg)
    sent = {"D": 14, "U": 0, "S": DWPTS_SYMBOLS[cfg.special_config or 0]}
    per_sf = np.array([ctrl[sf] if c == "M" else sent[c] for sf, c in enumerate(cfg.subframe_pattern())])
    rows = np.arange(14)[None, :] < per_sf[:, None]  # (10, 14)
    return np.tile(rows.ravel(), numerology(SCS_HZ)["n_symbols"] // 140)


def sync_rows(cfg: LTEConfig) -> tuple[tuple[int, int, int], ...]:
    """(SSS row, PSS row, subframe of the SSS) within a radio frame, twice per frame: FDD the last two symbols of
    slots 0 and 10; TDD the SSS on the last symbol of subframes 0 and 5, the PSS on the third of 1 and 6."""
    if cfg.frame_structure == "tdd":
        return ((13, 16, 0), (83, 86, 5))
    return ((5, 6, 0), (75, 76, 5))


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
    if cfg.prb_set is not None:  # each subframe of the frame its own PRBs
        rbs = np.stack([np.isin(np.arange(cfg.n_rb), cfg.prb_set[k]) for k in subframe])
        return on[:, None] & rbs
    on &= ~np.isin(subframe, cfg.subframes_off)
    return np.repeat(on[:, None], cfg.n_rb, axis=1)


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
    if cfg.frame_structure != "fdd":
        _short_subframes(grid, cfg, alloc, rng)
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
        for sss_row, pss_row, sf in sync_rows(cfg):
            grid[[base + sss_row, base + pss_row], c0 : c0 + 72] = 0
            grid[base + sss_row, c0 + 5 : c0 + 67] = sequences.lte_sss(n_id1, n_id2, sf)
            grid[base + pss_row, c0 + 5 : c0 + 67] = pss
        block = random_symbols(rng, "QPSK", (4, 72))
        block[:2, reserved] = 0
        grid[base + 7 : base + 11, c0 : c0 + 72] = block  # slot 1, symbols 0..3
    rows, cols, vals = crs_mask_and_values(cfg)
    grid[rows, cols] = vals * np.float32(10 ** (cfg.crs_boost_db / 20))
    if cfg.frame_structure != "fdd":
        grid[~downlink_rows(cfg)] = 0  # uplink, guard period and UpPTS, MBSFN regions
    return grid


def _short_subframes(grid: np.ndarray, cfg: LTEConfig, alloc: np.ndarray, rng: np.random.Generator) -> None:
    """In place on the (n_subframes, 14, n_sc) grid of downlink-subframe layout: where a subframe's control region
    is shorter than the CFI (:func:`control_symbols`: special subframes, TDD subframe 6), the symbols up to the
    CFI carry its PDSCH, none in a 3-symbol DwPTS; an MBSFN subframe keeps only its control region (its CRS are
    written later, the rest blanked after)."""
    ctrl = control_symbols(cfg)
    for sf, kind in enumerate(cfg.subframe_pattern() * (grid.shape[0] // 10)):
        lo = int(ctrl[sf % 10])
        if kind == "M":
            grid[sf, min(lo, cfg.cfi) :] = 0
        elif kind == "S" and DWPTS_SYMBOLS[cfg.special_config] == 3:
            grid[sf, lo:] = 0  # no PDSCH in a 3-symbol DwPTS (the PSS is written later)
        elif kind in "SD" and cfg.cfi > lo:  # a special subframe, or TDD subframe 6 when downlink
            rbs = np.repeat(alloc[sf], 12)
            grid[sf, lo : cfg.cfi] = random_symbols(rng, cfg.modulation, (cfg.cfi - lo, grid.shape[2])) * rbs


def reference_mask(cfg: LTEConfig) -> np.ndarray:
    """REs an idle cell may occupy: control region, CRS, PSS/SSS and PBCH, bool (n_symbols, n_sc)."""
    n_sym = numerology(SCS_HZ)["n_symbols"]
    ctrl = np.tile(control_symbols(cfg), n_sym // 140)
    mask = np.arange(14)[None, :, None] < ctrl[:, None, None]  # (n_subframes, 14, 1)
    mask = np.broadcast_to(mask, (n_sym // 14, 14, cfg.n_subcarriers)).reshape(n_sym, -1).copy()
    rows, cols, _ = crs_mask_and_values(cfg)
    mask[rows, cols] = True
    c0 = 6 * cfg.n_rb - 36
    sync = [row for pair in sync_rows(cfg) for row in pair[:2]]
    for base in range(0, n_sym, 140):
        for row in (*sync, *range(7, 11)):
            mask[base + row, c0 : c0 + 72] = True
    return mask & downlink_rows(cfg)[:, None]


def subcarrier_bins(cfg: LTEConfig, centre_bin: int) -> np.ndarray:
    """FFT bins (relative to the capture centre, in 15 kHz units) of the carrier's columns, int64 (12 n_rb,)."""
    half = cfg.n_subcarriers // 2
    j = np.arange(cfg.n_subcarriers)
    return centre_bin + np.where(j < half, j - half, j - half + 1)
