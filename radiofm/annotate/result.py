"""From the merged boxes of a whole recording to the result: each carrier labelled over all its boxes
(:func:`radiofm.annotate.decide.decide_carriers` and the physical-layer searches), then annotations in recording
samples and absolute Hz, split at retunes. :func:`finish` ends a one-shot or follow run; :func:`annotations_of`
gives a follow run's final carriers as they settle. ``an`` is the run's :class:`radiofm.annotate.run.Analysis`
(not imported: run imports this module). See :mod:`radiofm.annotate`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiofm.annotate.blind_scan import find_cells_beside, find_missed_cells
from radiofm.annotate.boxes import Box
from radiofm.annotate.clock_pieces import join_pieces
from radiofm.annotate.decide import Decision, decide_carriers
from radiofm.annotate.lte_scan import find_lte_cells
from radiofm.annotate.merge import absorb_fragments, annotation_extra, merge_by_decision
from radiofm.annotate.nr_scan import find_nr_cells
from radiofm.annotate.plan import Plan
from radiofm.annotate.shared import split_shared
from radiofm.annotate.spans import LastSpan
from radiofm.data.recording import Annotation, Recording
from radiofm.dsp.threads import blas_threads


@dataclass
class AnnotateResult:
    """Annotations plus what the overlay picture and the report need."""

    annotations: list[Annotation]
    plan: Plan
    picture_db: np.ndarray | None  # (rows, P) decimated spectrogram on the kept rows, row 0 lowest frequency
    picture_extent: tuple[float, float, float, float]  # (t0_s, t1_s, f_lo_hz, f_hi_hz) relative frequencies
    level_shift_db: float = 0.0  # added to every image (level="auto")
    n_repaired: int = 0
    phy: dict | None = None  # the physical-layer stage's settings and cost (None: off)
    lines_hz: tuple[float, ...] = ()  # receiver lines removed before the analysis (Hz from the centre; annotate.clean)
    image_rejection_db: float | None = None  # a mixer imbalance undone: its measured image rejection (else None)
    clipped: float | None = None  # share of I/Q values at the ADC's rails where the imbalance is measured (None: float)
    image_rejection_range_db: tuple[float, float] | None = None  # (worst, best) across the band: a filter undid it
    tunings: int = 1  # a retuned recording's tunings, each analysed alone (annotate.tunings; no picture then)


def finish(an, rec: Recording, boxes: Sequence[Box], *, min_duration_ms: float) -> AnnotateResult:
    """Merged boxes (:func:`merge_boxes` of every block's boxes) -> the result (annotations filtered by duration
    and bandwidth)."""
    plan = an.plan
    annotations, phy_info = _decided(an, rec, boxes, min_duration_ms)
    f_lo, f_hi = plan.row_freq_hz(plan.grid[0] - 0.5), plan.row_freq_hz(plan.grid[1] - 0.5)
    extent = (0.0, plan.n_columns * plan.samples_per_column / plan.sample_rate_hz, float(f_lo), float(f_hi))
    pic = an.picture.db() if an.picture is not None else None
    rep = an.repair
    lines = tuple(round(float(f), 1) for f in rep.freqs_hz) if rep else ()
    irr = round(rep.image_rejection_db, 2) if rep is not None and rep.image_fixed else None
    clipped = None if rep is None or rep.clipped is None else round(rep.clipped, 6)
    span = rep.image_rejection_range_db if rep is not None else None
    span = None if span is None else (round(span[0], 2), round(span[1], 2))
    return AnnotateResult(annotations, plan, pic, extent, an.shift, int(an.stats.get("repaired", 0)), phy_info, lines,
                          irr, clipped, span)  # fmt: skip


def annotations_of(an, rec: Recording, boxes: Sequence[Box], min_duration_ms: float) -> list[Annotation]:
    """Merged boxes -> the annotations of those long and wide enough (recording samples, absolute Hz)."""
    return _decided(an, rec, boxes, min_duration_ms)[0]


def _decided(an, rec: Recording, boxes: Sequence[Box], min_duration_ms: float) -> tuple[list, dict | None]:
    """(annotations, the physical-layer stage's settings and cost or None) of the merged ``boxes``: each carrier
    labelled by :func:`radiofm.annotate.decide.decide_carriers` over all its boxes."""
    boxes = final_boxes(an, boxes, min_duration_ms)
    nonfin = "repair" if an.stats.get("repaired") or an.nonfinite == "repair" else "error"
    t_phy = time.process_time()
    with blas_threads(1):  # its products are small: a second BLAS thread gained no time and spun a core
        boxes, decisions, counts = _phy_stages(an, rec, boxes, nonfin)
    info = {"max_ms": an.phy_max_ms, "carriers": len({id(d) for d in decisions}), **counts,
            "cpu_s": round(time.process_time() - t_phy, 3)}  # fmt: skip
    boxes, decisions = merge_by_decision(boxes, absorb_fragments(boxes, decisions, an.plan), an.plan)
    # a box narrower than min_bandwidth_khz can seed the stages above (a piece of a cell they measure), but no stage
    # widened it: not a carrier (a receiver's DC spike boxed as 3 rows, 720 kHz, is under the 900 kHz default)
    wide = [(b, d) for b, d in zip(boxes, decisions, strict=True) if _width_hz(b, d, an.plan) >= an.min_bandwidth_hz]
    return _to_annotations(*zip(*wide, strict=True) if wide else ([], []), rec, an.plan), info if an.phy else None


def _phy_stages(an, rec: Recording, boxes: list[Box], nonfin: str) -> tuple[list[Box], list, dict]:
    """(boxes, decisions, searches run per stage): the per-carrier decisions, then (with the physical layer on)
    the cell stages."""
    decisions = decide_carriers(
        boxes, rec, an.plan, phy=an.phy, phy_max_ms=an.phy_max_ms, min_score=an.min_score, nonfinite=nonfin
    )
    scans = nr_searches = beside = blind = clocks = 0
    if an.phy:  # a carrier with both an LTE and an NR cell made the two cells (annotate.shared); then
        # NR cells' pieces (annotate.nr_scan), then LTE cells around the pieces still unidentified
        # (annotate.lte_scan): the LTE scan searches every DC position within 9 MHz of a piece, so an NR carrier
        # its SSB identified first is not searched for LTE at all (the benchmark's 40 ms capture, a 48 MHz NR
        # carrier beside an LTE cell: 52 -> 15 sub-bands). One reader for the cell stages: each reads 40 ms spans,
        # in a short capture the same one (its read, FFT and noise floor are shared)
        kw = {"nonfinite": nonfin, "span": LastSpan(rec, nonfin)}
        boxes, decisions = split_shared(boxes, decisions)
        boxes, decisions, nr_searches = find_nr_cells(boxes, decisions, rec, an.plan, **kw)
        boxes, decisions, scans = find_lte_cells(boxes, decisions, rec, an.plan, max_ms=an.phy_max_ms, **kw)
        boxes, decisions, beside = find_cells_beside(boxes, decisions, rec, an.plan, **kw)
        if an.scan_lte or an.scan_nr:  # cells the model did not see (annotate.blind_scan)
            boxes, decisions, blind = find_missed_cells(boxes, decisions, rec, an.plan, nr=an.scan_nr,
                                                        lte=an.scan_lte, **kw)  # fmt: skip
        boxes, decisions, clocks = join_pieces(boxes, decisions, rec, an.plan, min_score=an.min_score,
                                               phy_max_ms=an.phy_max_ms, nonfinite=nonfin)  # fmt: skip
    counts = {"lte_scans": scans, "nr_searches": nr_searches, "beside_searches": beside, "blind_searches": blind,
              "clocks": clocks}  # fmt: skip
    return boxes, decisions, counts


def _width_hz(b: Box, d: Decision, plan: Plan) -> float:
    """The width of the carrier an annotation of box ``b`` and decision ``d`` stands for: the measured band, else
    the box's whole rows, both before the capture's edge clips them (a carrier cut by the edge is still as wide
    as it is; 4 rows at the lower edge would otherwise measure 840 kHz); plus a part per million for rounding."""
    width = d.band_hz[1] - d.band_hz[0] if d.band_hz is not None else (b.row_hi - b.row_lo + 1) * plan.row_hz
    return width * (1 + 1e-6)


def final_boxes(an, boxes: Sequence[Box], min_duration_ms: float) -> list[Box]:
    """Merged boxes long enough to be annotations and at least ``min_rows`` high (a narrower band's width is judged
    after the physical-layer stages, which may widen it to the cell it is a piece of)."""
    plan = an.plan
    min_cols = min_duration_ms * 1e-3 * plan.sample_rate_hz / plan.samples_per_column
    return [b for b in boxes if b.col_hi - b.col_lo >= min_cols - 1e-9 and b.row_hi - b.row_lo + 1 >= an.min_rows]


def _to_annotations(
    boxes: Sequence[Box], decisions: Sequence[Decision], rec: Recording, plan: Plan
) -> list[Annotation]:
    """Boxes on the global grid and their carriers' decisions -> annotations in recording samples and absolute
    Hz, split at retunes."""
    fs, n, spc = plan.sample_rate_hz, plan.n_samples, plan.samples_per_column
    caps = sorted(rec.captures, key=lambda c: c.sample_start) or []
    out = []
    for b, d in zip(boxes, decisions, strict=True):
        start = int(round(b.col_lo * spc))
        stop = n if b.col_hi >= plan.n_columns else int(round(b.col_hi * spc))
        if d.band_hz is not None:  # the physical-layer stage measured the carrier's edges (measured_band.measured_band)
            lo, hi = max(d.band_hz[0], -fs / 2), min(d.band_hz[1], fs / 2)
        else:
            lo, hi = plan.band_hz(b.row_lo, b.row_hi)
        pieces: list[list] = []  # [start, stop, centre] per run of captures with one centre frequency
        for i, c in enumerate(caps):
            a = max(start, c.sample_start) if pieces else start
            z = min(stop, caps[i + 1].sample_start if i + 1 < len(caps) else n)
            if a >= z:
                continue
            if pieces and pieces[-1][2] == c.center_freq_hz:
                pieces[-1][1] = z
            else:
                pieces.append([a, z, c.center_freq_hz])
        for a, z, fc in pieces or [[start, stop, None]]:
            base = fc or 0.0
            out.append(
                Annotation(
                    sample_start=a,
                    sample_count=z - a,
                    freq_lower_edge_hz=base + lo,
                    freq_upper_edge_hz=base + hi,
                    label=d.label,
                    extra=annotation_extra(d),
                )
            )
    out.sort(key=lambda a: (a.sample_start, a.freq_lower_edge_hz))
    return out
