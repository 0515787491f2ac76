"""Cells the model missed: the band searched for LTE and NR cells wherever no identified cell is
(``radiofm annotate --scan-all``; off by default, it costs ~2 CPU-s per recording).

The physical-layer stages before this one only look around the model's boxes: a carrier the model did not see at
all (in-band SNR around 0 dB and below, where its spectrogram hardly shows it) gets no annotation. A cell's
synchronisation signals are found far below that (the PSS/SSS sum coherently over every block of the span), so
this stage searches the first :data:`SCAN_MS` of the recording, over the parts of the band no identified cell
occupies:

- LTE: :func:`radiofm.dsp.lte_cells.scan_lte_cells` (PSS + SSS + a CRS band at every DC position);
- NR: :func:`radiofm.dsp.nr_cellsearch.nr_pss_search` in overlapping windows of :data:`NR_WINDOW_HZ` (each
  returns its strongest SSB), then the cell's band from its PDSCH DMRS (:func:`radiofm.dsp.nr_cells.
  nr_cell_band`; without DMRS, idle, only the SSB's 20 RBs are known: the annotation covers those, edges "grid").

Each new cell becomes one carrier over the searched span (and takes any unidentified box lying at least half
inside its band, at any time), with ``radiofm:evidence`` saying it was found by this scan. A cell is annotated only
for the span searched: in a recording longer than :data:`SCAN_MS` it may be on elsewhere too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, read_span
from radiofm.annotate.lte_scan import cell_decision as lte_cell_decision
from radiofm.annotate.nr_scan import EDGE_GUARD_HZ, ssb_decision
from radiofm.annotate.nr_scan import cell_decision as nr_cell_decision
from radiofm.annotate.plan import Plan
from radiofm.data.recording import Recording
from radiofm.dsp import ofdm_rx
from radiofm.dsp.lte_cells import scan_lte_cells
from radiofm.dsp.nr_cells import N_RB_MAX, SSB_SUBCARRIERS, nr_cell_band
from radiofm.dsp.nr_cellsearch import nr_pss_search

SCAN_MS = 40.0  # span searched (two NR SSB bursts at the default 20 ms period, eight LTE PSS/SSS)
LTE_SCAN_MS = 20.0  # of which the LTE search uses the first (four PSS/SSS, as annotate's per-carrier stage)
NR_WINDOW_HZ = 16e6  # NR SSB search windows (a 30 kHz PSS is 3.8 MHz wide: windows overlap by 4 MHz)
NR_STEP_HZ = 12e6
MIN_FREE_HZ = 1.4e6  # a gap narrower than the narrowest carrier is not searched


def free_bands(lower_hz: float, upper_hz: float, taken: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Parts of [lower_hz, upper_hz] outside every ``taken`` interval, at least :data:`MIN_FREE_HZ` wide."""
    out, at = [], lower_hz
    for lo, hi in sorted(taken):
        if lo > at:
            out.append((at, min(lo, upper_hz)))
        at = max(at, hi)
    out.append((at, upper_hz))
    return [(lo, hi) for lo, hi in out if hi - lo >= MIN_FREE_HZ]


def _box(plan: Plan, band: tuple[float, float], n_cols: int, cls: int) -> Box:
    """A box of no model pixels over ``band`` (Hz from the centre) and the first ``n_cols`` columns."""
    rows = np.round(np.asarray(band) / plan.row_hz + plan.n_bins / 2 - plan.grid[0]).astype(int)
    lo, hi = np.clip(rows, 0, plan.n_rows - 1)
    return Box(int(lo), int(max(hi - 1, lo)), 0, n_cols, cls, 0.0, 0)


def _nr_windows(free: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for lo, hi in free:
        for a in np.arange(lo, hi, NR_STEP_HZ):
            out.append((float(a), float(min(a + NR_WINDOW_HZ, hi))))
            if a + NR_WINDOW_HZ >= hi:
                break
    return out


def find_missed_cells(
    boxes: Sequence[Box],
    decisions: Sequence[Decision],
    rec: Recording,
    plan: Plan,
    *,
    ms: float = SCAN_MS,
    nonfinite: str = "error",
) -> tuple[list[Box], list[Decision], int]:
    """(boxes, decisions, searches run) with every LTE or NR cell found outside the identified cells added as a
    carrier (module docstring)."""
    fs = plan.sample_rate_hz
    count = min(int(round(ms * 1e-3 * fs)), plan.n_samples)
    n_cols = min(int(np.ceil(count / plan.samples_per_column)), plan.n_columns)
    x = read_span(rec, 0, count, nonfinite)
    spectrum = ofdm_rx.span_spectrum(x)
    edge = 0.5 * fs - EDGE_GUARD_HZ
    known = {(d.label, d.pci) for d in decisions if d.decided_by == "phy" and d.pci is not None}
    taken = [d.band_hz for d in decisions if d.band_hz is not None and d.pci is not None]
    free = free_bands(-edge, edge, taken)
    found: list[tuple[Decision, tuple[float, float], int]] = []  # decision, band of its box, class
    searches = 0
    n_lte = min(count, int(round(LTE_SCAN_MS * 1e-3 * fs)))
    for lo, hi in free:
        searches += 1
        for cell in scan_lte_cells(x[:n_lte], fs, lower_hz=lo, upper_hz=hi, max_cells=8):
            if ("LTE", cell["pci"]) not in known:
                known.add(("LTE", cell["pci"]))
                band = (cell["lower_hz"], cell["upper_hz"])
                found.append((lte_cell_decision(cell, [], n_lte / fs * 1e3, (lo, hi)), band, 2))
    free = free_bands(-edge, edge, taken + [b for _, b, _ in found])
    for lo, hi in _nr_windows(free):
        searches += 1
        ssb = nr_pss_search(x, fs, lower_hz=lo, upper_hz=hi)
        if not ssb["detected"] or ssb.get("pci") is None or ("NR", ssb["pci"]) in known:
            continue
        known.add(("NR", ssb["pci"]))
        scs, centre = ssb["scs_hz"], ssb["ssb_center_hz"]
        base = ssb_decision(ssb, [], (lo, hi), count / fs * 1e3)
        reach = 12 * N_RB_MAX * scs
        window = (max(centre - reach, -edge), min(centre + reach, edge))
        band = nr_cell_band(x, fs, pci=ssb["pci"], scs_hz=scs, ssb_center_hz=centre, lower_hz=window[0],
                            upper_hz=window[1], spectrum=spectrum)  # fmt: skip
        if band is not None:
            found.append((nr_cell_decision(base, band, []), (band["lower_hz"], band["upper_hz"]), 1))
        else:  # idle: only its SSB is known
            half = 0.5 * SSB_SUBCARRIERS * scs
            found.append((base, (centre - half, centre + half), 1))
    out_b, out_d = list(boxes), list(decisions)
    for decision, band, cls in found:
        for i, (b, d) in enumerate(zip(out_b, out_d, strict=True)):
            blo, bhi = plan.band_hz(b.row_lo, b.row_hi)
            inside = min(bhi, band[1]) - max(blo, band[0])
            if not (d.decided_by == "phy" and d.pci is not None) and inside >= 0.5 * (bhi - blo):
                out_d[i] = decision
        out_b.append(_box(plan, band, n_cols, cls))
        out_d.append(decision)
    order = np.argsort([b.col_lo for b in out_b], kind="stable")
    return [out_b[i] for i in order], [out_d[i] for i in order], searches
