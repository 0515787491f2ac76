"""Fill an NR resource grid slot by slot: SSB, CORESET/PDCCH, TRS, PDSCH + DMRS (see :mod:`.nr`)."""

from __future__ import annotations

import numpy as np

from radiofm.synth.nrlte_alt import grid as g
from radiofm.synth.nrlte_alt.nr import (
    DMRS_ADD_POSITIONS,
    RESERVED,
    NrCell,
    cce_reg_map,
    pick_cces,
    seq_table,
    ssb_positions,
)
from radiofm.synth.nrlte_alt.sequences import nr_pss, nr_sss
from radiofm.synth.nrlte_alt.traffic import Traffic

_PDCCH_DMRS_SC = np.array([1, 5, 9])
_PDCCH_DATA_SC = np.array([0, 2, 3, 4, 6, 7, 8, 10, 11])
_DMRS_BOOST_DB = {(1, 1): 0.0, (1, 2): 3.0, (2, 1): 0.0, (2, 2): 3.0, (2, 3): 4.77}  # TS 38.214 Table 4.1-1


def _put_free(grid: g.Grid, rows, cols, kind: int, values) -> None:
    """Write ``values`` at ``[rows, cols]`` (broadcast) only where the grid is still empty."""
    rows, cols = np.broadcast_arrays(rows, cols)
    values = np.broadcast_to(values, rows.shape)
    free = grid.kind[rows, cols] == g.EMPTY
    grid.put(rows[free], cols[free], kind, values[free])


def dmrs_symbols(cell: NrCell, n_dl: int) -> list[int]:
    """PDSCH DMRS symbols of a slot whose PDSCH ends at symbol ``n_dl - 1`` (type A, single symbol)."""
    extra = DMRS_ADD_POSITIONS[n_dl][cell.dmrs_add_pos] if n_dl >= 8 else ()
    return [l for l in (cell.dmrs_l0, *extra) if cell.pdsch_start <= l < n_dl]


def _place_ssbs(cell: NrCell, grid: g.Grid, ssbs: list) -> None:
    nid, spf, big_l = cell.pci, 10 * 2**cell.mu, len(cell.ssb_bitmap)
    nid1, nid2 = divmod(nid, 3)
    seeds = {}
    for slot, _, i in ssbs:
        ib = i + 4 * int(slot % spf >= spf // 2) if big_l == 4 else i  # ī_SSB (half-frame bit for L = 4)
        seeds[(slot, i)] = ib
    dmrs = seq_table({ib: 2**11 * (ib + 1) * (nid // 4 + 1) + 2**6 * (ib + 1) + nid % 4 for ib in seeds.values()}, 144)
    a = 10 ** (cell.ssb_gain_db / 20)
    k = np.arange(240)
    v = nid % 4
    edge = (k < 48) | (k >= 192)
    sync = np.arange(56, 183)
    sc0 = cell.ssb_sc0
    lo, hi = 12 * (sc0 // 12), 12 * ((sc0 + 239 + int(cell.ssb_half)) // 12 + 1)  # the PRBs the SSB overlaps
    pss = nr_pss(nid2) * a * 10 ** (cell.pss_boost_db / 20)
    sss = nr_sss(nid1, nid2) * a
    for slot, l, i in ssbs:
        r = (slot - grid.first_slot) * 14 + l
        grid.kind[r : r + 4, lo:hi] = RESERVED  # no PDSCH in PRBs overlapping the SSB
        grid.put(r, sc0 + sync, g.PSS, pss)
        grid.put(r + 2, sc0 + sync, g.SSS, sss)
        seq = dmrs[seeds[(slot, i)]] * a
        dm = k % 4 == v
        for dr, sel, part in ((1, dm, seq[:60]), (2, edge & dm, seq[60:84]), (3, dm, seq[84:])):
            grid.put(r + dr, sc0 + k[sel], g.PBCH_DMRS, part)
            data = (k % 4 != v) & (edge if dr == 2 else True)
            grid.mark(r + dr, sc0 + k[data], g.PBCH, 2, a, only_empty=False)


def build_nr_grid(cell: NrCell, traffic: Traffic, first_slot: int, n_slots: int, rng: np.random.Generator) -> g.Grid:
    """Grid of absolute slots ``first_slot .. +n_slots`` (slot 0 = the first slot of frame 0)."""
    n_rb, k_tot, nid, spf = cell.n_rb, 12 * cell.n_rb, cell.pci, 10 * 2**cell.mu
    grid = g.Grid.empty(n_slots, k_tot, 14, first_slot)
    slots = first_slot + np.arange(n_slots)
    n_dl = np.array([cell.dl_symbols(int(s)) for s in slots])
    ssbs = ssb_positions(cell, first_slot, n_slots)
    _place_ssbs(cell, grid, ssbs)

    d = cell.coreset_symbols
    cce_regs = cce_reg_map(cell)
    pdcch_len = 3 * (cell.coreset_rb0 + cell.coreset_n_rb)
    dl_keys = {int(s) % spf for s, n in zip(slots, n_dl) if n}
    pdcch_seq = seq_table(
        {(n, l): 2**17 * (14 * n + l + 1) * (2 * nid + 1) + 2 * nid for n in dl_keys for l in range(d)}, pdcch_len
    )
    dm_seeds = {}
    for s, n in zip(slots, n_dl):
        if n >= 3:
            for l in dmrs_symbols(cell, int(n)):
                dm_seeds[(int(s) % spf, l)] = 2**17 * (14 * (int(s) % spf) + l + 1) * (2 * nid + 1) + 2 * nid
    pdsch_seq = seq_table(dm_seeds, 6 * n_rb)
    trs_seq = {}
    if cell.trs_period_slots:
        trs_seq = seq_table(
            {(n, l): 2**10 * (14 * n + l + 1) * (2 * nid + 1) + nid for n in dl_keys for l in cell.trs_symbols},
            3 * n_rb,
        )
    beta = 10 ** (_DMRS_BOOST_DB[(cell.dmrs_type, cell.dmrs_cdm_no_data)] / 20)
    sc_of_rb = np.arange(k_tot).reshape(n_rb, 12)
    for i, s in enumerate(int(x) for x in slots):
        plan = traffic.plan(s, rng)
        nd, r0, sf = int(n_dl[i]), 14 * i, s % spf
        if nd == 0:
            continue
        # PDCCH in the CORESET
        used = pick_cces(plan.dci_levels, cce_regs.shape[0], rng, plan.fill_control)
        if used.size:
            regs = cce_regs[used].reshape(-1)
            rb, sym = cell.coreset_rb0 + regs // d, regs % d
            tab = np.stack([pdcch_seq[(sf, l)] for l in range(d)])
            _put_free(grid, (r0 + sym)[:, None], 12 * rb[:, None] + _PDCCH_DMRS_SC, g.PDCCH_DMRS,
                      tab[sym[:, None], 3 * rb[:, None] + np.arange(3)])  # fmt: skip
            grid.mark((r0 + sym)[:, None], 12 * rb[:, None] + _PDCCH_DATA_SC, g.PDCCH)
        # TRS: two symbols in each of two consecutive slots every trs_period_slots
        if cell.trs_period_slots and (s - cell.trs_offset) % cell.trs_period_slots in (0, 1):
            if max(cell.trs_symbols) < nd:
                cols = (12 * np.arange(n_rb)[:, None] + cell.trs_k0 + 4 * np.arange(3)).reshape(-1)
                for l in cell.trs_symbols:
                    _put_free(grid, r0 + l, cols, g.CSI_RS, trs_seq[(sf, l)])
        # PDSCH with DMRS
        if nd < 3 or not plan.allocs:
            continue
        dm_syms = dmrs_symbols(cell, nd)
        for a in plan.allocs:
            sc = sc_of_rb[a.rbs].reshape(-1)
            if cell.dmrs_type == 1:
                is_dm, idx, group = sc % 2 == 0, sc // 2, sc % 2
            else:
                is_dm, idx, group = sc % 6 < 2, 2 * (sc // 6) + sc % 6, (sc % 6) // 2
            no_data = sc[(group < cell.dmrs_cdm_no_data) & ~is_dm]
            for l in dm_syms:
                _put_free(grid, r0 + l, sc[is_dm], g.PDSCH_DMRS, beta * a.gain * pdsch_seq[(sf, l)][idx[is_dm]])
                row = grid.kind[r0 + l]
                row[no_data[row[no_data] == g.EMPTY]] = RESERVED
            grid.mark(slice(r0 + cell.pdsch_start, r0 + nd), sc, g.PDSCH, a.bits, a.gain)
    grid.kind[grid.kind == RESERVED] = g.EMPTY
    g.fill_data(grid, rng)
    grid.info.update(traffic.info, ssbs=ssbs, dl_symbols=n_dl.tolist())
    return grid
