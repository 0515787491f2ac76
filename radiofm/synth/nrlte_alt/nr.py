"""NR downlink resource grid (FR1, normal CP, 15/30 kHz), written from TS 38.211 / 38.213 / 38.214 / 38.101-1.

One grid row block per slot (14 symbols), subcarrier ``k`` of ``K = 12·N_RB`` counted from the carrier's
lowest subcarrier (we take the carrier grid to start at CRB 0, so reference-signal indices run from k = 0).
What a slot holds:

- SS/PBCH blocks (§7.4.3.1, Table 7.4.3.1-1): 4 symbols × 240 subcarriers; PSS (symbol 0) and SSS
  (symbol 2) on subcarriers 56–182; PBCH on symbols 1 and 3 and the outer 48 subcarriers of symbol 2, with
  its DMRS on every 4th subcarrier offset by ``N_ID mod 4`` (QPSK, ``c_init = 2^11(ī+1)(⌊N_ID/4⌋+1) +
  2^6(ī+1) + (N_ID mod 4)``, §7.4.1.4.1); PBCH payload random QPSK (no MIB/polar coding). Candidate first
  symbols per half frame (TS 38.213 §4.1): case A {2, 8} + 14n, case B {4, 8, 16, 20} + 28n, case C
  {2, 8} + 14n, n = 0..L/2−1 (L/4−1 for case B); a random transmitted-block bitmap; bursts in the first half
  frame every 5/10/20 ms. PDSCH PRBs overlapping an SSB are not used in its symbols (TS 38.214 §5.1.4).
- CORESET + PDCCH (§7.3.2): 1–3 symbols, a contiguous run of 6-RB groups; REGs numbered time-first, CCE =
  6 REGs, non-interleaved or interleaved CCE-to-REG mapping (bundle size L, interleaver size R, shift);
  each PDCCH occupies an aggregation-level-aligned run of CCEs; DMRS on subcarriers 1, 5, 9 of each used
  REG with ``c_init = (2^17(14n_s+l+1)(2N_ID+1) + 2N_ID) mod 2^31`` (§7.4.1.3).
- PDSCH (mapping type A) on the plan's PRBs, rate-matched around SSB, PDCCH and CSI-RS, with DMRS
  (§7.4.1.1): configuration type 1 or 2, first symbol l0 = 2 or 3, additional positions per Table
  7.4.1.1.2-3, port 1000, ``c_init = (2^17(14n_s+l+1)(2N_ID+1) + 2N_ID) mod 2^31``; 1–3 CDM groups without
  data left empty, DMRS EPRE boosted 0/3/4.77 dB accordingly (TS 38.214 Table 4.1-1).
- Optional TRS (CSI-RS for tracking, §7.4.1.5, Table 7.4.1.5.3-1 row 1): density 3, two symbols in each of
  two consecutive slots, every 10 or 20 ms.
- TDD: a DL/UL slot pattern; uplink slots and the guard/UL part of special slots stay empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiofm.synth.nrlte_alt.sequences import gold, qpsk_from_bits

NR_NRB = {  # TS 38.101-1 Table 5.3.2-1 (FR1), channel bandwidth Hz -> N_RB
    15e3: {5e6: 25, 10e6: 52, 15e6: 79, 20e6: 106, 25e6: 133, 30e6: 160, 40e6: 216, 50e6: 270},
    30e3: {10e6: 24, 15e6: 38, 20e6: 51, 25e6: 65, 30e6: 78, 40e6: 106, 50e6: 133, 60e6: 162, 70e6: 189,
           80e6: 217, 90e6: 245, 100e6: 273},
}  # fmt: skip
TDD_PATTERNS = {15e3: ("DDDSU", "DDSUU", "DDDDDDDSUU"), 30e3: ("DDDSU", "DDDDDDDSUU", "DDSUU", "DDDSUDDSUU")}
RESERVED = 255
# TS 38.211 Table 7.4.1.1.2-3 (type A, single-symbol DMRS): PDSCH duration -> extra positions for pos 0..3
DMRS_ADD_POSITIONS = {
    8: ((), (7,), (7,), (7,)),
    9: ((), (7,), (7,), (7,)),
    10: ((), (9,), (6, 9), (6, 9)),
    11: ((), (9,), (6, 9), (6, 9)),
    12: ((), (9,), (6, 9), (5, 8, 11)),
    13: ((), (11,), (7, 11), (5, 8, 11)),
    14: ((), (11,), (7, 11), (5, 8, 11)),
}


@dataclass(frozen=True)
class NrCell:
    """Cell configuration of one NR carrier."""

    scs_hz: float  # 15e3 or 30e3
    bandwidth_hz: float  # a key of NR_NRB[scs_hz]
    pci: int  # 0..1007 = 3·N_ID^(1) + N_ID^(2)
    tdd_pattern: str | None = None  # e.g. "DDDSU"; None = FDD (every slot downlink)
    s_dl_symbols: int = 10  # downlink symbols of a special slot
    ssb_case: str = "A"
    ssb_bitmap: tuple[bool, ...] = (True, False, False, False)  # length L = 4 or 8
    ssb_period_ms: int = 20
    ssb_sc0: int = 0  # first subcarrier of the SSB
    # the SSB half a subcarrier (15 kHz) above the carrier's grid: an odd k_SSB at 30 kHz (FR1's k_SSB counts 15 kHz
    # steps, TS 38.211 §7.4.3.1), the SSB's subcarrier k then at ssb_sc0 + k + 1/2
    ssb_half: bool = False
    ssb_gain_db: float = 0.0  # SSB EPRE over the PDSCH reference
    pss_boost_db: float = 0.0  # PSS over SSS EPRE: 0 or 3 dB (TS 38.213 §4.1)
    coreset_symbols: int = 1
    coreset_rb0: int = 0
    coreset_n_rb: int = 6  # a multiple of 6
    reg_bundle: int = 6  # L; 6 with R = 1 is the non-interleaved mapping
    interleaver_r: int = 1
    shift_index: int = 0
    pdsch_start: int = 1  # first PDSCH symbol of a slot
    dmrs_type: int = 1
    dmrs_l0: int = 2
    dmrs_add_pos: int = 1
    dmrs_cdm_no_data: int = 1
    trs_period_slots: int = 0  # 0 = no TRS
    trs_offset: int = 0
    trs_symbols: tuple[int, int] = (5, 9)
    trs_k0: int = 0

    @property
    def n_rb(self) -> int:
        return NR_NRB[self.scs_hz][self.bandwidth_hz]

    @property
    def mu(self) -> int:
        return 0 if self.scs_hz == 15e3 else 1

    @property
    def duplex(self) -> str:
        return "TDD" if self.tdd_pattern else "FDD"

    def dl_symbols(self, slot: int) -> int:
        """Downlink symbols of absolute slot ``slot`` (14, ``s_dl_symbols`` or 0)."""
        if not self.tdd_pattern:
            return 14
        c = self.tdd_pattern[slot % len(self.tdd_pattern)]
        return 14 if c == "D" else self.s_dl_symbols if c == "S" else 0


def draw_nr_cell(rng: np.random.Generator, scs_hz: float, bandwidth_hz: float, regime: str = "random") -> NrCell:
    """A random cell configuration (knobs and ranges in the package docstring)."""
    n_rb = NR_NRB[scs_hz][bandwidth_hz]
    matlab = regime == "matlab"
    tdd = not matlab and rng.random() < (0.3 if scs_hz == 15e3 else 0.8)
    pattern = str(rng.choice(TDD_PATTERNS[scs_hz])) if tdd else None
    case = "A" if scs_hz == 15e3 else "B" if matlab or rng.random() < (0.2 if tdd else 0.5) else "C"
    big_l = int(rng.choice([4, 8]))
    bitmap = rng.random(big_l) < 0.6
    bitmap[int(rng.integers(0, big_l))] = True
    n6 = n_rb // 6
    d = 2 if matlab else int(rng.integers(1, 4))
    c_n6 = n6 if matlab else int(rng.integers(max(1, n6 // 4), n6 + 1))
    c_rb0 = 0 if matlab else 6 * int(rng.integers(0, n6 - c_n6 + 1))
    n_reg = 6 * c_n6 * d
    bundle, r = 6, 1
    if matlab:
        r = 2 if n_reg % 12 == 0 else 1
    elif rng.random() < 0.5:  # interleaved: L from {2, 6} (d = 1, 2) or {3, 6} (d = 3), R from {2, 3, 6}
        opts = [(b, rr) for b in ((2, 6) if d < 3 else (3, 6)) for rr in (2, 3, 6) if n_reg % (b * rr) == 0]
        if opts:
            bundle, r = opts[int(rng.integers(0, len(opts)))]
    l0 = 3 if matlab or d == 3 else int(rng.choice([2, 3]))
    dmrs_type = 1 if matlab or rng.random() < 0.7 else 2
    spf = 10 * (1 if scs_hz == 15e3 else 2)
    trs = not matlab and regime != "idle" and rng.random() < 0.5
    ssb_rb = (n_rb - 20) // 2 if matlab else int(rng.integers(0, n_rb - 20))
    # k_SSB in 15 kHz steps (TS 38.211 §7.4.3.1, FR1): 0..11 at 15 kHz, 0..23 at 30 kHz (odd: half a subcarrier)
    k_ssb = 0 if matlab or rng.random() < 0.5 else int(rng.integers(0, 12 if scs_hz == 15e3 else 24))
    per_sc = 1 if scs_hz == 15e3 else 2
    return NrCell(
        scs_hz=scs_hz,
        bandwidth_hz=bandwidth_hz,
        pci=int(rng.integers(0, 1008)),
        tdd_pattern=pattern,
        s_dl_symbols=int(rng.choice([6, 10, 11, 12])),
        ssb_case=case,
        ssb_bitmap=tuple(bool(b) for b in bitmap),
        ssb_period_ms=20 if matlab else int(rng.choice([5, 10, 20])),
        ssb_sc0=12 * ssb_rb + k_ssb // per_sc,
        ssb_half=k_ssb % per_sc == 1,
        ssb_gain_db=0.0 if matlab else float(rng.uniform(0.0, 6.0)),
        pss_boost_db=0.0 if matlab else float(rng.choice([0.0, 3.0])),
        coreset_symbols=d,
        coreset_rb0=c_rb0,
        coreset_n_rb=6 * c_n6,
        reg_bundle=bundle,
        interleaver_r=r,
        shift_index=0 if matlab else int(rng.integers(0, 275)),
        pdsch_start=0 if matlab else d,
        dmrs_type=dmrs_type,
        dmrs_l0=l0,
        dmrs_add_pos=0 if matlab else int(rng.integers(0, 4)),
        dmrs_cdm_no_data=2 if matlab else int(rng.integers(1, dmrs_type + 2)),
        trs_period_slots=int(rng.choice([1, 2])) * spf if trs else 0,
        trs_offset=int(rng.integers(0, spf)),
        trs_symbols=((4, 8), (5, 9), (6, 10))[int(rng.integers(0, 3))],
        trs_k0=int(rng.integers(0, 4)),
    )


def ssb_first_symbols(case: str, big_l: int) -> np.ndarray:
    """First symbol of each candidate SSB in a half frame (TS 38.213 §4.1), index order = SSB index."""
    if case == "B":
        return np.concatenate([np.array([4, 8, 16, 20]) + 28 * n for n in range(big_l // 4)])
    return np.concatenate([np.array([2, 8]) + 14 * n for n in range(big_l // 2)])


def ssb_positions(cell: NrCell, first_slot: int, n_slots: int) -> list[tuple[int, int, int]]:
    """(absolute slot, first symbol, SSB index) of every transmitted SSB in ``[first_slot, +n_slots)``."""
    half = 5 * 2**cell.mu  # slots per half frame
    out = []
    first = ssb_first_symbols(cell.ssb_case, len(cell.ssb_bitmap))
    for h in range(first_slot // half, (first_slot + n_slots - 1) // half + 1):
        if (5 * h) % cell.ssb_period_ms:
            continue
        for i, s0 in enumerate(first):
            slot, l = h * half + s0 // 14, s0 % 14
            if cell.ssb_bitmap[i] and first_slot <= slot < first_slot + n_slots and l + 4 <= cell.dl_symbols(slot):
                out.append((slot, l, i))
    return out


def seq_table(seeds: dict, n_qpsk: int) -> dict:
    """QPSK reference sequences of length ``n_qpsk`` for each key of ``{key: c_init}``, in one batch."""
    if not seeds:
        return {}
    keys = list(seeds)
    return dict(zip(keys, qpsk_from_bits(gold(np.array([seeds[k] for k in keys]) % 2**31, 2 * n_qpsk))))


def cce_reg_map(cell: NrCell) -> np.ndarray:
    """(n_CCE, 6) REG indices of each CCE (TS 38.211 §7.3.2.2; REGs numbered time-first in the CORESET)."""
    n_reg = cell.coreset_n_rb * cell.coreset_symbols
    bl, r = cell.reg_bundle, cell.interleaver_r
    n_bundles = n_reg // bl
    if r == 1:
        f = np.arange(n_bundles)
    else:
        c = n_reg // (bl * r)
        x = np.arange(n_bundles)
        cc, rr = divmod(x, r)
        f = (rr * c + cc + cell.shift_index) % n_bundles
    per = 6 // bl
    bundles = f.reshape(-1, per)  # CCE j uses bundles f(6j/L .. 6j/L + 6/L - 1)
    return (bundles[:, :, None] * bl + np.arange(bl)).reshape(-1, 6)


def pick_cces(levels, n_cce: int, rng: np.random.Generator, fill: bool) -> np.ndarray:
    """Indices of the CCEs used by PDCCHs of the given aggregation levels (-1: the MATLAB example's one)."""
    if fill:
        return np.arange(n_cce)
    used = np.zeros(n_cce, bool)
    for al in levels:
        if al == -1:
            al = min(8, 2 ** int(np.floor(np.log2(n_cce))))
            used[:al] = True
            continue
        al = min(al, 2 ** int(np.floor(np.log2(n_cce))))
        starts = [s for s in range(0, n_cce - al + 1, al) if not used[s : s + al].any()]
        if starts:
            s = starts[int(rng.integers(0, len(starts)))]
            used[s : s + al] = True
    return np.flatnonzero(used)
