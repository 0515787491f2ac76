"""NR carriers put back together around their SSB: one carrier per cell, from point A to the RBs it was seen using.

The spectrogram model sees a partly loaded NR carrier in pieces (the SS/PBCH block, the CORESET, each group of
scheduled RBs), and :mod:`radiofm.annotate.decide` searches each piece on its own band: a piece holding the
whole SSB is labelled NR with its PCI, the others stay separate carriers, often "unknown". Two steps follow.

1. **SSB scan.** Around every carrier not yet identified, :func:`radiofm.dsp.nr_cellsearch.nr_pss_search`
   looks for an SSB within :data:`SSB_REACH_HZ` of it (an SSB that overlaps a piece has its centre there) over
   :data:`SSB_SCAN_MS` from the piece's start (the bursts need not fall inside the box the model drew). The
   boxes of that carrier overlapping the SSB found take an NR decision with its PCI. A carrier lying inside the
   DMRS band (step 2) of a cell already identified or found is not searched: one cell's band holds no other's
   SSB, and the band step takes its pieces (each band is measured once, for both steps; the cells of a long
   capture, each on its own span, are measured on the usable cores at once).
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
    in_time_order,
    is_cell,
    overlap_hz,
    phy_decision,
    ssb_evidence,
    sync_evidence,
)
from radiofm.annotate.nr_idle import EDGE_GUARD_HZ, cell_span, energy_limits, idle_decision, pieces_of, ssb_band
from radiofm.annotate.plan import Plan
from radiofm.annotate.spans import LastSpan
from radiofm.data.recording import Recording
from radiofm.dsp.nr_cells import N_RB_MAX, nr_cell_band
from radiofm.dsp.nr_cellsearch import nr_pss_search
from radiofm.dsp.threads import usable_cores

MAX_SCAN_MS = 40.0  # span searched for DMRS (the MATLAB example's traffic fills the first slots of each 10/20 ms)
SSB_SCAN_MS = 40.0  # span searched for an SSB (two bursts at the default 20 ms period)
MIN_SSB_SCAN_MS = 5.0
SSB_REACH_HZ = 4.0e6  # an SSB (7.2 MHz wide at 30 kHz) overlapping a piece has its centre within 3.6 MHz of it


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


def measure_band(
    x: np.ndarray, fs: float, *, pci: int, scs_hz: float, ssb_center_hz: float, grid_shift_hz: float = 0.0,
    spectrum=None,
) -> dict | None:  # fmt: skip
    """:func:`radiofm.dsp.nr_cells.nr_cell_band` of the cell over every carrier position its SSB allows (up to
    275 RB either side) inside the recording's band (:data:`EDGE_GUARD_HZ` off its edges), or None.
    ``grid_shift_hz``: the SSB's offset from the carrier's subcarrier grid (the search's ``ssb_grid_shift_hz``)."""
    reach, edge = 12 * N_RB_MAX * scs_hz, 0.5 * fs - EDGE_GUARD_HZ
    lo, hi = max(ssb_center_hz - reach, -edge), min(ssb_center_hz + reach, edge)
    return nr_cell_band(x, fs, pci=pci, scs_hz=scs_hz, ssb_center_hz=ssb_center_hz, lower_hz=lo, upper_hz=hi,
                        ssb_grid_shift_hz=grid_shift_hz, spectrum=spectrum)  # fmt: skip


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
        "dmrs_lag": int(band.get("lag", 1)),  # 2: pilots paired two apart (two layers on ports 1000/1001)
        "control_region_top_rb": band.get("coreset_top_rb", -1),
        "upper_edge": "narrowest 38.101-1 bandwidth holding the RBs seen (DMRS, SSB, control region)",
    }
    control = band.get("coreset_top_rb", -1)
    evidence["items"] = [
        *evidence.get("items", []),
        f"PDSCH DMRS of PCI {base.pci} (z {band['z']:.0f}"
        + (", pilots two apart" if band.get("lag", 1) == 2 else "")
        + f") on {seen} RBs from point A at "
        f"{band['start_hz'] / 1e6:.3f} MHz"
        + (f", power on its slot starts up to RB {control}" if control >= 0 else "")
        + f": carrier of at least {band['n_rb']} RB",
    ]
    return phy_decision("NR", members, evidence, base.pci, (lo, hi))


def ssb_decision(found: dict, members: Sequence[Box], window: tuple[float, float], span_ms: float) -> Decision:
    """The decision of a carrier whose SSB the scan found (its PCI, no band yet)."""
    z = max(found["z"], found["z_burst"])
    evidence = sync_evidence(
        "NR",
        found["pci"],
        span_ms,
        ssb=ssb_evidence(found),
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


class _Bands:
    """:func:`measure_band` of each NR cell over its span, computed once: the SSB scan measures the cells as it knows
    them (a piece lying inside a cell's measured band needs no SSB search: one cell's band holds no other's SSB)
    and the band stage takes the same results. :meth:`ahead` measures several cells at once."""

    def __init__(self, plan: Plan, max_ms: float, span: LastSpan):
        self.plan, self.max_ms, self.span = plan, max_ms, span
        self.done: dict[tuple, dict | None] = {}

    def _key(self, cell: Decision, start: int) -> tuple:
        ssb = cell.evidence["ssb"]
        return (cell.pci, float(ssb["scs_hz"]), float(ssb["center_hz"]), float(ssb.get("grid_shift_hz", 0.0)),
                *_window(start, self.plan, self.max_ms))  # fmt: skip

    def _measure(self, key: tuple, x: np.ndarray, spectrum: np.ndarray) -> dict | None:
        pci, scs, centre, shift = key[:4]
        return measure_band(x, self.plan.sample_rate_hz, pci=pci, scs_hz=scs, ssb_center_hz=centre,
                            grid_shift_hz=shift, spectrum=spectrum)  # fmt: skip

    def _through_span(self, key: tuple) -> dict | None:
        if key not in self.done:
            self.done[key] = self._measure(key, *self.span(*key[4:]))
        return self.done[key]

    def __call__(self, cell: Decision, start: int) -> dict | None:
        """The DMRS band of ``cell`` over :func:`_window` from ``start``, or None."""
        return self._through_span(self._key(cell, start))

    def ahead(self, cells: Sequence[tuple[Decision, int]]) -> None:
        """Measure the (cell, start) of ``cells`` not yet measured on the usable cores, each on its own read of its
        span (numpy and the FFTs free the GIL; a long capture's cells lie on different spans): what one by one
        gives. A single one goes through the shared span reader."""
        todo = list(dict.fromkeys(k for k in (self._key(c, s) for c, s in cells) if k not in self.done))
        workers = min(usable_cores(), len(todo))
        if workers <= 1:
            for key in todo:
                self._through_span(key)
            return

        def one(key: tuple) -> dict | None:
            return self._measure(key, *self.span.read(*key[4:]))

        with ThreadPoolExecutor(workers, thread_name_prefix="radiofm-nr-band") as pool:
            self.done.update(zip(todo, pool.map(one, todo), strict=True))


def _first_per_pci(cells: Sequence[tuple[Decision, int]]) -> list[tuple[Decision, int]]:
    """The (cell, start) the band stage measures: the first of each PCI."""
    first: dict[int, tuple[Decision, int]] = {}
    for cell, start in cells:
        first.setdefault(cell.pci, (cell, start))
    return list(first.values())


def _own_start(cell: Decision, boxes: Sequence[Box], decisions: Sequence[Decision], plan: Plan, max_ms: float):
    """The sample the band stage reads ``cell`` from: the start of its longest box (None: no box is its own)."""
    own = [b for b, d in zip(boxes, decisions, strict=True) if d is cell]
    return _span(own, plan, max_ms)[0] if own else None


def _scan_ssbs(boxes: list[Box], decisions: list[Decision], plan: Plan, max_ms: float, span: LastSpan,
               bands: _Bands | None = None) -> tuple[list[tuple[Decision, int]], int]:  # fmt: skip
    """Search an NR SSB around every carrier not yet identified. The boxes of that carrier overlapping a found SSB
    take an NR decision with its PCI (in place). Returns ([(decision, start sample of the search)] of every cell
    found, even one no box overlaps, and the searches run). A carrier lying inside the measured band of a cell
    (``bands``: identified per carrier, or found here before it; default over :data:`MAX_SCAN_MS`) is not searched."""
    bands = _Bands(plan, MAX_SCAN_MS, span) if bands is None else bands
    fs = plan.sample_rate_hz
    edge = 0.5 * fs - EDGE_GUARD_HZ
    found_at = [float(d.evidence["ssb"]["center_hz"]) for d in decisions if _nr_cell(d)]
    inside: list[tuple[float, float]] = []  # the cells' measured bands
    measured: set[int] = set()

    def measure(cell: Decision, start: int) -> None:
        if cell.pci not in measured:  # the band stage measures the first cell of each PCI
            measured.add(cell.pci)
            band = bands(cell, start)
            if band is not None:
                inside.append((band["lower_hz"], band["upper_hz"]))

    decided = [(d, _own_start(d, boxes, decisions, plan, bands.max_ms))
               for d in {id(d): d for d in decisions if _nr_cell(d)}.values()]  # fmt: skip
    bands.ahead(_first_per_pci(decided))
    for d, start in decided:
        measure(d, start)
    groups: dict[int, list[int]] = {}
    for i, d in enumerate(decisions):
        if not is_cell(d):
            groups.setdefault(id(d), []).append(i)
    wanted = []  # (members, lo, hi, start, count, band of the boxes) of each carrier to search, in order
    for members in groups.values():
        bands_hz = [plan.band_hz(boxes[i].row_lo, boxes[i].row_hi) for i in members]
        own = (min(b[0] for b in bands_hz), max(b[1] for b in bands_hz))
        lo, hi = max(own[0] - SSB_REACH_HZ, -edge), min(own[1] + SSB_REACH_HZ, edge)
        start, count = _span([boxes[i] for i in members], plan, max_ms)
        if count >= MIN_SSB_SCAN_MS * 1e-3 * fs and hi - lo >= 2 * SSB_REACH_HZ:
            wanted.append((members, lo, hi, start, count, own))
    searches, cells = 0, []
    for members, lo, hi, start, count, _, found in _searched(wanted, found_at, inside, span, fs):
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
        at = _own_start(decision, boxes, decisions, plan, bands.max_ms)
        measure(decision, start if at is None else at)
    return cells, searches


def _searched(wanted: list[tuple], found_at: list[float], inside: list[tuple[float, float]], span: LastSpan,
              fs: float):  # fmt: skip
    """Yield (members, lo, hi, start, count, band, nr_pss_search's result) for each of ``wanted`` in order, unless
    a cell already found (an SSB centre in ``found_at``, or a measured band in ``inside``; the caller extends both
    as it goes) covers it: the band stage takes its pieces. Consecutive searches over the same span (every carrier
    of a 40 ms capture) run on the usable cores, at most one per core ahead, on one read of the span; a search
    that a cell found meanwhile makes unnecessary is computed but not used, so the results are exactly the
    one-by-one ones."""

    def covered(w: tuple) -> bool:
        return any(w[1] <= f <= w[2] for f in found_at) or any(a <= w[5][0] and w[5][1] <= b for a, b in inside)

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

            ahead: dict[int, object] = {}  # index in run -> its search, submitted while the earlier ones ran
            for k, w in enumerate(run):
                if covered(w):  # a cell the searches before it found
                    continue
                if pool is not None:
                    for j in range(k, len(run)):  # this search and the next ones not covered, one per core
                        if len(ahead) >= workers:
                            break
                        if j not in ahead and not covered(run[j]):
                            ahead[j] = pool.submit(search, run[j])
                yield (*w, ahead.pop(k).result() if k in ahead else search(w))
            for job in ahead.values():
                job.cancel()
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
    dmrs = _Bands(plan, max_ms, span)  # each cell's DMRS band, measured once for the SSB scan and the band step
    scanned, searches = _scan_ssbs(out_b, out_d, plan, ssb_max_ms, span, dmrs)
    cells: list[tuple[Decision, int]] = []
    for d in out_d:  # the cells identified per carrier, then those the scan found
        if _nr_cell(d) and all(d is not c for c, _ in cells):
            cells.append((d, _own_start(d, out_b, out_d, plan, max_ms)))
    cells += [(d, start) for d, start in scanned if all(d is not c for c, _ in cells)]
    # every cell's DMRS band first, so that a cell without DMRS does not extend over another cell measured after it
    measured = []  # (cell, (its span, the span's spectrum, first sample, noise floor) when no DMRS were found, its
    # DMRS band or None): the floor taken through ``span``, which the LTE and blind scans of the same samples reuse
    cell_bands: dict[int, tuple[float, float]] = {}  # PCI -> its DMRS band, else its SSB's
    dmrs.ahead(_first_per_pci(cells))
    for base, start in cells:
        if base.pci in cell_bands:
            continue
        ssb = base.evidence["ssb"]
        scs, centre = float(ssb["scs_hz"]), float(ssb["center_hz"])
        searches += 1
        band = dmrs(base, start)
        window = None
        if band is None:
            x_start, count = _window(start, plan, max_ms)
            window = (*span(x_start, count), x_start, span.floor())
        measured.append((base, window, band))
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
            pieces, apart = pieces_of(base, out_b, out_d, members, x, x_start, limits, rec, plan, nonfinite)
            members += pieces
            own = [out_b[i] for i in members]
            bands = [plan.band_hz(b.row_lo, b.row_hi) for b in own]
            # a carrier another transmitter sends beside the cell bounds it as another cell's band does: the power
            # walk would otherwise run over it (two NR carriers 1.5 MHz apart became one band). A piece within the
            # cell's own span (its SSB and pieces) is no neighbour, whatever its clock said
            lo_core, hi_core = cell_span(ssb, bands)
            beside = [plan.band_hz(out_b[i].row_lo, out_b[i].row_hi) for i in apart]
            # so does a signal with no OFDM clock at all (a radar, Wi-Fi, a hopper: session 56) that is no piece
            beside += [plan.band_hz(b.row_lo, b.row_hi) for i, (b, d) in enumerate(zip(out_b, out_d, strict=True))
                       if i not in members and d.decided_by == "no OFDM"]  # fmt: skip
            beside = [b for b in beside if b[1] <= lo_core or b[0] >= hi_core]
            limits = energy_limits(ssb, plan.sample_rate_hz, [*taken, *beside])
            decision = idle_decision(base, own, bands, x=x, fs=plan.sample_rate_hz, limits=limits, spectrum=spectrum,
                                     floor=floor, pieces=len(pieces))  # fmt: skip
        for i in members:
            out_d[i] = decision
    return *in_time_order(out_b, out_d), searches
