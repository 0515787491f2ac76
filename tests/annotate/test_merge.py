"""After the decisions: pieces of a measured LTE cell join it, an identified cell bridges its silences
(radiofm.annotate.merge)."""

from __future__ import annotations

import numpy as np

from radiofm.annotate import decide, merge
from radiofm.annotate.boxes import Box
from radiofm.annotate.plan import plan_analysis

FS = 61.44e6


def test_a_piece_sticking_out_of_a_measured_lte_cell_joins_it_but_a_neighbour_does_not():
    """A box at least half inside a measured LTE cell's band that sticks out by < 4 rows (the model's rows
    blurring past the cell's edge) is part of the cell; one sticking out further (another carrier) is not."""
    plan = plan_analysis(FS, 2_457_600)
    cell = decide.Decision("LTE", {"NR": 0.1, "LTE": 0.9}, "phy", 0.9, {"lte_band_hz": [-10.5e6, -1.5e6]},
                           band_hz=(-10.5e6, -1.5e6))  # fmt: skip
    other = decide.Decision("unknown", {"NR": 0.5, "LTE": 0.5}, "undecided", 0.5)

    def box_at(lo_hz, hi_hz):  # the rows whose band is [lo_hz, hi_hz] (to a row)
        freq = plan.row_freq_hz(plan.grid[0] + np.arange(plan.grid[1] - plan.grid[0]))
        rows = np.flatnonzero((freq >= lo_hz) & (freq <= hi_hz))
        return Box(int(rows[0]), int(rows[-1]), 0, 100, 2, 1.0, 1)

    centre = box_at(-7.5e6, -4.5e6)
    for piece, joins in (((-2.3e6, -0.8e6), True), ((-2.3e6, 1.5e6), False), ((-2.3e6, -1.7e6), True)):
        got = merge.absorb_fragments([centre, box_at(*piece)], [cell, other], plan)
        assert (got[1] is cell) == joins, piece


def test_an_identified_cell_is_one_annotation_across_its_silences():
    """Pieces of a cell whose PCI is known merge across a silence of up to NR_CELL_GAP_MS (the cell idles between
    bursts), not across a longer one, also where they were decided apart; a carrier with a measured band but no
    PCI merges only where its pieces touch; pieces of another carrier never merge with it."""
    plan = plan_analysis(FS, 4 * 2_457_600)
    ms = 1e-3 * FS / plan.samples_per_column  # columns per millisecond
    band = (-10e6, -1e6)
    cell = decide.Decision("NR", {"NR": 1.0, "LTE": 0.0}, "phy", 0.9, {}, pci=17, band_hz=band)
    no_pci = decide.Decision("NR", {"NR": 1.0, "LTE": 0.0}, "spectrogram", 0.9, {}, band_hz=band)

    def box(t0_ms, t1_ms):
        return Box(10, 40, int(t0_ms * ms), int(t1_ms * ms), 1, 1.0, 1)

    pieces = [box(0, 5), box(8, 20), box(23, 40), box(40 + merge.NR_CELL_GAP_MS + 1, 100)]
    got, _ = merge.merge_by_decision(pieces, [cell] * 4, plan)
    assert [(b.col_lo, b.col_hi) for b in got] == [
        (pieces[0].col_lo, pieces[2].col_hi),
        (pieces[3].col_lo, pieces[3].col_hi),
    ]
    assert len(merge.merge_by_decision(pieces, [cell] * 4)[0]) == 4  # without the plan: no silence bridged
    assert len(merge.merge_by_decision(pieces, [no_pci] * 4, plan)[0]) == 4
    # the same cell decided twice (its pieces' boxes differed by a row): one annotation, the first decision's
    again = decide.Decision("NR", {"NR": 0.9, "LTE": 0.1}, "phy", 0.8, {}, pci=17, band_hz=(-10.05e6, -1e6))
    got, kept = merge.merge_by_decision(pieces[:3], [cell, again, cell], plan)
    assert [(b.col_lo, b.col_hi) for b in got] == [(pieces[0].col_lo, pieces[2].col_hi)] and kept == [cell]
    for other in (
        decide.Decision("NR", {"NR": 1.0, "LTE": 0.0}, "phy", 0.9, {}, pci=18, band_hz=band),  # another PCI
        decide.Decision("NR", {"NR": 1.0, "LTE": 0.0}, "phy", 0.9, {}, pci=17, band_hz=(-4e6, 5e6)),  # elsewhere
        decide.Decision("LTE", {"NR": 0.0, "LTE": 1.0}, "phy", 0.9, {}, pci=17, band_hz=band),  # other standard
    ):
        assert len(merge.merge_by_decision(pieces[:2], [cell, other], plan)[0]) == 2
    # an NR cell's SSB bursts may be 20 ms apart: NR bridges up to NR_CELL_GAP_MS, LTE (CRS every subframe) not
    apart = [box(0, 5), box(5 + merge.CELL_GAP_MS + 2, 40), box(40 + merge.NR_CELL_GAP_MS + 1, 100)]
    lte_cell = decide.Decision("LTE", {"NR": 0.0, "LTE": 1.0}, "phy", 0.9, {}, pci=17, band_hz=band)
    assert len(merge.merge_by_decision(apart, [cell] * 3, plan)[0]) == 2
    assert len(merge.merge_by_decision(apart, [lte_cell] * 3, plan)[0]) == 3
    near_limit = [box(0, 5), box(5 + merge.NR_CELL_GAP_MS - 1, 40)]  # 19 ms of silence
    assert len(merge.merge_by_decision(near_limit, [cell] * 2, plan)[0]) == 1
    assert len(merge.merge_by_decision(near_limit, [lte_cell] * 2, plan)[0]) == 2
    touching = [box(0, 5), box(5, 10)]  # no silence to bridge: only the decisions decide
    no_pci_too = decide.Decision("NR", {"NR": 1.0, "LTE": 0.0}, "spectrogram", 0.9, {}, band_hz=band)
    assert len(merge.merge_by_decision(touching, [no_pci, no_pci], plan)[0]) == 1
    assert len(merge.merge_by_decision(touching, [no_pci, no_pci_too], plan)[0]) == 2  # no PCI: not one cell
    assert len(merge.merge_by_decision(touching, [cell, again], plan)[0]) == 1


def test_an_identified_cell_without_a_measured_band_merges_by_its_rows():
    """A weak cell seen in bursts: its PCI read, its band not measured. Its pieces join across silences of up to
    CELL_GAP_MS, also pieces decided apart whose rows differ by one (>= 90 % of the wider shared), and the
    annotation keeps their median rows; pieces whose rows overlap less, or without a PCI, stay apart."""
    plan = plan_analysis(FS, 2_457_600)
    ms = 1e-3 * FS / plan.samples_per_column

    def lte(pci):
        return decide.Decision("LTE", {"NR": 0.1, "LTE": 0.9}, "phy", 0.9, {}, pci=pci)

    def box(t0_ms, t1_ms, r0=20, r1=60):
        return Box(r0, r1, int(t0_ms * ms), int(t1_ms * ms), 2, 1.0, 1)

    first, second, unknown = lte(482), lte(482), decide.Decision("unknown", {"NR": 0.5, "LTE": 0.5}, "undecided", 0.5)
    pieces = [box(5, 8), box(17, 20, 19, 60), box(26, 29, 21, 59)]
    got, kept = merge.merge_by_decision(pieces, [first, second, first], plan)
    # rows: the median edges of the pieces (20..60), not their union (19..60)
    assert [(b.row_lo, b.row_hi, b.col_lo, b.col_hi) for b in got] == [(20, 60, pieces[0].col_lo, pieces[2].col_hi)]
    assert kept == [first]
    assert len(merge.merge_by_decision(pieces[:2], [first, lte(483)], plan)[0]) == 2  # another PCI
    assert len(merge.merge_by_decision([box(5, 8), box(17, 20, 25, 60)], [first, second], plan)[0]) == 2  # 87.8 %
    assert len(merge.merge_by_decision(pieces, [unknown] * 3, plan)[0]) == 3  # no PCI: nothing bridged
    assert len(merge.merge_by_decision(pieces, [first] * 3)[0]) == 3  # without the plan: no rows to compare
    # the median is weighted by duration: a 15 ms piece's rows outweigh two 2 ms pieces drawn a row wider
    unequal = [box(0, 15, 20, 60), box(18, 20, 19, 61), box(23, 25, 19, 61)]
    (got,), _ = merge.merge_by_decision(unequal, [first] * 3, plan)
    assert (got.row_lo, got.row_hi) == (20, 60)
    # a later piece whose band was measured gives the cell its decision (and so its measured edges)
    measured = decide.Decision("LTE", {"NR": 0.1, "LTE": 0.9}, "phy", 0.9, {}, pci=482, band_hz=plan.band_hz(20, 60))
    _, kept = merge.merge_by_decision([box(5, 8), box(17, 40)], [first, measured], plan)
    assert kept == [measured]


def test_same_cell_needs_the_pci_the_standard_and_90_percent_of_the_band():
    def d(label="LTE", pci=7, band=(0.0, 9e6)):
        return decide.Decision(label, {"NR": 0.0, "LTE": 1.0}, "phy", 0.9, {}, pci=pci, band_hz=band)

    assert merge.same_cell(d(), d(band=(0.85e6, 9e6)))  # 8.15 of 9 MHz: 90.6 %
    assert not merge.same_cell(d(), d(band=(0.95e6, 9e6)))  # 8.05 of 9 MHz: 89.4 %
    assert not merge.same_cell(d(), d(band=(0.0, 10.1e6)))  # the wider is 10.1 MHz: 89.1 %
    assert not merge.same_cell(d(), d(pci=8)) and not merge.same_cell(d(), d(label="NR"))
    assert not merge.same_cell(d(pci=None), d(pci=None)) and not merge.same_cell(d(), d(band=None))
    assert merge.same_cell(d(band=None), d(band=None), (0.0, 9e6), (0.85e6, 9e6))  # bands given: the pieces' rows
