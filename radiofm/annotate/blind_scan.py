"""Cells the model missed: the band searched for NR and LTE cells wherever no identified cell is (by default; ~1.4
and ~2 CPU-s per recording; ``--no-scan-nr`` / ``--no-scan-lte`` skip them) (:func:`find_missed_cells`), and always
beside a box that reaches beyond the cell identified in it (:func:`find_cells_beside`).

The physical-layer stages before this one only look around the model's boxes: a carrier the model did not see at
all (in-band SNR around 0 dB and below, where its spectrogram hardly shows it) gets no annotation. A cell's
synchronisation signals are found far below that (the PSS/SSS sum coherently over every block of the span), so
this stage searches the first :data:`SCAN_MS` of the recording, over the parts of the band no identified cell
occupies:

- LTE: :func:`radiofm.dsp.lte_cells.scan_lte_cells` (PSS + SSS + a CRS band at every DC position), also within
  :data:`DSS_DC_REACH_HZ` of each 15 kHz NR cell's centre (an LTE cell sharing its channel, DSS);
- NR: :func:`radiofm.dsp.nr_cellsearch.nr_pss_search` in overlapping windows of :data:`NR_WINDOW_HZ` (each
  returns its strongest SSB), then the cell's band from its PDSCH DMRS (:func:`radiofm.dsp.nr_cells.
  nr_cell_band`; without DMRS (idle, weak) the SSB's band widened over the power above the noise beside it, edges
  "estimated").

Each new cell becomes one carrier over the searched span (and takes any unidentified box lying at least half
inside its band, at any time), with ``radiofm:evidence`` saying it was found by this scan. A cell is annotated only
for the span searched: in a recording longer than :data:`SCAN_MS` it may be on elsewhere too.

The same search runs, by default, on the part of a box that sticks out of the measured band of the cell
identified in it by at least :data:`MIN_FREE_HZ`: the model drew one box over two adjacent carriers and the
per-carrier search found the stronger one. A cell found there gets a copy of the box, with its own band.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, in_time_order, is_cell, overlap_hz
from radiofm.annotate.lte_scan import cell_decision as lte_cell_decision
from radiofm.annotate.nr_idle import EDGE_GUARD_HZ, energy_limits, idle_decision
from radiofm.annotate.nr_scan import cell_decision as nr_cell_decision
from radiofm.annotate.nr_scan import measure_band, ssb_decision
from radiofm.annotate.plan import Plan
from radiofm.annotate.spans import LastSpan
from radiofm.data.recording import Recording
from radiofm.dsp.lte_cells import scan_lte_cells
from radiofm.dsp.nr_cellsearch import nr_pss_search

SCAN_MS = 40.0  # span searched (two NR SSB bursts at the default 20 ms period; eight LTE PSS: -4 dB cells need them)
NR_WINDOW_HZ = 16e6  # NR SSB search windows (a 30 kHz PSS is 3.8 MHz wide: windows overlap by 4 MHz)
NR_STEP_HZ = 12e6
MIN_FREE_HZ = 1.4e6  # a gap narrower than the narrowest carrier is not searched
# an LTE DC searched this far either side of a 15 kHz NR cell's centre (DSS: the LTE carrier shares the NR one's
# channel, their centres a few hundred kHz apart at most; a review's cells: 0 and 270 kHz)
DSS_DC_REACH_HZ = 1.2e6
MIN_SPAN_MS = 5.0  # a box shorter than one LTE PSS period is not searched beside its cell


def free_bands(lower_hz: float, upper_hz: float, taken: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Parts of [lower_hz, upper_hz] outside every ``taken`` interval, at least :data:`MIN_FREE_HZ` wide."""
    out, at = [], lower_hz
    for lo, hi in sorted(taken):
        if lo > at:
            out.append((at, min(lo, upper_hz)))
        at = max(at, hi)
    out.append((at, upper_hz))
    return [(lo, hi) for lo, hi in out if hi - lo >= MIN_FREE_HZ]


def _quiet(boxes: Sequence[Box], decisions: Sequence[Decision], plan: Plan) -> list[tuple[float, float]]:
    """The bands (Hz from the centre) of the boxes judged to hold no OFDM clock (``radiofm:decision`` "no OFDM")."""
    return [
        plan.band_hz(b.row_lo, b.row_hi) for b, d in zip(boxes, decisions, strict=True) if d.decided_by == "no OFDM"
    ]


def _box(plan: Plan, band: tuple[float, float], cols: tuple[int, int], cls: int) -> Box:
    """A box of no model pixels over ``band`` (Hz from the centre) and columns [cols[0], cols[1])."""
    rows = np.round(np.asarray(band) / plan.row_hz + plan.n_bins / 2 - plan.grid[0]).astype(int)
    lo, hi = np.clip(rows, 0, plan.n_rows - 1)
    return Box(int(lo), int(max(hi - 1, lo)), int(cols[0]), int(cols[1]), cls, 0.0, 0)


def _nr_windows(free: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for lo, hi in free:
        for a in np.arange(lo, hi, NR_STEP_HZ):
            out.append((float(a), float(min(a + NR_WINDOW_HZ, hi))))
            if a + NR_WINDOW_HZ >= hi:
                break
    return out


def search_cells(
    span: LastSpan,
    start: int,
    count: int,
    fs: float,
    free: Sequence[tuple[float, float]],
    known: set,
    *,
    nr: bool = True,
    lte: bool = True,
    quiet: Sequence[tuple[float, float]] = (),
    lte_free: Sequence[tuple[float, float]] | None = None,
) -> tuple[list[tuple[Decision, tuple[float, float], int]], int]:
    """LTE (unless ``lte`` is False) and NR (unless ``nr`` is False) cells in the ``free`` bands of the samples
    [start, start + count) (read by ``span``, :class:`~radiofm.annotate.spans.LastSpan`: one read, one FFT and one
    noise floor for every band searched, shared with the stages before when they read the same samples) whose
    (label, PCI) is not in ``known`` (updated): ([(decision, band of its box, class 1 NR / 2 LTE)], searches run).
    An NR cell without DMRS is widened over the power beside its SSB up to the cells found and the ``quiet``
    bands (signals with no OFDM clock: a radar or a hopper beside the cell is not its traffic; session 56).
    ``lte_free``: the bands the LTE search covers, when not ``free`` (:func:`find_missed_cells`)."""
    found: list[tuple[Decision, tuple[float, float], int]] = []
    searches = 0
    x, spectrum = span(start, count)
    for lo, hi in (free if lte_free is None else lte_free) if lte else ():
        searches += 1
        kw = {"max_cells": 8, "spectrum": spectrum, "floor": span.floor()}
        for cell in scan_lte_cells(x, fs, lower_hz=lo, upper_hz=hi, **kw):
            if ("LTE", cell["pci"]) not in known:
                known.add(("LTE", cell["pci"]))
                band = (cell["lower_hz"], cell["upper_hz"])
                found.append((lte_cell_decision(cell, [], x.size / fs * 1e3, (lo, hi)), band, 2))
    lte_bands = [b for _, b, _ in found]
    nr_free = [f for band in free for f in free_bands(*band, lte_bands)] if nr else []
    for lo, hi in _nr_windows(nr_free):
        searches += 1
        ssb = nr_pss_search(x, fs, lower_hz=lo, upper_hz=hi, spectrum=spectrum)
        if not ssb["detected"] or ssb.get("pci") is None or ("NR", ssb["pci"]) in known:
            continue
        known.add(("NR", ssb["pci"]))
        scs, centre = ssb["scs_hz"], ssb["ssb_center_hz"]
        base = ssb_decision(ssb, [], (lo, hi), x.size / fs * 1e3)
        band = measure_band(x, fs, pci=ssb["pci"], scs_hz=scs, ssb_center_hz=centre,
                            grid_shift_hz=float(ssb.get("ssb_grid_shift_hz") or 0.0), spectrum=spectrum)  # fmt: skip
        if band is not None:
            found.append((nr_cell_decision(base, band, []), (band["lower_hz"], band["upper_hz"]), 1))
        else:  # idle or weak: its SSB, and the power beside it up to the cells found
            within = next(((a, b) for a, b in free if a <= centre <= b), (lo, hi))
            taken = [band for _, band, _ in found] + [q for q in quiet if not q[0] <= centre <= q[1]]
            limits = energy_limits(base.evidence["ssb"], fs, taken, within)
            idle = idle_decision(base, [], [], x=x, fs=fs, limits=limits, spectrum=spectrum, floor=span.floor())
            found.append((idle, idle.band_hz, 1))
    return found, searches


def _add(boxes: list[Box], decisions: list[Decision], plan: Plan, found, cols: tuple[int, int]) -> None:
    """Each found (decision, band, class): unidentified boxes lying at least half inside the band take the
    decision, and a box of the band over columns ``cols`` is added with it (in place)."""
    for decision, band, cls in found:
        for i, (b, d) in enumerate(zip(boxes, decisions, strict=True)):
            blo, bhi = plan.band_hz(b.row_lo, b.row_hi)
            if not is_cell(d) and overlap_hz((blo, bhi), band) >= 0.5 * (bhi - blo):
                decisions[i] = decision
        boxes.append(_box(plan, band, cols, cls))
        decisions.append(decision)


def _known(decisions: Sequence[Decision]) -> tuple[set, list]:
    """((label, PCI) of every identified cell, the bands measured for them, each once: a long recording's
    carrier has thousands of boxes sharing its decision, and each box's search sorted them all)."""
    known = {(d.label, d.pci) for d in decisions if is_cell(d)}
    bands = (tuple(d.band_hz) for d in decisions if d.band_hz is not None and d.pci is not None)
    return known, list(dict.fromkeys(bands))


def _nr15_bands(decisions: Sequence[Decision]) -> set[tuple[float, float]]:
    """The measured bands of the identified NR cells whose SSB is at 15 kHz, the numerology LTE shares."""
    return {tuple(d.band_hz) for d in decisions if is_cell(d) and d.label == "NR" and d.band_hz is not None
            and float((d.evidence or {}).get("ssb", {}).get("scs_hz", 0.0)) == 15e3}  # fmt: skip


def find_missed_cells(
    boxes: Sequence[Box],
    decisions: Sequence[Decision],
    rec: Recording,
    plan: Plan,
    *,
    ms: float = SCAN_MS,
    nonfinite: str = "error",
    nr: bool = True,
    lte: bool = True,
    span: LastSpan | None = None,
) -> tuple[list[Box], list[Decision], int]:
    """(boxes, decisions, searches run) with every LTE (unless ``lte`` is False) or NR (unless ``nr`` is False)
    cell found outside the identified cells added as a carrier (module docstring). ``span``: the reader of the
    recording's spans (one the other stages share; default: a new one)."""
    fs = plan.sample_rate_hz
    count = min(int(round(ms * 1e-3 * fs)), plan.n_samples)
    n_cols = min(int(np.ceil(count / plan.samples_per_column)), plan.n_columns)
    edge = 0.5 * fs - EDGE_GUARD_HZ
    known, taken = _known(decisions)
    span = LastSpan(rec, nonfinite) if span is None else span
    free = free_bands(-edge, edge, taken)
    # LTE is searched around the centre of 15 kHz NR cells too: an NR cell sharing an LTE carrier's channel (DSS)
    # whose LTE cell the per-carrier stage did not find (annotate.shared) is otherwise lost under the NR cell's band
    # (session 62). The whole NR band would cost ~0.7 CPU-s per recording; DSS shares the channel, so the LTE DC lies
    # near the NR carrier's centre
    shared = [(max(0.5 * (lo + hi) - DSS_DC_REACH_HZ, -edge), min(0.5 * (lo + hi) + DSS_DC_REACH_HZ, edge))
              for lo, hi in sorted(_nr15_bands(decisions))]  # fmt: skip
    lte_free = free + [b for b in shared if b[1] > b[0]]
    found, searches = search_cells(
        span, 0, count, fs, free, known, nr=nr, lte=lte, quiet=_quiet(boxes, decisions, plan), lte_free=lte_free
    )
    out_b, out_d = list(boxes), list(decisions)
    _add(out_b, out_d, plan, found, (0, n_cols))
    return *in_time_order(out_b, out_d), searches


def find_cells_beside(
    boxes: Sequence[Box],
    decisions: Sequence[Decision],
    rec: Recording,
    plan: Plan,
    *,
    ms: float = SCAN_MS,
    nonfinite: str = "error",
    span: LastSpan | None = None,
) -> tuple[list[Box], list[Decision], int]:
    """(boxes, decisions, searches run) after the part of each box sticking out of its measured cell's band by at
    least :data:`MIN_FREE_HZ` was searched for other cells (:func:`search_cells`, over ``ms`` from the box's
    start): the model drew one box over two carriers, the per-carrier stage identified one. Each cell found
    there takes a copy of the box (its band from the cell) and any unidentified box lying half inside it.
    ``span``: the reader of the recording's spans (one the other stages share; default: a new one)."""
    span = LastSpan(rec, nonfinite) if span is None else span
    fs = plan.sample_rate_hz
    edge = 0.5 * fs - EDGE_GUARD_HZ
    known, taken = _known(decisions)
    quiet = _quiet(boxes, decisions, plan)
    out_b, out_d = list(boxes), list(decisions)
    searches, searched = 0, set()
    for b, d in zip(boxes, decisions, strict=True):
        if d.band_hz is None or d.pci is None:
            continue
        blo, bhi = plan.band_hz(b.row_lo, b.row_hi)
        free = free_bands(max(blo, -edge), min(bhi, edge), taken)
        keys = {(round(lo / 1e6), round(hi / 1e6)) for lo, hi in free}  # to the MHz: the carrier's other time runs
        if not free or keys <= searched:  # (a long recording's boxes of one carrier) are not searched again
            continue
        searched |= keys
        start = int(round(b.col_lo * plan.samples_per_column))
        count = min(int(round(ms * 1e-3 * fs)), plan.n_samples - start)
        if count < MIN_SPAN_MS * 1e-3 * fs:
            continue
        found, n = search_cells(span, start, count, fs, free, known, quiet=quiet)
        searches += n
        _add(out_b, out_d, plan, found, (b.col_lo, b.col_hi))
        taken += [band for _, band, _ in found]
    return *in_time_order(out_b, out_d), searches
