"""LTE downlink resource grid (normal CP, 15 kHz), written from TS 36.211 / 36.213 / 36.101.

One grid row block per 1 ms subframe (14 symbols, slots ``2i`` and ``2i+1``); subcarrier ``k`` of
``K = 12·N_RB`` in 36.211 order, the DC carrier left to the modulator. What a subframe holds:

- CRS (§6.10.1): ports 0/1 in symbols 0 and 4 of each slot, ports 2/3 in symbol 1, every 6th subcarrier
  shifted by ``v + N_ID mod 6``; QPSK from the Gold sequence with ``c_init = 2^10(7(n_s+1)+l+1)(2N_ID+1) +
  2N_ID + 1``, taken at ``m' = m + 110 − N_RB``. A single receive antenna sees every port's CRS through its
  own path: port 0 with gain 1, port p > 0 with a complex gain drawn per cell (|g|² mean 1). Optional
  +3 dB CRS boost.
- PSS/SSS (§6.11): last and second-last symbol of slots 0 and 10, 62 subcarriers around DC (5 reserved
  either side). PBCH (§6.6): slot 1 of subframe 0, symbols 0–3, the central 72 subcarriers minus the REs
  reserved for 4-port CRS; payload random QPSK (no MIB/BCH coding).
- Control region (§6.7–6.9): ``CFI`` symbols (``CFI + 1`` when N_RB ≤ 10). REGs of 4 usable REs; PCFICH on
  4 REGs of symbol 0 at ``k̄ = 6·(N_ID mod 2N_RB)`` + quarter-band steps; PHICH ``ceil(N_g·N_RB/8)`` groups
  × 3 REGs in symbol 0 (normal duration, §6.9.3 index formula); PDCCH on a random subset (the traffic's load)
  of the remaining REGs — a stand-in for the CCE interleaver of §6.8.5, which we do not implement.
- PDSCH: the plan's PRBs from the first symbol after the control region, rate-matched around CRS,
  PSS/SSS/PBCH; EPRE ratio ρ_B/ρ_A in CRS symbols from TS 36.213 Table 5.2-1 (P_B ∈ {0, 1}).

Frame structure (off unless :func:`with_frame_structure` is asked for it, so the default draws are unchanged):

- FDD (type 1), the default: every subframe downlink.
- TDD (type 2, §4.2): an uplink-downlink configuration 0–6 (Table 4.2-2) and a special subframe configuration
  0–9 (Table 4.2-1, normal CP: DwPTS of 3/9/10/11/12/3/9/10/11/6 symbols). Uplink subframes and the special
  subframe after its DwPTS are silent (a downlink capture near the cell does not see the handsets); the PSS is
  on the third symbol of subframes 1 and 6 (§6.11.1.2), the SSS on the last symbol of subframes 0 and 5
  (§6.11.2.2); at most 2 control symbols in subframes 1 and 6, special or downlink (Table 6.7-1).
- MBSFN subframes (FDD, §6.10.1 and TS 36.331 MBSFN-SubframeConfig): a random non-empty subset of subframes
  1, 2, 3, 6, 7, 8 carry only their non-MBSFN region (the first 1–2 symbols: control and CRS) and nothing after
  it — the MBSFN region left empty, as operators reserve it for NR in dynamic spectrum sharing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from radiofm.errors import ConfigError
from radiofm.synth.nrlte_alt import grid as g
from radiofm.synth.nrlte_alt.sequences import gold, lte_pss, lte_sss, qpsk_from_bits
from radiofm.synth.nrlte_alt.traffic import Traffic

LTE_NRB = {1.4e6: 6, 3e6: 15, 5e6: 25, 10e6: 50, 15e6: 75, 20e6: 100}  # TS 36.104 Table 5.6-1
NRB_MAX = 110
RESERVED = 255  # internal: neither data nor signal (rate-matched around), emptied at the end
# TS 36.211 Table 4.2-2: uplink-downlink configurations 0..6 (D downlink, S special, U uplink), subframes 0..9
TDD_CONFIGS = ("DSUUUDSUUU", "DSUUDDSUUD", "DSUDDDSUDD", "DSUUUDDDDD", "DSUUDDDDDD", "DSUDDDDDDD", "DSUUUDSUUD")
DWPTS_SYMBOLS = (3, 9, 10, 11, 12, 3, 9, 10, 11, 6)  # Table 4.2-1, normal CP, special configurations 0..9
MBSFN_CANDIDATES = (1, 2, 3, 6, 7, 8)  # FDD subframes an MBSFN-SubframeConfig may name (TS 36.331)
FRAME_STRUCTURES = ("fdd", "tdd", "mbsfn")
_RHO_B_OVER_A = {1: (1.0, 0.8, 0.6, 0.4), 2: (1.25, 1.0, 0.75, 0.5), 4: (1.25, 1.0, 0.75, 0.5)}


@dataclass(frozen=True)
class LteCell:
    """Cell configuration of one LTE carrier."""

    bandwidth_hz: float  # channel bandwidth, a key of LTE_NRB
    pci: int  # physical cell ID 0..503 = 3·N_ID^(1) + N_ID^(2)
    crs_ports: int = 1  # 1, 2 or 4
    crs_boost_db: float = 0.0  # CRS EPRE over the PDSCH reference (0 or 3 dB)
    port_gains: tuple[complex, ...] = (1.0,)  # complex gain of each port's path to the receive antenna
    cfi: int = 2  # control format indicator 1..3
    p_b: int = 1  # PDSCH ρ_B/ρ_A index (TS 36.213 Table 5.2-1)
    phich_ng: float = 1.0  # N_g ∈ {1/6, 1/2, 1, 2}
    tdd_config: int | None = None  # uplink-downlink configuration 0..6; None = FDD
    special_config: int = 7  # special subframe configuration 0..9 (TDD only)
    mbsfn_subframes: tuple[int, ...] = ()  # FDD subframes (of MBSFN_CANDIDATES) that are MBSFN

    @property
    def n_rb(self) -> int:
        return LTE_NRB[self.bandwidth_hz]

    @property
    def duplex(self) -> str:
        return "FDD" if self.tdd_config is None else "TDD"

    @property
    def subframe_pattern(self) -> str:
        """One letter per subframe 0..9: D downlink, S special, U uplink, M MBSFN."""
        if self.tdd_config is not None:
            return TDD_CONFIGS[self.tdd_config]
        return "".join("M" if sf in self.mbsfn_subframes else "D" for sf in range(10))

    @property
    def n_ctrl(self) -> int:
        return self.cfi + (1 if self.n_rb <= 10 else 0)


def draw_lte_cell(rng: np.random.Generator, bandwidth_hz: float, regime: str = "random") -> LteCell:
    """A random cell configuration (the knobs and ranges are listed in the package docstring)."""
    ports = int(rng.choice([1, 2, 4], p=[0.3, 0.5, 0.2]))
    gains = [1.0 + 0j] + [complex(rng.normal(0, np.sqrt(0.5)), rng.normal(0, np.sqrt(0.5))) for _ in range(ports - 1)]
    n_rb = LTE_NRB[bandwidth_hz]
    cfi = int(rng.integers(1, 4))
    if regime == "matlab":  # RMC control region: 2 symbols from 10 MHz up, 3 at 3/5 MHz (TS 36.101 A.3.1)
        cfi = 2 if n_rb >= 50 else 3
    return LteCell(
        bandwidth_hz=bandwidth_hz,
        pci=int(rng.integers(0, 504)),
        crs_ports=ports,
        crs_boost_db=float(rng.choice([0.0, 3.0])),
        port_gains=tuple(gains),
        cfi=cfi,
        p_b=int(rng.integers(0, 2)),
        phich_ng=float(rng.choice([1 / 6, 0.5, 1.0, 2.0])),
    )


def check_frame_structures(names) -> tuple[str, ...]:
    """``names`` (a sequence of :data:`FRAME_STRUCTURES`) as a tuple; ConfigError naming the unknown ones, or
    saying the list is empty."""
    names = tuple(names)
    bad = [str(n) or "''" for n in names if n not in FRAME_STRUCTURES]
    if bad or not names:
        shown = ", ".join(bad) or "(none given)"
        raise ConfigError(f"unknown LTE frame structure {shown}; valid: {', '.join(FRAME_STRUCTURES)}")
    return names


def with_frame_structure(cell: LteCell, structure: str, rng: np.random.Generator) -> LteCell:
    """``cell`` with a frame structure of ``structure`` ("fdd", "tdd" or "mbsfn", see the module docstring) drawn
    from ``rng``: TDD configuration and special subframe configuration uniformly, MBSFN subframes each with
    probability ½ (at least one)."""
    if structure == "fdd":
        return dataclasses.replace(cell, tdd_config=None, mbsfn_subframes=())
    if structure == "tdd":
        config, special = int(rng.integers(0, len(TDD_CONFIGS))), int(rng.integers(0, len(DWPTS_SYMBOLS)))
        return dataclasses.replace(cell, tdd_config=config, special_config=special, mbsfn_subframes=())
    if structure == "mbsfn":
        chosen = [sf for sf in MBSFN_CANDIDATES if rng.random() < 0.5]
        chosen = chosen or [int(rng.choice(MBSFN_CANDIDATES))]
        return dataclasses.replace(cell, tdd_config=None, mbsfn_subframes=tuple(chosen))
    raise ValueError(f"frame structure {structure!r} unknown (one of {', '.join(FRAME_STRUCTURES)})")


def _crs_positions(cell: LteCell) -> list[tuple[int, int, int, int]]:
    """(port, symbol in subframe, slot parity, frequency offset v) for every CRS symbol of a subframe."""
    out = []
    for p in range(cell.crs_ports):
        for slot in (0, 1):
            if p < 2:
                for l in (0, 4):
                    v = (0 if l == 0 else 3) if p == 0 else (3 if l == 0 else 0)
                    out.append((p, 7 * slot + l, slot, v))
            else:
                v = 3 * slot if p == 2 else 3 + 3 * slot
                out.append((p, 7 * slot + 1, slot, v))
    return out


def _frame_template(cell: LteCell) -> tuple[np.ndarray, np.ndarray]:
    """(140, K) values and kinds of one radio frame's fixed signals: CRS, PSS/SSS, PBCH REs, reservations."""
    n_rb, k_tot, nid = cell.n_rb, 12 * cell.n_rb, cell.pci
    vals = np.zeros((140, k_tot), np.complex64)
    kind = np.zeros((140, k_tot), np.uint8)
    boost = 10 ** (cell.crs_boost_db / 20)
    m = np.arange(2 * n_rb)
    pos = _crs_positions(cell)
    seeds = {}
    for ns in range(20):
        for _, l_sf, slot, _ in pos:
            if slot == ns % 2:
                l = l_sf - 7 * slot
                seeds[(ns, l)] = 2**10 * (7 * (ns + 1) + l + 1) * (2 * nid + 1) + 2 * nid + 1
    keys = sorted(seeds)
    seqs = dict(zip(keys, qpsk_from_bits(gold(np.array([seeds[k] for k in keys]), 4 * NRB_MAX))))
    for sf in range(10):
        for p, l_sf, slot, v in pos:
            ns, l = 2 * sf + slot, l_sf - 7 * slot
            cols = 6 * m + (v + nid % 6) % 6
            vals[14 * sf + l_sf, cols] = boost * cell.port_gains[p] * seqs[(ns, l)][m + NRB_MAX - n_rb]
            kind[14 * sf + l_sf, cols] = g.CRS
    c = k_tot // 2
    nid1, nid2 = divmod(nid, 3)
    # 62 sequence REs around DC, the 5 subcarriers either side reserved (§6.11.1.2); FDD: PSS on the last symbol
    # of slots 0 and 10, SSS on the one before; TDD: PSS on symbol 2 of subframes 1 and 6, SSS on the last
    # symbol of subframes 0 and 5
    tdd = cell.tdd_config is not None
    for sf in (0, 5):
        pss_row = 14 * (sf + 1) + 2 if tdd else 14 * sf + 6
        sss_row = 14 * sf + (13 if tdd else 5)
        for row, seq, kd in ((pss_row, lte_pss(nid2), g.PSS), (sss_row, lte_sss(nid1, nid2, sf), g.SSS)):
            kind[row, c - 36 : c + 36] = RESERVED
            vals[row, c - 31 : c + 31], kind[row, c - 31 : c + 31] = seq, kd
    # PBCH: subframe 0, symbols 7..10, central 72 subcarriers; REs of 4-port CRS in symbols 7, 8 are reserved
    pb = np.arange(c - 36, c + 36)
    for l in (7, 8, 9, 10):
        crs_like = (pb % 3) == (nid % 3) if l in (7, 8) else np.zeros(72, bool)
        row = kind[l, pb]
        kind[l, pb] = np.where(row != g.EMPTY, row, np.where(crs_like, RESERVED, g.PBCH))
    return vals, kind


def _control_regs(cell: LteCell) -> list[np.ndarray]:
    """Per control symbol, (n_reg, 4) subcarrier indices of its REGs' usable REs (TS 36.211 §6.2.4)."""
    k_tot, vs = 12 * cell.n_rb, cell.pci % 3
    out = []
    for l in range(cell.n_ctrl):
        if l == 0 or (l == 1 and cell.crs_ports == 4):  # REGs of 6 subcarriers around 2 RS REs
            k = np.arange(k_tot).reshape(-1, 6)
            out.append(k[(k % 3) != vs].reshape(-1, 4))
        else:
            out.append(np.arange(k_tot).reshape(-1, 4))
    return out


def build_lte_grid(
    cell: LteCell, traffic: Traffic, first_subframe: int, n_subframes: int, rng: np.random.Generator
) -> g.Grid:
    """Grid of subframes ``first_subframe .. +n_subframes`` (absolute; subframe 0 of frame 0 = 0)."""
    n_rb, k_tot, nid = cell.n_rb, 12 * cell.n_rb, cell.pci
    grid = g.Grid.empty(n_subframes, k_tot, 14, first_subframe)
    tvals, tkind = _frame_template(cell)
    rows = ((first_subframe + np.arange(n_subframes))[:, None] % 10 * 14 + np.arange(14)).reshape(-1)
    grid.values[:] = tvals[rows]
    grid.kind[:] = tkind[rows]
    pbch = grid.kind == g.PBCH
    grid.bits[pbch], grid.gain[pbch] = 2, 1.0
    regs = _control_regs(cell)
    n_reg0 = regs[0].shape[0]  # = 2·N_RB
    pcfich = {(nid % (2 * n_rb) + (i * n_rb) // 2) % (2 * n_rb) for i in range(4)}
    rest = [j for j in range(n_reg0) if j not in pcfich]
    n_groups = int(np.ceil(cell.phich_ng * n_rb / 8))
    phich = {rest[(nid + mg + (i * len(rest)) // 3) % len(rest)] for mg in range(n_groups) for i in range(3)}
    crs_rows = np.unique([l for _, l, _, _ in _crs_positions(cell)])
    rho_b = np.sqrt(_RHO_B_OVER_A[cell.crs_ports][cell.p_b])
    sc_of_rb = np.arange(k_tot).reshape(n_rb, 12)
    pattern = cell.subframe_pattern
    for i in range(n_subframes):
        plan = traffic.plan(first_subframe + i, rng)
        r0 = 14 * i
        sf_kind = pattern[(first_subframe + i) % 10]
        # symbols sent in this subframe; at most 2 control symbols in special and MBSFN subframes and, in TDD, in
        # subframes 1 and 6 whatever they are (Table 6.7-1: the PSS is on their third symbol)
        short = sf_kind in "SM" or (cell.tdd_config is not None and (first_subframe + i) % 10 in (1, 6))
        n_ctrl = min(cell.n_ctrl, 2) if short else cell.n_ctrl
        non_mbsfn = max(n_ctrl, 2 if cell.crs_ports == 4 else 1)  # symbols 0 (and 1 for 4 ports' CRS)
        sent = {"D": 14, "U": 0, "S": DWPTS_SYMBOLS[cell.special_config], "M": non_mbsfn}[sf_kind]
        for l, reg in enumerate(regs[:n_ctrl]):  # control region
            use = rng.random(reg.shape[0]) < (1.0 if plan.fill_control else plan.control_load)
            kinds = np.full(reg.shape[0], g.PDCCH, np.uint8)
            if l == 0:
                idx = np.arange(reg.shape[0])
                kinds[np.isin(idx, list(pcfich))] = g.PCFICH
                kinds[np.isin(idx, list(phich))] = g.PHICH
                use |= kinds == g.PCFICH
                use |= (kinds == g.PHICH) & (plan.fill_control or plan.control_load > 0.1)
            for kd in (g.PCFICH, g.PHICH, g.PDCCH):
                sel = use & (kinds == kd)
                if sel.any():
                    grid.mark(r0 + l, reg[sel].reshape(-1), kd)
        data_rows = slice(r0 + n_ctrl, r0 + 14)
        for a in plan.allocs:
            cols = sc_of_rb[a.rbs].reshape(-1)
            grid.mark(data_rows, cols, g.PDSCH, a.bits, a.gain)
        if plan.ocng:
            grid.mark(data_rows, np.arange(k_tot), g.OCNG)
        # PDSCH REs in CRS-bearing symbols get the ρ_B/ρ_A ratio
        for l in crs_rows:
            if l >= n_ctrl:
                row = grid.gain[r0 + l]
                row[grid.kind[r0 + l] == g.PDSCH] *= rho_b
        silent = slice(r0 + sent, r0 + 14)  # uplink, the special subframe's guard and UpPTS, the MBSFN region
        grid.values[silent], grid.kind[silent], grid.bits[silent], grid.gain[silent] = 0, g.EMPTY, 0, 0
    grid.kind[grid.kind == RESERVED] = g.EMPTY
    g.fill_data(grid, rng)
    grid.info.update(traffic.info, n_ctrl_symbols=cell.n_ctrl, subframe_pattern=pattern)
    return grid
