"""After the decisions (:mod:`radiofm.annotate.decide` and the cell stages): the boxes of one carrier become its
annotations, and each annotation gets its carrier's ``radiofm:`` fields. See :mod:`radiofm.annotate`.

- :func:`absorb_fragments`: a box lying inside a measured LTE cell's band while the cell is on is a piece of it and
  takes its decision;
- :func:`merge_by_decision`: the boxes sharing a decision with a measured band merge where they overlap or touch in
  time, and a cell identified by its synchronisation signals is one annotation across silences of up to
  :data:`CELL_GAP_MS` (a TDD cell's uplink slots, an idle cell's empty slots; 20 ms for NR, whose SSB bursts may
  be that far apart: :data:`NR_CELL_GAP_MS`): it was on throughout, whether or not its band was measured (a weak
  cell's pieces then keep the model's rows). Two decisions on the same cell (:func:`same_cell`: standard, PCI and
  band) count as one;
- :func:`annotation_extra`: the SigMF ``radiofm:`` keys of a decision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, overlap_hz
from radiofm.annotate.plan import Plan

# Silence inside one identified cell that does not end it (merge_by_decision), up to a radio frame: a TDD cell's
# uplink slots (DDSUU at 15 kHz leaves ~3 ms of each 5 ms period silent in a downlink capture), an idle cell's empty
# slots between its SSB bursts and CORESETs (1-8.5 ms in the py3gpp benchmark's scenes, docs/RESULTS.md). A longer
# one may be the carrier switched off (gated), so it ends the annotation.
CELL_GAP_MS = 10.0
# An NR cell sends nothing it must between its SSB bursts, which come every 20 ms at most where UEs search for
# cells (TS 38.213 §4.1: a UE assumes a 2-frame SSB periodicity for initial access): a silence of up to 20 ms
# inside an NR cell whose PCI was read is the cell without traffic (session 46: a weak TDD cell, SNR 0 dB, silent
# for 11.4 ms). An LTE cell sends its CRS in every downlink subframe, so it keeps CELL_GAP_MS.
NR_CELL_GAP_MS = 20.0
EDGE_BLEED_ROWS = 4  # how far (240 kHz rows) a piece of a measured LTE cell may stick out past its band


def absorb_fragments(boxes: Sequence[Box], decisions: Sequence[Decision], plan: Plan) -> list[Decision]:
    """Decisions after pieces of a measured LTE cell have joined it: a box whose band lies >= 80 % inside the band
    of an LTE carrier measured from its PSS (``lte_band_hz``), while that carrier is on, is a fragment of it (the
    model cut the cell into bands: sparse traffic, faint reference signals) and takes its decision, unless its
    own physical-layer evidence decided (another cell found in it). So is a piece at least half inside that
    sticks out by no more than :data:`EDGE_BLEED_ROWS` grid rows (the model's rows blur past the cell's edge)."""
    out = list(decisions)
    cells = {}
    for b, d in zip(boxes, decisions, strict=True):
        if d.band_hz is not None and d.label == "LTE" and d.evidence and d.evidence.get("lte_band_hz"):
            c0, c1 = cells.get(id(d), (d, b.col_lo, b.col_hi))[1:]
            cells[id(d)] = (d, min(c0, b.col_lo), max(c1, b.col_hi))
    for i, (b, d) in enumerate(zip(boxes, decisions, strict=True)):
        if id(d) in cells or d.decided_by == "phy":
            continue
        lo, hi = plan.band_hz(b.row_lo, b.row_hi)
        for cell, c0, c1 in cells.values():
            inside = overlap_hz((lo, hi), cell.band_hz)
            bleed = inside >= 0.5 * (hi - lo) and hi - lo - inside <= EDGE_BLEED_ROWS * plan.row_hz
            if b.col_lo < c1 and b.col_hi > c0 and (inside >= 0.8 * (hi - lo) or bleed):
                out[i] = cell
                break
    return out


def merge_by_decision(
    boxes: Sequence[Box], decisions: Sequence[Decision], plan: Plan | None = None
) -> tuple[list[Box], list[Decision]]:
    """Boxes of one carrier with a measured band (they share its :class:`Decision` and will share its edges)
    merged where they overlap or touch in time, so that a carrier is one annotation per time run. With the
    ``plan``, a cell whose synchronisation signals gave its PCI is on between two of its pieces at most
    :data:`CELL_GAP_MS` (NR: :data:`NR_CELL_GAP_MS`) apart: that silence is the cell idling between its bursts,
    so they merge across it; so do the pieces of such a cell whose band was not measured (a weak TDD cell seen in
    bursts), by their rows."""

    def cell_gap(d: Decision) -> int:  # columns of silence bridged inside the cell of decision d
        if plan is None or d.pci is None:
            return 0
        ms = NR_CELL_GAP_MS if d.label == "NR" else CELL_GAP_MS
        return int(ms * 1e-3 * plan.sample_rate_hz / plan.samples_per_column)

    out_b: list[Box] = []
    out_d: list[Decision] = []
    pieces: list[list[Box]] = []  # the input boxes of each output box
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].col_lo)
    reach = max((cell_gap(d) for d in decisions), default=0)  # in time order, an output box that ends before a
    live: list[int] = []  # start minus the widest gap can take no later piece: only the live ones are compared
    for i in order:
        b, d = boxes[i], decisions[i]
        gap = cell_gap(d)
        band = _piece_band(b, d, plan)
        live = [j for j in live if b.col_lo <= out_b[j].col_hi + reach]
        for j in live:
            m, e = out_b[j], out_d[j]
            near = b.col_lo <= m.col_hi + gap and m.col_lo <= b.col_hi + gap
            if band is None or not near:
                continue
            # one measured decision: its edges will be the annotation's; else the rows must agree (>= 90 %), judged
            # on the rows the annotation would keep so far (the pieces' median), not on their growing union
            shown = _kept_rows(m, e, pieces[j])
            if (e is d and d.band_hz is not None) or same_cell(e, d, _piece_band(shown, e, plan), band):
                out_b[j] = Box(
                    min(m.row_lo, b.row_lo), max(m.row_hi, b.row_hi), min(m.col_lo, b.col_lo),
                    max(m.col_hi, b.col_hi), m.cls, m.prob_sum + b.prob_sum, m.n_pixels + b.n_pixels,
                    m.nr_sum + b.nr_sum, m.lte_sum + b.lte_sum,
                )  # fmt: skip
                pieces[j].append(b)
                if e.band_hz is None and d.band_hz is not None:
                    out_d[j] = d  # a later piece's measured band is the cell's: keep it, not the first piece's rows
                break
        else:
            live.append(len(out_b))
            out_b.append(b)
            out_d.append(d)
            pieces.append([b])
    return [_kept_rows(m, d, p) for m, d, p in zip(out_b, out_d, pieces, strict=True)], out_d


def _kept_rows(merged: Box, d: Decision, pieces: Sequence[Box]) -> Box:
    """The box an annotation keeps: ``merged`` where decision ``d`` measured the band (its edges will be the
    annotation's) or one piece made it; else the median rows of its ``pieces`` (:func:`_median_rows`), not their
    union, which would grow by a row with every piece the model drew a row wider."""
    return merged if d.band_hz is not None or len(pieces) == 1 else _median_rows(merged, pieces)


def _median_rows(merged: Box, pieces: Sequence[Box]) -> Box:
    """``merged`` with its rows set to the duration-weighted median lower and upper row of ``pieces``."""
    w = np.array([p.col_hi - p.col_lo for p in pieces], float)

    def median(v):
        order = np.argsort(v, kind="stable")
        return int(np.asarray(v)[order][np.searchsorted(np.cumsum(w[order]), 0.5 * w.sum())])

    lo, hi = median([p.row_lo for p in pieces]), median([p.row_hi for p in pieces])
    return dataclasses.replace(merged, row_lo=lo, row_hi=max(hi, lo))


def same_cell(a: Decision, b: Decision, band_a=None, band_b=None) -> bool:
    """Two decisions on one cell: the same standard and PCI, bands that overlap by >= 90 % of the wider (pieces of
    a cell whose model boxes' edges differed by a row were decided apart, each finding its PCI). The bands are the
    decisions' measured ones unless ``band_a`` / ``band_b`` are given (:func:`_piece_band`)."""
    band_a = a.band_hz if band_a is None else band_a
    band_b = b.band_hz if band_b is None else band_b
    if a.pci is None or a.pci != b.pci or a.label != b.label or band_a is None or band_b is None:
        return False
    wider = max(band_a[1] - band_a[0], band_b[1] - band_b[0])
    return overlap_hz(band_a, band_b) >= 0.9 * wider


def _piece_band(b: Box, d: Decision, plan: Plan | None) -> tuple[float, float] | None:
    """The band by which a piece merges: its decision's measured band; for a cell identified by its PCI without
    one, the piece's own rows (needs the ``plan``); None: the piece merges with nothing."""
    if d.band_hz is not None:
        return d.band_hz
    return plan.band_hz(b.row_lo, b.row_hi) if plan is not None and d.pci is not None else None


def annotation_extra(d: Decision) -> dict:
    """The ``radiofm:`` keys of one annotation from its carrier's decision."""
    extra = {"radiofm:confidence": d.confidence, "radiofm:scores": dict(d.scores), "radiofm:decision": d.decided_by}
    extra["radiofm:edges"] = d.band_source if d.band_hz is not None else "grid"
    if d.pci is not None:
        extra["radiofm:pci"] = int(d.pci)
        if d.label == "LTE" and d.evidence is not None and d.evidence.get("duplex"):
            extra["radiofm:duplex"] = d.evidence["duplex"]  # FDD or TDD, from the PSS-SSS spacing
    if d.evidence is not None:
        extra["radiofm:evidence"] = d.evidence
    return extra
