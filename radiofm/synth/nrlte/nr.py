"""5G NR downlink carrier (FR1, SCS 15/30 kHz): SS/PBCH bursts, PDCCH CORESET, PDSCH with DMRS, TDD.

What is modelled, per 38.211 unless noted (every traffic regime renders all of it; see
:mod:`~radiofm.synth.nrlte.traffic` for the PDSCH schedules):

- Bandwidth -> N_RB from 38.101-1 Table 5.3.2-1 (maximum transmission bandwidth configuration, 90-98 % of the
  channel). 30 kHz at 5 MHz (11 RB) is left out: it cannot hold a 20-RB SS block. No DC null (unlike LTE).
- SS/PBCH block (§7.4.3.1): 4 symbols x 240 subcarriers; PSS on symbol 0 and SSS on symbol 2, subcarriers
  56..182; PBCH on symbols 1 and 3 (all 240) and symbol 2 (0..47, 192..239), its DMRS on every 4th subcarrier
  offset by N_ID_cell mod 4 (§7.4.3.1.3); PBCH payload random QPSK. Burst positions (38.213 §4.1): case A
  (15 kHz) and case C (30 kHz) first symbols {2, 8} + 14n, case B (30 kHz) {4, 8, 16, 20} + 28n, L = 4 or 8
  candidate blocks in the first half frame of every SSB period, only those in the transmitted-block bitmap
  sent; blocks that would touch a non-downlink TDD symbol are not sent. PDSCH is rate-matched around the SSB.
- PDCCH: a CORESET of 6-RB groups (38.211 §7.3.2.2) over part of the band on the first 1-3 symbols of every
  downlink slot; each CCE group is used with probability ``pdcch_load`` per slot (at least one per slot);
  QPSK with its DMRS on subcarriers 1, 5, 9 of every RB (§7.4.1.3.2).
- PDSCH mapping type A from the symbol after the CORESET to 13; DMRS configuration type 1, port 1000 (even
  subcarriers, §7.4.1.1.2) at dmrs-TypeA-Position (symbol 2 or 3) plus 0-3 additional positions (Table
  7.4.1.1.2-3, PDSCH to symbol 13: {11}, {7, 11}, {5, 8, 11}); with 2 CDM groups without data the odd
  subcarriers of DMRS symbols stay empty and DMRS is 3 dB above PDSCH (38.214 Table 4.1-1).
- TDD (30 kHz only): a common pattern (38.331 TDD-UL-DL-ConfigCommon, e.g. DDDSU); uplink slots and the
  guard/uplink part of special slots stay empty (the capture is of the downlink).

Knobs drawn per carrier (``draw_nr``; all recorded in the carrier metadata):

- scs_hz, bandwidth_mhz, n_rb: 15 or 30 kHz; a 38.101-1 Table 5.3.2-1 bandwidth <= 50 MHz [38.101-1]; matlab:
  10-50 MHz, the example's 10, 15, 20, 25, 30, 40 or 50 [MATLAB helperSpecSenseTrainingData].
- n_id_cell: 0..1007 [38.211 §7.4.2.1].
- traffic, load: the grid regime; load U(0.2, 1) random, 1 full, 0 idle, slot share x RB share matlab [traffic].
- time_shift_symbols: a circular shift of the frame by whole slots (0, 14, .. n_symbols - 14 symbols): the
  MATLAB example rotates each waveform by a random time; a shift by whole slots keeps every symbol's CP length
  and the slot structure a receiver relies on (a shift by single symbols would put long CPs mid-slot)
  [MATLAB example; ours elsewhere].
- tdd_pattern: 30 kHz outside matlab: p = 0.6 one of DDDSU, DDDDDDDSUU, DDDSUDDSUU, DDSUU, else FDD (None)
  [38.331 TDD-UL-DL-ConfigCommon; common n77/n78 deployments].
- tdd_special_dl_symbols: 6, 10 or 12 downlink symbols in the S slot [38.213 Table 11.1.1-1 slot formats].
- ssb_case: A at 15 kHz; C at 30 kHz TDD; B or C at 30 kHz FDD (matlab: B) [38.213 §4.1, 38.104 Table 5.4.3.3-1].
- l_max, ssb_bitmap: 4 or 8; all blocks sent (p = 1/2) or a random non-empty subset [38.213 §4.1]; matlab:
  each block sent with p = 1/2, at least one [MATLAB helperSpecSenseNRSignal].
- ssb_period_ms: 5, 10 or 20 (matlab: 20) [38.331 ssb-periodicityServingCell].
- ssb_rb_offset, ssb_sc_offset: any RB that keeps the block inside the carrier; 0..11 subcarriers (k_SSB)
  [38.211 §7.4.3.1].
- ssb_power_offset_db: U(-3, 6) dB over PDSCH (matlab: 0) [ours; ss-PBCH-BlockPower is set per cell].
- pss_boost_db: 0 or 3 dB over SSS (matlab: 0) [38.213 §4.1, beta_PSS].
- coreset_rb, coreset_rb_offset: 6k RBs with k in 1..floor(n_rb / 6); offset a multiple of 6 inside the carrier
  [38.211 §7.3.2.2].
- coreset_symbols: 1..3 [38.211 §7.3.2.2]. matlab: the example's CORESET 0, the whole band (offset 0) for 2 symbols
  [MATLAB helperSpecSenseNRSignal].
- pdcch_load: U(0.2, 1); full 1; idle U(0.1, 0.5) [ours]; matlab: one PDCCH of aggregation level 8, 4 of the
  CORESET's groups of 6 RBs (min(1, 4 / groups)) [the same helper].
- dmrs_typea_pos: 2 or 3 (3 when the CORESET has 3 symbols) [38.211 §7.4.1.1.2].
- dmrs_additional: 0..3, 3 only with dmrs_typea_pos 2 [38.211 Table 7.4.1.1.2-3 and its note]; matlab: TypeA
  position 3, no additional position [the same helper].
- dmrs_cdm_groups: 1 or 2 CDM groups without data [38.214 Table 4.1-1].
- modulation: QPSK, 16QAM, 64QAM or 256QAM [38.214 §5.1.3].
- pdsch_slot_groups, pdsch_rb_groups: matlab only, [[start, length], ...] [traffic].
- profile, delay_spread_s, doppler_hz: TDL-A/B/C; 30-300 ns log-uniform; U(0, 500) Hz (matlab: 0, 10 or
  500 Hz) [38.901 §7.7.2; MATLAB example].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from radiofm.synth.nrlte import sequences, traffic
from radiofm.synth.nrlte.ofdm import MODULATIONS, numerology, prb_allocation, random_symbols

# 38.101-1 Table 5.3.2-1, N_RB by channel bandwidth (MHz), FR1. Only bandwidths that fit a 61.44 MHz capture.
NR_N_RB = {
    15e3: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 40: 216, 50: 270},
    30e3: {10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133},
}
NR_PROFILES = ("TDL-A", "TDL-B", "TDL-C")
SSB_RB = 20  # SS/PBCH block width in RBs
SSB_PERIODS_MS = (5, 10, 20)
TDD_PATTERNS = ("DDDSU", "DDDDDDDSUU", "DDDSUDDSUU", "DDSUU")
MATLAB_MIN_BANDWIDTH_MHZ = 10  # the MATLAB example's NR carriers: 10-50 MHz
MATLAB_CORESET_SYMBOLS = 2  # the example's CORESET 0: the whole band, 2 symbols
MATLAB_PDCCH_GROUPS = 4  # its PDCCH, aggregation level 8: 8 CCEs = 4 groups of 6 RBs x 2 symbols
TDD_PROBABILITY = 0.6  # of a 30 kHz carrier outside the matlab regime
SPECIAL_DL_SYMBOLS = (6, 10, 12)
SSB_POWER_OFFSET_DB = (-3.0, 6.0)
MATLAB_DOPPLERS_HZ = (0.0, 10.0, 500.0)
DMRS_ADDITIONAL = {0: (), 1: (11,), 2: (7, 11), 3: (5, 8, 11)}  # Table 7.4.1.1.2-3, PDSCH to symbol 13


@dataclass
class NRConfig:
    """One NR carrier's random configuration (all JSON-serialisable; see the module's knob table)."""

    scs_hz: float
    bandwidth_mhz: int
    n_rb: int
    n_id_cell: int
    traffic: str  # grid regime: random, matlab, full or idle
    load: float  # mean fraction of (downlink slot, PRB) pairs with PDSCH
    time_shift_symbols: int
    tdd_pattern: str | None
    tdd_special_dl_symbols: int | None
    ssb_case: str
    l_max: int  # SS block candidates per burst: 4 or 8
    ssb_bitmap: list[int]  # transmitted blocks (l_max entries of 0/1)
    ssb_period_ms: int
    ssb_rb_offset: int  # first RB of the SS block inside the carrier
    ssb_sc_offset: int  # further subcarrier offset k_SSB
    ssb_power_offset_db: float
    pss_boost_db: float
    coreset_rb: int
    coreset_rb_offset: int
    coreset_symbols: int
    pdcch_load: float
    dmrs_typea_pos: int
    dmrs_additional: int
    dmrs_cdm_groups: int
    modulation: str
    pdsch_slot_groups: list[list[int]] | None  # matlab: allocated [start, length] slots of each 20-slot period
    pdsch_rb_groups: list[list[int]] | None  # matlab: allocated [start, length] RBs
    profile: str
    delay_spread_s: float
    doppler_hz: float

    @property
    def n_subcarriers(self) -> int:
        return 12 * self.n_rb

    def to_dict(self) -> dict:
        return asdict(self) | {"duplex": "TDD" if self.tdd_pattern else "FDD"}


def draw_nr(rng: np.random.Generator, *, traffic_regime: str = "random", max_bandwidth_mhz: float = 50) -> NRConfig:
    """Draw a random NR carrier no wider than ``max_bandwidth_mhz`` for a grid regime (see the knob table)."""
    if traffic_regime not in traffic.GRID_REGIMES:
        raise ValueError(f"grid regime must be one of {traffic.GRID_REGIMES}, got {traffic_regime!r}")
    matlab = traffic_regime == "matlab"
    scs = float(rng.choice([15e3, 30e3]))
    low = MATLAB_MIN_BANDWIDTH_MHZ if matlab else 0
    bw = int(rng.choice([bw for bw in NR_N_RB[scs] if low <= bw <= max_bandwidth_mhz] or [min(NR_N_RB[scs])]))
    n_rb = NR_N_RB[scs][bw]
    tdd, special = None, None
    if scs == 30e3 and not matlab and rng.random() < TDD_PROBABILITY:
        tdd, special = str(rng.choice(TDD_PATTERNS)), int(rng.choice(SPECIAL_DL_SYMBOLS))
    case = "A" if scs == 15e3 else "C" if tdd or rng.random() < 0.5 else "B"
    l_max = int(rng.choice([4, 8]))
    if matlab:  # the helper's randi([0 1], 1, L): each block on its own coin (at least one sent here)
        bitmap = (rng.random(l_max) < 0.5).astype(int)
        if not bitmap.any():
            bitmap[int(rng.integers(l_max))] = 1
    else:
        bitmap = np.ones(l_max, dtype=int)
        if rng.random() < 0.5:
            bitmap = (rng.random(l_max) < 0.5).astype(int)
            bitmap[int(rng.integers(l_max))] = 1
    sc_offset = int(rng.integers(0, 12))
    k_max = n_rb // 6
    coreset_groups = int(rng.integers(1, k_max + 1))
    coreset_symbols = int(rng.integers(1, 4))
    slot_groups = rb_groups = None
    if traffic_regime == "matlab":
        first, width = traffic.MATLAB_SLOT_WINDOW
        slot_groups = [[first + s, n] for s, n in traffic.draw_groups(rng, width, traffic.MATLAB_SLOT_FRACTION)]
        rb_groups = traffic.draw_groups(rng, n_rb, traffic.MATLAB_RB_FRACTION)
        load = sum(w for _, w in slot_groups) / traffic.MATLAB_PERIOD_SLOTS * sum(w for _, w in rb_groups) / n_rb
    else:
        load = {"random": float(rng.uniform(0.2, 1.0)), "full": 1.0, "idle": 0.0}[traffic_regime]
    pdcch_range = (0.1, 0.5) if traffic_regime == "idle" else (0.2, 1.0)
    pdcch_load = 1.0 if traffic_regime == "full" else float(rng.uniform(*pdcch_range))
    if matlab:  # the helper's carrier: SSB case A/B, CORESET 0 over the whole band for 2 symbols, one PDCCH of
        # aggregation level 8 (4 groups of 6 RBs x 2 symbols) in every slot, PDSCH DMRS at symbol 3, no additional
        case = "A" if scs == 15e3 else "B"
        coreset_groups, coreset_symbols = k_max, MATLAB_CORESET_SYMBOLS
        pdcch_load = min(1.0, MATLAB_PDCCH_GROUPS / k_max)
    return NRConfig(
        scs_hz=scs,
        bandwidth_mhz=bw,
        n_rb=n_rb,
        n_id_cell=int(rng.integers(0, 1008)),
        traffic=traffic_regime,
        load=float(load),
        time_shift_symbols=14 * int(rng.integers(0, numerology(scs)["n_symbols"] // 14)),  # whole slots
        tdd_pattern=tdd,
        tdd_special_dl_symbols=special,
        ssb_case=case,
        l_max=l_max,
        ssb_bitmap=bitmap.tolist(),
        ssb_period_ms=20 if matlab else int(rng.choice(SSB_PERIODS_MS)),
        ssb_rb_offset=int(rng.integers(0, n_rb - SSB_RB - (sc_offset > 0) + 1)),
        ssb_sc_offset=sc_offset,
        ssb_power_offset_db=0.0 if matlab else float(rng.uniform(*SSB_POWER_OFFSET_DB)),
        pss_boost_db=0.0 if matlab else float(rng.choice([0.0, 3.0])),
        coreset_rb=6 * coreset_groups,
        coreset_rb_offset=0 if matlab else 6 * int(rng.integers(0, k_max - coreset_groups + 1)),
        coreset_symbols=coreset_symbols,
        pdcch_load=pdcch_load,
        # drawn here, in the order the fields always were (other regimes' draws do not move)
        **({"dmrs_typea_pos": 3, "dmrs_additional": 0} if matlab else _dmrs_positions(rng, coreset_symbols)),
        dmrs_cdm_groups=int(rng.choice([1, 2])),
        modulation=str(rng.choice(list(MODULATIONS))),
        pdsch_slot_groups=slot_groups,
        pdsch_rb_groups=rb_groups,
        profile=str(rng.choice(NR_PROFILES)),
        delay_spread_s=float(np.exp(rng.uniform(np.log(30e-9), np.log(300e-9)))),
        doppler_hz=float(rng.choice(MATLAB_DOPPLERS_HZ)) if matlab else float(rng.uniform(0.0, 500.0)),
    )


def _dmrs_positions(rng: np.random.Generator, coreset_symbols: int) -> dict:
    """dmrs-TypeA-Position (3 when the CORESET takes 3 symbols) and dmrs-AdditionalPosition 0-3, pos3 only with
    TypeA position 2 (38.211 Table 7.4.1.1.2-3, note)."""
    typea_pos = 3 if coreset_symbols == 3 else int(rng.choice([2, 3]))
    additional = int(rng.integers(0, 4))
    return {"dmrs_typea_pos": typea_pos, "dmrs_additional": min(additional, 2) if typea_pos == 3 else additional}


def downlink_symbols(cfg: NRConfig) -> np.ndarray:
    """Which symbols of each slot are downlink, bool (n_slots, 14): all of them for FDD."""
    n_slots = numerology(cfg.scs_hz)["n_symbols"] // 14
    dl = np.ones((n_slots, 14), dtype=bool)
    pattern = cfg.tdd_pattern or ""
    for j, kind in enumerate(pattern):
        if kind == "U":
            dl[j :: len(pattern)] = False
        elif kind == "S":
            dl[j :: len(pattern), cfg.tdd_special_dl_symbols :] = False
    return dl


def ssb_first_symbols(case: str, l_max: int) -> np.ndarray:
    """First OFDM symbol of each SS block candidate within a half frame (38.213 §4.1), int64 (l_max,)."""
    if case in ("A", "C"):
        n = np.arange(l_max // 2)
        return (np.array([2, 8])[None, :] + 14 * n[:, None]).ravel()
    n = np.arange(l_max // 4)  # case B
    return (np.array([4, 8, 16, 20])[None, :] + 28 * n[:, None]).ravel()


def ssb_positions(cfg: NRConfig) -> tuple[np.ndarray, np.ndarray]:
    """(first symbol in the unshifted 40 ms grid, SSB index) of every transmitted SS block, int64 (B,) each."""
    per_half_frame = numerology(cfg.scs_hz)["n_symbols"] // 8  # 5 ms half frames in 40 ms
    half_frames = np.arange(0, 8, cfg.ssb_period_ms // 5)
    firsts = ssb_first_symbols(cfg.ssb_case, cfg.l_max)
    sent = np.flatnonzero(np.asarray(cfg.ssb_bitmap, dtype=bool))
    rows = (half_frames[:, None] * per_half_frame + firsts[None, sent]).ravel()
    index = np.tile(sent, len(half_frames))
    dl = downlink_symbols(cfg).ravel()
    ok = dl[rows] & dl[rows + 1] & dl[rows + 2] & dl[rows + 3]
    return rows[ok], index[ok]


def pdsch_allocation(cfg: NRConfig, rng: np.random.Generator) -> np.ndarray:
    """PRBs with PDSCH in each slot, bool (n_slots, n_rb); slots without downlink symbols after the CORESET
    are left out."""
    n_slots = numerology(cfg.scs_hz)["n_symbols"] // 14
    if cfg.traffic == "idle":
        alloc = np.zeros((n_slots, cfg.n_rb), dtype=bool)
    elif cfg.traffic == "full":
        alloc = np.ones((n_slots, cfg.n_rb), dtype=bool)
    elif cfg.traffic == "random":
        alloc = prb_allocation(rng, n_slots, cfg.n_rb, cfg.load)
    else:  # matlab: the same PRB set in the allocated slots of every 20-slot period
        slots = np.tile(traffic.groups_mask(cfg.pdsch_slot_groups, traffic.MATLAB_PERIOD_SLOTS), n_slots // 20)
        alloc = slots[:, None] & traffic.groups_mask(cfg.pdsch_rb_groups, cfg.n_rb)[None, :]
    return alloc & downlink_symbols(cfg)[:, cfg.coreset_symbols :].any(axis=1)[:, None]


def dmrs_symbols(cfg: NRConfig) -> list[int]:
    """PDSCH DMRS symbols of a slot: dmrs-TypeA-Position plus the additional positions."""
    return [cfg.dmrs_typea_pos, *DMRS_ADDITIONAL[cfg.dmrs_additional]]


def _per_frame_dmrs(cfg: NRConfig, symbols: list[int], n_values: int) -> np.ndarray:
    """DMRS sequence for every slot of a 10 ms frame and each of ``symbols``: complex64 (slots, len, n_values)."""
    per_frame = numerology(cfg.scs_hz)["n_symbols"] // 14 // 4
    slots = np.repeat(np.arange(per_frame), len(symbols))
    syms = np.tile(symbols, per_frame)
    return sequences.nr_dmrs(cfg.n_id_cell, slots, syms, n_values).reshape(per_frame, len(symbols), n_values)


def build_grid(cfg: NRConfig, rng: np.random.Generator) -> np.ndarray:
    """The carrier's resource grid over 40 ms (its own frame timing), complex64 (n_symbols, 12 * n_rb).

    Column j is subcarrier j of the carrier (lowest frequency first). A PDSCH RE has power 1.
    """
    n_sym = numerology(cfg.scs_hz)["n_symbols"]
    n_slots, n_sc, s0 = n_sym // 14, cfg.n_subcarriers, cfg.coreset_symbols
    per_frame = n_slots // 4
    grid = np.zeros((n_slots, 14, n_sc), dtype=np.complex64)
    alloc = pdsch_allocation(cfg, rng)
    used = np.flatnonzero(alloc.any(axis=1))
    if len(used):  # PDSCH with DMRS
        data = random_symbols(rng, cfg.modulation, (len(used), 14 - s0, n_sc))
        d_syms = dmrs_symbols(cfg)
        rel = [s - s0 for s in d_syms]
        dmrs = _per_frame_dmrs(cfg, d_syms, n_sc // 2)[used % per_frame]
        data[:, rel, 0::2] = dmrs * np.float32(np.sqrt(cfg.dmrs_cdm_groups))  # beta_DMRS: +3 dB for 2 groups
        if cfg.dmrs_cdm_groups == 2:
            data[:, rel, 1::2] = 0
        data *= np.repeat(alloc[used], 12, axis=1)[:, None, :]
        grid[used, s0:] = data
    # PDCCH in the CORESET of every downlink slot
    dl = downlink_symbols(cfg)
    groups = cfg.coreset_rb // 6
    occupied = rng.random((n_slots, groups)) < cfg.pdcch_load
    occupied[np.arange(n_slots), rng.integers(0, groups, size=n_slots)] = True
    occupied &= dl[:, 0][:, None]
    width = 12 * cfg.coreset_rb
    pdcch = random_symbols(rng, "QPSK", (n_slots, s0, width))
    pdcch[:, :, 1::4] = _per_frame_dmrs(cfg, list(range(s0)), width // 4)[np.arange(n_slots) % per_frame]
    pdcch *= np.repeat(occupied, 72, axis=1)[:, None, :]
    c0 = 12 * cfg.coreset_rb_offset
    grid[:, :s0, c0 : c0 + width] = pdcch
    grid[~dl] = 0
    grid = grid.reshape(n_sym, n_sc)
    # SS/PBCH blocks, rate-matched: the RBs they touch carry nothing else in their 4 symbols
    rows, index = ssb_positions(cfg)
    k0 = 12 * cfg.ssb_rb_offset + cfg.ssb_sc_offset
    lo, hi = 12 * (k0 // 12), 12 * (-(-(k0 + 240) // 12))
    blocks = ssb_blocks(cfg, rows, index, rng)
    for first, block in zip(rows, blocks):
        grid[first : first + 4, lo:hi] = 0
        grid[first : first + 4, k0 : k0 + 240] = block
    return grid


def _pbch_masks(n_id_cell: int) -> tuple[np.ndarray, np.ndarray]:
    pbch = np.zeros((4, 240), dtype=bool)
    pbch[[1, 3]] = True
    pbch[2, :48] = pbch[2, 192:] = True
    dmrs = pbch & ((np.arange(240) % 4) == n_id_cell % 4)[None, :]
    return dmrs, pbch & ~dmrs


def ssb_blocks(cfg: NRConfig, rows: np.ndarray, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The SS/PBCH blocks sent at ``rows`` with SSB indices ``index``: complex64 (B, 4, 240), power offsets in."""
    n_id1, n_id2 = divmod(cfg.n_id_cell, 3)
    amp = 10 ** (cfg.ssb_power_offset_db / 20)
    template = np.zeros((4, 240), dtype=np.complex64)
    template[0, 56:183] = sequences.nr_pss(n_id2) * (amp * 10 ** (cfg.pss_boost_db / 20))
    template[2, 56:183] = sequences.nr_sss(n_id1, n_id2) * amp
    dmrs, data = _pbch_masks(cfg.n_id_cell)
    per_frame = numerology(cfg.scs_hz)["n_symbols"] // 4
    blocks = np.repeat(template[None], len(rows), axis=0)
    blocks[:, data] = random_symbols(rng, "QPSK", (len(rows), int(data.sum()))) * np.float32(amp)
    for b, (row, i_ssb) in enumerate(zip(rows, index)):
        n_hf = int(row % per_frame >= per_frame // 2)  # second half of its 10 ms frame
        blocks[b, dmrs] = sequences.nr_pbch_dmrs(cfg.n_id_cell, int(i_ssb), n_hf, cfg.l_max) * np.float32(amp)
    return blocks


def reference_mask(cfg: NRConfig) -> np.ndarray:
    """REs an idle cell may occupy: SS/PBCH blocks and the CORESET of downlink slots, bool (n_symbols, n_sc)."""
    n_sym = numerology(cfg.scs_hz)["n_symbols"]
    mask = np.zeros((n_sym // 14, 14, cfg.n_subcarriers), dtype=bool)
    c0 = 12 * cfg.coreset_rb_offset
    mask[:, : cfg.coreset_symbols, c0 : c0 + 12 * cfg.coreset_rb] = True
    mask &= downlink_symbols(cfg)[:, :, None]
    mask = mask.reshape(n_sym, -1)
    k0 = 12 * cfg.ssb_rb_offset + cfg.ssb_sc_offset
    for first in ssb_positions(cfg)[0]:
        mask[first : first + 4, k0 : k0 + 240] = True
    return mask


def subcarrier_bins(cfg: NRConfig, centre_bin: int) -> tuple[int, int]:
    """First and last FFT bin (relative to the capture centre, in SCS units) of the carrier's subcarriers."""
    half = cfg.n_subcarriers // 2
    return centre_bin - half, centre_bin + half - 1
