"""NR carriers put back together around their SSB: one carrier per cell, from point A to the RBs it was seen using.

The spectrogram model sees a partly loaded NR carrier in pieces (the SS/PBCH block, the CORESET, each group of
scheduled RBs), and :mod:`radiofm.annotate.decide` searches each piece on its own band: a piece holding the
whole SSB is labelled NR with its PCI, the others stay separate carriers, often "unknown". Two steps follow.

1. **SSB scan.** Around every carrier not yet identified, :func:`radiofm.dsp.nr_cellsearch.nr_pss_search`
   looks for an SSB within :data:`SSB_REACH_HZ` of it (an SSB that overlaps a piece has its centre there) over
   :data:`SSB_SCAN_MS` from the piece's start (the bursts need not fall inside the box the model drew). The
   boxes of that carrier overlapping the SSB found take an NR decision with its PCI.
2. **Band from the DMRS.** NR has no reference signal over the whole band, but the PDSCH DMRS of every scheduled
   RB is numbered from point A: :func:`radiofm.dsp.nr_cells.nr_cell_band` finds the cell's DMRS anywhere within
   reach of its SSB over :data:`MAX_SCAN_MS`, which gives the carrier's lower edge to the subcarrier and every RB
   the cell used. The band is point A up to the narrowest 38.101-1 bandwidth holding every RB seen (a lower
   bound of the configured one: an RB never scheduled cannot be seen). Every box lying at least half inside it,
   at any time of the recording, becomes part of the cell: one annotation per time run, labelled NR with the
   cell's PCI and band (``radiofm:edges`` "measured", ``radiofm:evidence`` ``nr_band``).

Boxes of another identified cell (an LTE cell, an NR cell with another PCI) are never taken. A cell whose DMRS are
not found (idle: SSB and CORESET only; no PDSCH in the span; too weak) takes only the boxes lying at least half
inside its SSB's band, and its band is the SSB's widened over those boxes (the SSB lies inside the carrier; the
model's boxes of an idle cell are mostly its CORESET) and over the power above the noise floor beside them, up to
:data:`NEIGHBOUR_GUARD_HZ` short of the nearest other carrier (:func:`idle_decision`): ``radiofm:edges``
"estimated". Before that, every box no cell identified within the cell's reach (:func:`energy_limits`) is tested
against the cell's OFDM clock (:func:`radiofm.annotate.nr_fragments.relation`): the pieces on its symbol timing
and subcarrier raster (the CORESET and PDCCH bursts the model boxed apart) are taken into it and widen its band;
a box whose OFDM runs on another clock is another transmitter's carrier and bounds the band as another cell does
(the power walk bridges gaps of noise up to 3 MHz wide, and took a neighbouring NR carrier 1.5 MHz away). Each SSB
search costs what the per-carrier one does on a band 8 MHz wider; each DMRS search about 0.3-0.6 CPU-s for a
61.44 MS/s, 40 ms span (one FFT per OFDM symbol over the band, then FFT correlations).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import (
    Decision,
    LastSpan,
    box_span,
    in_time_order,
    is_cell,
    overlap_hz,
    phy_decision,
    read_span,
    sync_evidence,
)
from radiofm.annotate.nr_fragments import relation
from radiofm.annotate.plan import Plan
from radiofm.data.recording import Recording
from radiofm.dsp import ofdm_rx
from radiofm.dsp.lte_cells import scan_lte_cells
from radiofm.dsp.nr_cells import N_RB_MAX, SSB_SUBCARRIERS, nr_cell_band, pss_timing
from radiofm.dsp.nr_cellsearch import nr_pss_search
from radiofm.dsp.threads import usable_cores
from radiofm.errors import RadioFMError

MAX_SCAN_MS = 40.0  # span searched for DMRS (the MATLAB example's traffic fills the first slots of each 10/20 ms)
SSB_SCAN_MS = 40.0  # span searched for an SSB (two bursts at the default 20 ms period)
MIN_SSB_SCAN_MS = 5.0
SSB_REACH_HZ = 4.0e6  # an SSB (7.2 MHz wide at 30 kHz) overlapping a piece has its centre within 3.6 MHz of it
EDGE_GUARD_HZ = 0.5e6  # kept off the recording's band edges
CHECK_LTE_HZ = 1.4e6  # an estimated band's extension this wide is searched for LTE cells (the narrowest carrier)
PIECE_MS = 10.0  # of a piece boxed apart read to test it against a cell without DMRS
# kept between a cell without DMRS and another carrier's band: a strong neighbour's edge leaks into the power
# blocks beside it, enough to pull the power walk across the noise between them. Two standard carriers side by
# side leave at least two guard bands between their occupied bands (>= 2 x 150 kHz: LTE at 3 MHz, 36.101 5.6)
NEIGHBOUR_GUARD_HZ = 250e3


def _nr_cell(d: Decision) -> bool:
    return d.label == "NR" and d.decided_by == "phy" and d.pci is not None and bool((d.evidence or {}).get("ssb"))


def _other_cell(d: Decision, pci: int) -> bool:
    """A box already identified as another cell."""
    return is_cell(d) and not (d.label == "NR" and d.pci == pci)


def _same_cell(d: Decision, base: Decision) -> bool:
    """Another decision on the cell ``base``: the same PCI from an SSB at the same place (two carriers' stages
    found it, e.g. on boxes of different widths)."""
    if not _nr_cell(d) or d.pci != base.pci:
        return False
    a, b = d.evidence["ssb"], base.evidence["ssb"]
    return a["scs_hz"] == b["scs_hz"] and abs(float(a["center_hz"]) - float(b["center_hz"])) < 0.5 * float(b["scs_hz"])


def ssb_band(scs_hz: float, ssb_center_hz: float) -> tuple[float, float]:
    """(lower, upper) Hz of an SSB's 240 subcarriers: all of an idle cell that is sure to be its own."""
    half = 0.5 * SSB_SUBCARRIERS * scs_hz
    return ssb_center_hz - half, ssb_center_hz + half


def cell_span(ssb: dict, bands: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(lower, upper) Hz of what is sure to be an NR cell without DMRS: its SSB's band widened over ``bands`` (the
    boxes it took)."""
    edges = [ssb_band(float(ssb["scs_hz"]), float(ssb["center_hz"])), *bands]
    return min(e[0] for e in edges), max(e[1] for e in edges)


def measure_band(x: np.ndarray, fs: float, *, pci: int, scs_hz: float, ssb_center_hz: float, spectrum=None):
    """:func:`radiofm.dsp.nr_cells.nr_cell_band` of the cell over every carrier position its SSB allows (up to
    275 RB either side) inside the recording's band (:data:`EDGE_GUARD_HZ` off its edges), or None."""
    reach, edge = 12 * N_RB_MAX * scs_hz, 0.5 * fs - EDGE_GUARD_HZ
    lo, hi = max(ssb_center_hz - reach, -edge), min(ssb_center_hz + reach, edge)
    return nr_cell_band(x, fs, pci=pci, scs_hz=scs_hz, ssb_center_hz=ssb_center_hz, lower_hz=lo, upper_hz=hi,
                        spectrum=spectrum)  # fmt: skip


def cell_decision(base: Decision, band: dict, members: Sequence[Box]) -> Decision:
    """The decision of an NR cell whose band the DMRS gave: ``base``'s evidence plus ``nr_band``."""
    lo, hi = band["lower_hz"], band["upper_hz"]
    seen = int(np.count_nonzero(band["rb_present"]))
    evidence = dict(base.evidence or {})
    evidence["nr_band"] = {
        "band_hz": [round(lo), round(hi)],
        "n_rb": band["n_rb"],
        "point_a_hz": round(band["start_hz"]),
        "rbs_with_dmrs": seen,
        "top_rb_seen": band["top_rb_seen"],
        "dmrs_z": round(band["z"], 1),
        "upper_edge": "narrowest 38.101-1 bandwidth holding the RBs seen",
    }
    evidence["items"] = [
        *evidence.get("items", []),
        f"PDSCH DMRS of PCI {base.pci} (z {band['z']:.0f}) on {seen} RBs from point A at "
        f"{band['start_hz'] / 1e6:.3f} MHz: carrier of at least {band['n_rb']} RB",
    ]
    return phy_decision("NR", members, evidence, base.pci, (lo, hi))


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
    (:func:`_pieces_of`), said in the evidence."""
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


def _pieces_of(
    base: Decision, boxes: Sequence[Box], decisions: Sequence[Decision], members: Sequence[int], x: np.ndarray,
    x_start: int, limits: tuple[float, float], rec: Recording, plan: Plan, nonfinite: str,
) -> tuple[list[int], list[int]]:  # fmt: skip
    """(pieces, apart): indices of the boxes no cell identified, inside ``limits`` and not yet ``members``, whose
    OFDM runs on the clock of ``base``'s cell, and of those that another transmitter sent
    (:func:`radiofm.annotate.nr_fragments.relation` "same" and "other"; the cell's PSS timed in the span ``x``
    read from sample ``x_start``)."""
    ssb = base.evidence["ssb"]
    scs, centre, fs = float(ssb["scs_hz"]), float(ssb["center_hz"]), plan.sample_rate_hz
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
        how = relation(piece, fs, band_hz=bands[i], scs_hz=scs, pss_cp_start=pss - start, ssb_center_hz=centre)
        if how == "same":
            same.append(i)
        elif how == "other":
            apart.append(i)
    return same, apart


def ssb_decision(found: dict, members: Sequence[Box], window: tuple[float, float], span_ms: float) -> Decision:
    """The decision of a carrier whose SSB the scan found (its PCI, no band yet)."""
    z = max(found["z"], found["z_burst"])
    evidence = sync_evidence(
        "NR",
        found["pci"],
        span_ms,
        ssb={"scs_hz": found["scs_hz"], "center_hz": round(found["ssb_center_hz"])},
        items=[
            f"NR PSS z {z:.1f} and SSS z {found['sss_z']:.1f}: PCI {found['pci']}, SSB at "
            f"{found['ssb_center_hz'] / 1e6:.3f} MHz, {found['scs_hz'] / 1e3:.0f} kHz (scan of "
            f"{window[0] / 1e6:.2f}..{window[1] / 1e6:.2f} MHz)"
        ],
    )
    return phy_decision("NR", members, evidence, found["pci"])


def _window(start: int, plan: Plan, ms: float) -> tuple[int, int]:
    """(start, count) in samples: ``ms`` from ``start`` (earlier where the recording ends first)."""
    count = min(int(round(ms * 1e-3 * plan.sample_rate_hz)), plan.n_samples)
    return max(min(start, plan.n_samples - count), 0), count


def _span(boxes: Sequence[Box], plan: Plan, ms: float) -> tuple[int, int]:
    """:func:`_window` from the start of the longest of ``boxes``: a cell's SSB bursts and scheduled slots need
    not fall inside the box the model drew."""
    main = max(boxes, key=lambda b: b.col_hi - b.col_lo)
    return _window(int(round(main.col_lo * plan.samples_per_column)), plan, ms)


def _scan_ssbs(boxes: list[Box], decisions: list[Decision], plan: Plan, max_ms: float,
               span: LastSpan) -> tuple[list[tuple[Decision, int]], int]:  # fmt: skip
    """Search an NR SSB around every carrier not yet identified. The boxes of that carrier overlapping a found SSB
    take an NR decision with its PCI (in place). Returns ([(decision, start sample of the search)] of every cell
    found, even one no box overlaps, and the searches run)."""
    fs = plan.sample_rate_hz
    edge = 0.5 * fs - EDGE_GUARD_HZ
    found_at = [float(d.evidence["ssb"]["center_hz"]) for d in decisions if _nr_cell(d)]
    groups: dict[int, list[int]] = {}
    for i, d in enumerate(decisions):
        if not is_cell(d):
            groups.setdefault(id(d), []).append(i)
    wanted = []  # (members, lo, hi, start, count) of each carrier to search, in order
    for members in groups.values():
        bands = [plan.band_hz(boxes[i].row_lo, boxes[i].row_hi) for i in members]
        lo = max(min(b[0] for b in bands) - SSB_REACH_HZ, -edge)
        hi = min(max(b[1] for b in bands) + SSB_REACH_HZ, edge)
        start, count = _span([boxes[i] for i in members], plan, max_ms)
        if count >= MIN_SSB_SCAN_MS * 1e-3 * fs and hi - lo >= 2 * SSB_REACH_HZ:
            wanted.append((members, lo, hi, start, count))
    searches, cells = 0, []
    for members, lo, hi, start, count, found in _searched(wanted, found_at, span, fs):
        searches += 1
        if not found["detected"] or found.get("pci") is None:
            continue
        ssb = ssb_band(found["scs_hz"], found["ssb_center_hz"])
        own = [i for i in members if overlap_hz(plan.band_hz(boxes[i].row_lo, boxes[i].row_hi), ssb) > 0]
        decision = ssb_decision(found, [boxes[i] for i in own or members], (lo, hi), count / fs * 1e3)
        for i in own:
            decisions[i] = decision
        found_at.append(found["ssb_center_hz"])
        cells.append((decision, start))
    return cells, searches


def _searched(wanted: list[tuple], found_at: list[float], span: LastSpan, fs: float):
    """Yield (members, lo, hi, start, count, nr_pss_search's result) for each of ``wanted`` in order, unless a cell
    already found (an SSB centre in ``found_at``, which the caller extends as it goes) lies in its band: the band
    stage takes its pieces. Consecutive searches over the same span (every carrier of a 40 ms capture) run on
    the usable cores at once, on one read of the span; a search a cell found before it makes unnecessary is
    computed but not used, so the results are exactly the one-by-one ones."""

    def covered(w: tuple) -> bool:
        return any(w[1] <= f <= w[2] for f in found_at)

    workers = usable_cores()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="radiofm-ssb") if workers > 1 and len(wanted) > 1 else None
    try:
        for (start, count), run in itertools.groupby(wanted, key=lambda w: (w[3], w[4])):
            run = [w for w in run if not covered(w)]
            if not run:
                continue
            x, spectrum = span(start, count)

            def search(w: tuple, x=x, spectrum=spectrum) -> dict:
                return nr_pss_search(x, fs, lower_hz=w[1], upper_hz=w[2], spectrum=spectrum)

            ahead = [pool.submit(search, w) for w in run] if pool is not None and len(run) > 1 else None
            for k, w in enumerate(run):
                if covered(w):  # a cell the search before it found
                    continue
                yield (*w, ahead[k].result() if ahead is not None else search(w))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def find_nr_cells(
    boxes: Sequence[Box],
    decisions: Sequence[Decision],
    rec: Recording,
    plan: Plan,
    *,
    max_ms: float = MAX_SCAN_MS,
    ssb_max_ms: float = SSB_SCAN_MS,
    nonfinite: str = "error",
    span: LastSpan | None = None,
) -> tuple[list[Box], list[Decision], int]:
    """(boxes, decisions, searches run) with NR SSBs searched around the carriers not yet identified and every
    NR cell whose DMRS were found made one carrier (module docstring). Boxes of other identified cells are never
    changed. ``span``: the reader of the recording's spans (one the other stages share; default: a new one)."""
    span = LastSpan(rec, nonfinite) if span is None else span
    out_b, out_d = list(boxes), list(decisions)
    scanned, searches = _scan_ssbs(out_b, out_d, plan, ssb_max_ms, span)
    cells: list[tuple[Decision, int]] = []
    for d in out_d:  # the cells identified per carrier, then those the scan found
        if _nr_cell(d) and all(d is not c for c, _ in cells):
            own = [b for b, e in zip(out_b, out_d, strict=True) if e is d]
            cells.append((d, _span(own, plan, max_ms)[0]))
    cells += [(d, start) for d, start in scanned if all(d is not c for c, _ in cells)]
    # every cell's DMRS band first, so that a cell without DMRS does not extend over another cell measured after it
    measured = []  # (cell, (its span, the span's spectrum, first sample, noise floor) when no DMRS were found, its
    # DMRS band or None): the floor taken through ``span``, which the LTE and blind scans of the same samples reuse
    cell_bands: dict[int, tuple[float, float]] = {}  # PCI -> its DMRS band, else its SSB's
    for base, start in cells:
        if base.pci in cell_bands:
            continue
        ssb = base.evidence["ssb"]
        scs, centre = float(ssb["scs_hz"]), float(ssb["center_hz"])
        x_start, count = _window(start, plan, max_ms)
        x, spectrum = span(x_start, count)
        searches += 1
        band = measure_band(x, plan.sample_rate_hz, pci=base.pci, scs_hz=scs, ssb_center_hz=centre, spectrum=spectrum)
        measured.append((base, (x, spectrum, x_start, span.floor()) if band is None else None, band))
        cell_bands[base.pci] = (band["lower_hz"], band["upper_hz"]) if band is not None else ssb_band(scs, centre)
    for base, window, band in measured:
        ssb = base.evidence["ssb"]
        edges = cell_bands[base.pci]  # without DMRS only the SSB's band is the cell's for sure
        members = []
        for i, (b, d) in enumerate(zip(out_b, out_d, strict=True)):
            if _other_cell(d, base.pci):
                continue
            blo, bhi = plan.band_hz(b.row_lo, b.row_hi)
            if d is base or _same_cell(d, base) or overlap_hz((blo, bhi), edges) >= 0.5 * (bhi - blo):
                members.append(i)
        own = [out_b[i] for i in members]
        if band is not None:
            decision = cell_decision(base, band, own)
        else:
            taken = [d.band_hz for d in out_d if _other_cell(d, base.pci) and d.band_hz is not None]
            taken += [b for pci, b in cell_bands.items() if pci != base.pci]
            limits = energy_limits(ssb, plan.sample_rate_hz, taken)
            x, spectrum, x_start, floor = window
            pieces, apart = _pieces_of(base, out_b, out_d, members, x, x_start, limits, rec, plan, nonfinite)
            members += pieces
            own = [out_b[i] for i in members]
            bands = [plan.band_hz(b.row_lo, b.row_hi) for b in own]
            # a carrier another transmitter sends beside the cell bounds it as another cell's band does: the power
            # walk would otherwise run over it (two NR carriers 1.5 MHz apart became one band). A piece within the
            # cell's own span (its SSB and pieces) is no neighbour, whatever its clock said
            lo_core, hi_core = cell_span(ssb, bands)
            beside = [plan.band_hz(out_b[i].row_lo, out_b[i].row_hi) for i in apart]
            beside = [b for b in beside if b[1] <= lo_core or b[0] >= hi_core]
            limits = energy_limits(ssb, plan.sample_rate_hz, [*taken, *beside])
            decision = idle_decision(base, own, bands, x=x, fs=plan.sample_rate_hz, limits=limits, spectrum=spectrum,
                                     floor=floor, pieces=len(pieces))  # fmt: skip
        for i in members:
            out_d[i] = decision
    return *in_time_order(out_b, out_d), searches
