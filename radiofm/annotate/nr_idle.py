"""NR cells without PDSCH DMRS (idle: SSB and CORESET only; no PDSCH in the span; too weak): the band estimated
from the SSB, the model's boxes, the pieces on the cell's OFDM clock and the power beside them. Used by
:mod:`radiofm.annotate.nr_scan` (the cells its SSB searches found) and :mod:`radiofm.annotate.blind_scan`; see
:mod:`radiofm.annotate.nr_scan` for the whole stage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, is_cell, phy_decision
from radiofm.annotate.nr_fragments import relation
from radiofm.annotate.plan import Plan
from radiofm.annotate.spans import box_span, read_span
from radiofm.data.recording import Recording
from radiofm.dsp import ofdm_rx
from radiofm.dsp.lte_cells import scan_lte_cells
from radiofm.dsp.nr_cells import N_RB_MAX, SSB_SUBCARRIERS, pss_timing
from radiofm.errors import RadioFMError

EDGE_GUARD_HZ = 0.5e6  # kept off the recording's band edges
CHECK_LTE_HZ = 1.4e6  # an estimated band's extension this wide is searched for LTE cells (the narrowest carrier)
PIECE_MS = 10.0  # of a piece boxed apart read to test it against a cell without DMRS

# kept between a cell without DMRS and another carrier's band: a strong neighbour's edge leaks into the power
# blocks beside it, enough to pull the power walk across the noise between them. Two standard carriers side by
# side leave at least two guard bands between their occupied bands (>= 2 x 150 kHz: LTE at 3 MHz, 36.101 5.6)
NEIGHBOUR_GUARD_HZ = 250e3


def ssb_band(scs_hz: float, ssb_center_hz: float) -> tuple[float, float]:
    """(lower, upper) Hz of an SSB's 240 subcarriers: all of an idle cell that is sure to be its own."""
    half = 0.5 * SSB_SUBCARRIERS * scs_hz
    return ssb_center_hz - half, ssb_center_hz + half


def cell_span(ssb: dict, bands: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(lower, upper) Hz of what is sure to be an NR cell without DMRS: its SSB's band widened over ``bands`` (the
    boxes it took)."""
    edges = [ssb_band(float(ssb["scs_hz"]), float(ssb["center_hz"])), *bands]
    return min(e[0] for e in edges), max(e[1] for e in edges)


def idle_decision(
    base: Decision,
    members: Sequence[Box],
    bands: Sequence[tuple[float, float]],
    *,
    x: np.ndarray | None = None,
    fs: float = 0.0,
    limits: tuple[float, float] | None = None,
    spectrum: np.ndarray | None = None,
    floor: float | None = None,
    pieces: int = 0,
) -> Decision:
    """The decision of an NR cell whose DMRS were not found (idle, or too weak, or no PDSCH in the span): its band
    is its SSB's widened over the ``bands`` of the boxes it took (the CORESET, scheduled pieces), then, given the
    span ``x`` (and its ``spectrum`` when computed), over the power standing above the noise floor next to it
    within ``limits`` (:func:`radiofm.dsp.ofdm_rx.energy_band`: the CORESET and scheduled RBs the model did not
    box; ``floor``: the spectrum's :func:`~radiofm.dsp.ofdm_rx.noise_floor` when already taken). Power alone
    cannot tell this cell's RBs from a weak carrier beside it that no stage identified, so an extension of
    :data:`CHECK_LTE_HZ` or more is searched for LTE cells (:func:`scan_lte_cells`) and stops at the band of any
    found. Edges "estimated". ``pieces``: how many of the boxes were taken in by the cell's OFDM clock
    (:func:`pieces_of`), said in the evidence."""
    core = cell_span(base.evidence["ssb"], bands)
    lo, hi = core
    stopped = []
    if x is not None and limits is not None:
        spectrum = ofdm_rx.span_spectrum(x) if spectrum is None else spectrum
        floor = ofdm_rx.noise_floor(spectrum, fs) if floor is None else floor
        lo, hi = ofdm_rx.energy_band(spectrum, fs, core=core, limits=limits, floor=floor)
        kw = {"max_cells": 2, "spectrum": spectrum, "floor": floor}
        new_limits = list(limits)
        if core[0] - lo >= CHECK_LTE_HZ:
            cells = scan_lte_cells(x, fs, lower_hz=lo, upper_hz=core[0], **kw)
            if cells:
                new_limits[0] = max(limits[0], max(c["upper_hz"] for c in cells) + NEIGHBOUR_GUARD_HZ)
                stopped += cells
        if hi - core[1] >= CHECK_LTE_HZ:
            cells = scan_lte_cells(x, fs, lower_hz=core[1], upper_hz=hi, **kw)
            if cells:
                new_limits[1] = min(limits[1], min(c["lower_hz"] for c in cells) - NEIGHBOUR_GUARD_HZ)
                stopped += cells
        if stopped:  # the walk again, short of the cells found (the power beside them is partly theirs)
            lo, hi = ofdm_rx.energy_band(spectrum, fs, core=core, limits=tuple(new_limits), floor=floor)
    evidence = dict(base.evidence or {})
    evidence["nr_band"] = {"band_hz": [round(lo), round(hi)], "from": "SSB, the model's boxes and the power beside "
                           "them (no DMRS found)", "ssb_and_boxes_hz": [round(core[0]), round(core[1])]}  # fmt: skip
    items = [
        f"no PDSCH DMRS of PCI {base.pci} found: band {lo / 1e6:.3f}..{hi / 1e6:.3f} MHz from its SSB, the model's "
        f"boxes ({core[0] / 1e6:.3f}..{core[1] / 1e6:.3f} MHz) and the power above the noise beside them"
    ]
    items += [f"stopped at LTE cell PCI {c['pci']} ({c['lower_hz'] / 1e6:.3f}..{c['upper_hz'] / 1e6:.3f} MHz)"
              for c in stopped]  # fmt: skip
    if pieces:
        items.append(f"{pieces} piece(s) the model boxed apart run on this cell's OFDM symbol timing and subcarrier "
                     "raster: taken into the cell")  # fmt: skip
    evidence["items"] = [*evidence.get("items", []), *items]
    return phy_decision("NR", members, evidence, base.pci, (lo, hi), band_source="estimated")


def energy_limits(
    ssb: dict, fs: float, taken: Sequence[tuple[float, float]], within: tuple[float, float] | None = None
) -> tuple[float, float]:
    """How far an NR cell without DMRS may extend: its largest carrier around the SSB (275 RB either side), the
    recording's band (:data:`EDGE_GUARD_HZ` off its edges) or ``within``, up to :data:`NEIGHBOUR_GUARD_HZ` short
    of the nearest ``taken`` band (other carriers') on either side."""
    centre, reach = float(ssb["center_hz"]), 12 * N_RB_MAX * float(ssb["scs_hz"])
    lo, hi = within or (-0.5 * fs + EDGE_GUARD_HZ, 0.5 * fs - EDGE_GUARD_HZ)
    lo, hi = max(lo, centre - reach), min(hi, centre + reach)
    for a, b in taken:
        if b <= centre:
            lo = max(lo, b + NEIGHBOUR_GUARD_HZ)
        elif a >= centre:
            hi = min(hi, a - NEIGHBOUR_GUARD_HZ)
    return lo, hi


def pieces_of(
    base: Decision, boxes: Sequence[Box], decisions: Sequence[Decision], members: Sequence[int], x: np.ndarray,
    x_start: int, limits: tuple[float, float], rec: Recording, plan: Plan, nonfinite: str,
) -> tuple[list[int], list[int]]:  # fmt: skip
    """(pieces, apart): indices of the boxes no cell identified, inside ``limits`` and not yet ``members``, whose
    OFDM runs on the clock of ``base``'s cell, and of those that another transmitter sent
    (:func:`radiofm.annotate.nr_fragments.relation` "same" and "other"; the cell's PSS timed in the span ``x``
    read from sample ``x_start``)."""
    ssb = base.evidence["ssb"]
    scs, centre, fs = float(ssb["scs_hz"]), float(ssb["center_hz"]), plan.sample_rate_hz
    on_grid = centre - float(ssb.get("grid_shift_hz", 0.0))  # a subcarrier of the carrier's grid (odd k_SSB)
    bands = {i: plan.band_hz(b.row_lo, b.row_hi) for i, b in enumerate(boxes)}
    candidates = [
        i for i, d in enumerate(decisions)
        if i not in members and not is_cell(d) and limits[0] <= bands[i][0] and bands[i][1] <= limits[1]
    ]  # fmt: skip
    if not candidates:
        return [], []
    try:
        pss = x_start + pss_timing(x, fs, ssb_center_hz=centre, scs_hz=scs, n_id2=base.pci % 3)
    except RadioFMError:
        return [], []
    same, apart = [], []
    for i in candidates:
        start, count = box_span(boxes[i], plan, PIECE_MS)
        if count <= 0:
            continue
        piece = read_span(rec, start, count, nonfinite)
        how = relation(piece, fs, band_hz=bands[i], scs_hz=scs, pss_cp_start=pss - start, ssb_center_hz=on_grid)
        if how == "same":
            same.append(i)
        elif how == "other":
            apart.append(i)
    return same, apart
