"""Carrier-level NR / LTE / unknown decisions: spectrogram scores pooled over the whole carrier, physical-layer
evidence at native resolution, and the rule that combines them. See :mod:`radiofm.annotate` for the pipeline.

**Carriers.** The boxes of one recording that occupy the same band (both edges within one 240 kHz row) are one
carrier, whatever the model's class in each frame and whenever they occur (a carrier that pauses, e.g. gated or
with empty subframes, is still the same cell). Boxes touching in time are merged first, across classes
(:func:`radiofm.annotate.boxes.merge_boxes` with ``same_class=False``): a model torn between NR and LTE from one
frame to the next no longer cuts a carrier in two.

**Spectrogram scores** (``radiofm:scores``): the model's p(NR) and p(LTE) summed over every pixel of every box of
the carrier (every frame, block and frequency window that saw it), normalised to sum to one:
``{"NR": sum p(NR) / (sum p(NR) + sum p(LTE)), "LTE": 1 - that}``.

**Physical-layer evidence** (``radiofm:evidence``, ``radiofm:pci``): :func:`radiofm.dsp.evidence.carrier_evidence`
on up to ``phy_max_ms`` (default 20 ms: four LTE PSS/SSS, at least one NR SSB burst at the default 20 ms period)
of the carrier's longest box, read at the recording's own rate, moved to 0 Hz and cut to the carrier's band plus
1.5 MHz on each side (:func:`radiofm.dsp.ofdm_rx.extract_band`): CP numerology, LTE PSS/SSS at the centre, NR SSB
anywhere, LTE's empty DC subcarrier, occupied bandwidth against 36.101 / 38.101-1, each a log-likelihood ratio;
its label is NR / LTE when their sum reaches +-ln 9 (p >= 0.9), else unknown. A carrier touching the
recording's band edge may be cut by it: its centre and width are unknown, so only its sync signals and numerology
count (``band_complete=False``; an LTE carrier cut so that its PSS lies outside stays unknown to this stage).

**Rule** (:func:`decide`), in order:

1. decisive physical-layer evidence (its label is NR or LTE) that rests on a synchronisation signal (an LTE PSS
   or an NR SSB detected) or on the 30 kHz numerology decides: a PSS + SSS of one standard alone reaches it
   (false alarms <= ~1e-3 per search), and it measured 97-99 % right with no wrong label on fully loaded
   carriers (docs/RESULTS.md), where the spectrogram model is weakest. The DC null and the bandwidth tables
   alone do not override the spectrogram: both assume the box's edges are the carrier's, and a box the model
   cut short moves the supposed DC (an LTE carrier whose box missed 1.3 MHz read "no DC null": NR);
2. both standards' cells found on one carrier (spectrum sharing, or two carriers the model merged): unknown
   here; with the physical layer on, :mod:`radiofm.annotate.shared` then makes it the two cells, each
   annotated with its PCI (the evidence names both: ``lte_pci``, ``nr_pci``);
3. no sync signal and no OFDM clock that the CP correlation clearly shows (``cp_shows``: at least
   ``CP_RHO_CLEAR`` and four times the other numerology's), as for Wi-Fi, Bluetooth, a microwave oven or a DSSS
   signal: unknown ("no OFDM"). The model knows only noise, NR and LTE, so it calls any wideband signal one of
   the two; on the ISM corpus it labelled Wi-Fi and Bluetooth NR 32 times (docs/RESULTS.md, session 39). The
   test is the clear-clock one, not the CP correlation's level alone: on a short box (a hopper's packet, a
   pulse) the correlation's maximum over every timing reaches 0.15-0.4 at both numerologies alike, and such
   boxes were labelled NR or LTE on the model's word (session 56);
4. a carrier whose CP correlation shows 15 kHz subcarriers and no sync signal, which the spectrogram calls NR:
   unknown ("NR unconfirmed"). A 15 kHz NR carrier shares LTE's grid, so its spectrogram differs from LTE's
   only in single resource elements; on validation captures the model's "NR" for such carriers was right 14
   times in 23 (3 in 8 on the alt generator), its "LTE" 43 in 45 (docs/RESULTS.md, session 40). LTE uplink
   and NR uplink carriers (no sync signals) fall here too;
5. else the spectrogram decides when its larger pooled score is >= ``min_score`` (default 0.75);
6. else unknown. An "unknown" annotation still carries both scores, so a user can apply another threshold.

Non-decisive physical-layer evidence does not vote: on its own it is mostly the occupied bandwidth (never more
than +-2, and a carrier narrower than its channel matches the other standard's table) or a shallow DC null.
``radiofm:decision`` records which step decided ("phy", "both cells", "no OFDM", "NR unconfirmed",
"spectrogram", "undecided").

**Edges.** The physical-layer stage also measures the carrier's occupied band to a few kHz
(:func:`radiofm.dsp.bandwidth.refine_edges`, within 360 kHz of the model's edges). When both measured edges are
clear-cut and the carrier is not cut by the recording's band edge, every annotation of the carrier takes the
measured band (:func:`radiofm.annotate.measured_band.measured_band`; ``radiofm:edges`` = "measured"), else the
model's 240 kHz rows ("grid").
Boxes lying inside a measured LTE cell's band while it is on are pieces of it and join it, and a cell identified by
its synchronisation signals is one annotation across short silences (:mod:`radiofm.annotate.merge`).
An LTE cell whose PSS was found has a known centre, so only six bands are possible (36.101): the one whose
edges step clearly in the spectrum is taken (``radiofm:evidence`` ``lte_band_hz``, ``lte_n_rb``), even when the
model saw only part of the carrier (an idle cell's faint reference signals, a box cut short).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.measured_band import inner_edge_band, measured_band
from radiofm.annotate.plan import Plan
from radiofm.annotate.spans import read_span
from radiofm.data.recording import Recording
from radiofm.dsp import ofdm_rx
from radiofm.dsp.bandwidth import lte_band_at_centre
from radiofm.dsp.cellsearch import cp_shows
from radiofm.dsp.evidence import carrier_evidence
from radiofm.dsp.threads import usable_cores
from radiofm.errors import RadioFMError

MIN_SCORE = 0.75  # pooled spectrogram score needed to label without decisive physical-layer evidence
PHY_MAX_MS = 20.0  # analysed span per carrier
PHY_MIN_MS = 1.0  # a shorter box gets no physical-layer stage
PHY_MARGIN_HZ = 1.5e6  # band kept beside the carrier (floor for the edge refinement)
LABELS = ("NR", "LTE")


@dataclass
class Decision:
    """One carrier's decision; every box of the carrier gets it."""

    label: str  # "NR", "LTE" or "unknown"
    scores: dict  # pooled spectrogram scores {"NR": p, "LTE": 1 - p}
    decided_by: str  # "phy", "both cells", "no OFDM", "NR unconfirmed", "spectrogram", "undecided"
    confidence: float  # mean p(label) over the carrier's pixels (p(NR) + p(LTE) for "unknown")
    evidence: dict | None = None  # summary of the physical-layer evidence (None: not run)
    pci: int | None = None
    band_hz: tuple[float, float] | None = None  # measured occupied band (Hz from the recording centre), if any
    # how band_hz was found: "measured", "estimated" (an NR cell without DMRS), "inner edge measured" (a carrier
    # the recording's band edge cuts: its other edge measured, the cut one the recording's) or "one edge measured"
    # (one edge sharp enough to measure, the other the model's row)
    band_source: str = "measured"
    # an LTE cell's DC (Hz from the recording centre) where its PSS and SSS were found (also on a "both cells"
    # carrier, for its LTE cell)
    dc_hz: float | None = None


def linked_groups(n: int, linked) -> list[list[int]]:
    """Indices 0..n-1 grouped transitively by ``linked(i, j)`` (called for j < i); each group in index order."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i):
            if linked(i, j):
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def group_carriers(boxes: Sequence[Box], *, row_tolerance: int = 1) -> list[list[int]]:
    """Indices of ``boxes`` grouped into carriers: boxes whose band edges both lie within ``row_tolerance`` rows
    of a box already in the group (transitively), anywhere in time. Groups in order of their first box."""

    # linked through their distinct bands: boxes of one band are one node, and each band looks up its neighbours
    # within the tolerance (comparing every pair of boxes took seconds per thousand boxes of a long capture)
    bands = list(dict.fromkeys((b.row_lo, b.row_hi) for b in boxes))
    where = {band: k for k, band in enumerate(bands)}
    near = range(-row_tolerance, row_tolerance + 1)
    neighbours = [{where.get((lo + d, hi + e), k) for d in near for e in near} for k, (lo, hi) in enumerate(bands)]
    band_groups = linked_groups(len(bands), lambda k, m: m in neighbours[k])
    group_of = {k: g for g, members in enumerate(band_groups) for k in members}
    groups: dict[int, list[int]] = {}
    for i, b in enumerate(boxes):
        groups.setdefault(group_of[where[(b.row_lo, b.row_hi)]], []).append(i)
    return sorted(groups.values(), key=lambda g: min(boxes[i].col_lo for i in g))


def pooled_scores(boxes: Sequence[Box]) -> dict:
    """{"NR": p, "LTE": 1 - p}: p(NR) and p(LTE) summed over every pixel of ``boxes``, normalised."""
    nr, lte = sum(b.nr_sum for b in boxes), sum(b.lte_sum for b in boxes)
    p = nr / (nr + lte) if nr + lte > 0 else 0.5
    return {"NR": round(float(p), 4), "LTE": round(float(1 - p), 4)}


def overlap_hz(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Width (Hz) of the overlap of bands ``a`` and ``b`` (0 when apart)."""
    return max(min(a[1], b[1]) - max(a[0], b[0]), 0.0)


def is_cell(d: Decision) -> bool:
    """A carrier identified as a cell at the physical layer (its PCI known)."""
    return d.decided_by == "phy" and d.pci is not None


def in_time_order(boxes: Sequence[Box], decisions: Sequence[Decision]) -> tuple[list[Box], list[Decision]]:
    """``boxes`` and their ``decisions`` sorted by start column (stable)."""
    order = np.argsort([b.col_lo for b in boxes], kind="stable")
    return [boxes[i] for i in order], [decisions[i] for i in order]


def sync_evidence(label: str, pci: int, span_ms: float, **more) -> dict:
    """The ``radiofm:evidence`` of a carrier a cell stage identified by its sync signals (then ``more``)."""
    scores = {"NR": float(label == "NR"), "LTE": float(label == "LTE")}
    return {"label": label, "scores": scores, "pci": pci, "both_cells": False, "sync": True,
            "span_ms": round(span_ms, 2)} | more  # fmt: skip


def phy_decision(
    label: str, members: Sequence[Box], evidence: dict, pci: int, band=None, band_source: str = "measured"
) -> Decision:
    """A carrier identified at the physical layer (a cell stage's decision): ``label`` with ``pci``, the members'
    pooled scores and mean p(label), ``band`` (lower, upper) Hz or None, found as ``band_source`` says."""
    n_pix = sum(b.n_pixels for b in members) or 1
    mass = sum(b.nr_sum if label == "NR" else b.lte_sum for b in members)
    band = None if band is None else (float(band[0]), float(band[1]))
    confidence = round(float(mass / n_pix), 4)
    return Decision(label, pooled_scores(members), "phy", confidence, evidence, pci, band, band_source)


def decide(scores: dict, evidence: dict | None, *, min_score: float = MIN_SCORE) -> tuple[str, str]:
    """(label, decided_by) from pooled spectrogram ``scores`` and the physical-layer ``evidence`` summary (or
    None); the rule is in the module docstring."""
    if evidence is not None:
        if evidence["label"] in LABELS and evidence["sync"]:
            return evidence["label"], "phy"
        if evidence.get("both_cells"):
            return "unknown", "both cells"
        rho = evidence.get("cp_rho")
        if rho is not None and not evidence["sync"] and not _scs15(rho):  # no sync, no clear 30 kHz: 15 kHz?
            return "unknown", "no OFDM"
    top = max(LABELS, key=lambda k: scores[k])
    if scores[top] < min_score:
        return "unknown", "undecided"
    if top == "NR" and evidence is not None and not evidence["sync"] and _scs15(evidence.get("cp_rho")):
        return "unknown", "NR unconfirmed"
    return top, "spectrogram"


def summarise_evidence(ev: dict, *, centre_hz: float, span_ms: float) -> dict:
    """The JSON-ready part of a :func:`carrier_evidence` result written to ``radiofm:evidence``."""
    lte, nr = ev.get("lte") or {}, ev.get("nr") or {}
    edges = ev["edges"]
    out = {
        "label": ev["label"],
        "scores": {k: round(float(v), 4) for k, v in ev["scores"].items()},
        "llr": round(float(ev["llr"]), 2),
        "pci": ev["pci"],
        "both_cells": lte.get("pci") is not None and nr.get("pci") is not None,
        "sync": bool(lte.get("detected") or nr.get("detected") or _scs30(ev["cp"])),
        "cp_rho": {"15k": round(float(ev["cp"]["rho_15k"]), 3), "30k": round(float(ev["cp"]["rho_30k"]), 3)},
        "span_ms": round(span_ms, 2),
        "occupied_hz": [round(edges["lower_hz"] + centre_hz), round(edges["upper_hz"] + centre_hz)],
        "edges_confident": bool(edges.get("confident") and all(edges["confident"].values())),
        "edge_confident": {side: bool((edges.get("confident") or {}).get(f"{side}_hz")) for side in ("lower", "upper")},
        "items": list(ev["standard_evidence"]),
    }
    if lte.get("pci") is not None and lte.get("duplex"):  # which SSS spacing confirmed the PCI
        out["duplex"] = lte["duplex"]
    if nr.get("pci") is not None:  # where the SSB is, for annotate.nr_scan
        out["ssb"] = ssb_evidence(nr, centre_hz)
    if out["both_cells"]:  # both PCIs, for annotate.shared (ev["pci"] is None then)
        out["lte_pci"], out["nr_pci"] = int(lte["pci"]), int(nr["pci"])
    return out


def ssb_evidence(found: dict, centre_hz: float = 0.0) -> dict:
    """An NR search's SSB (``found``, Hz from ``centre_hz``) as a decision's evidence holds it: numerology, centre
    (Hz from the recording's centre), and only where it is not 0 its offset from the carrier's subcarrier grid
    (``grid_shift_hz``: an odd k_SSB at 30 kHz), which the band measurement needs."""
    shift = float(found.get("ssb_grid_shift_hz") or 0.0)
    out = {"scs_hz": found["scs_hz"], "center_hz": round(found["ssb_center_hz"] + centre_hz)}
    return out | ({"grid_shift_hz": shift} if shift else {})


def _scs30(cp: dict) -> bool:
    """The CP correlation shows 30 kHz subcarriers (LTE has none): the rule of cellsearch.ruled_out."""
    return cp_shows(cp["rho_30k"], cp["rho_15k"])


def _scs15(rho: dict | None) -> bool:
    """The evidence's ``cp_rho`` shows 15 kHz subcarriers (LTE, or NR at 15 kHz): :func:`_scs30` mirrored."""
    return rho is not None and cp_shows(rho["15k"], rho["30k"])


def phy_evidence(
    rec: Recording,
    *,
    lower_hz: float,
    upper_hz: float,
    start: int,
    count: int,
    max_ms: float = PHY_MAX_MS,
    nonfinite: str = "error",
    band_complete: bool = True,
) -> tuple[dict | None, float | None]:
    """(physical-layer evidence summary for the carrier in [lower_hz, upper_hz] (Hz from the recording centre)
    over samples [start, start + count) of ``rec`` (the first ``max_ms``), None when the span is < 1 ms; the DC of
    the LTE cell whose PSS and SSS were found there, Hz from the recording centre, or None).
    ``band_complete=False``: the carrier is cut by the recording's band edge (only its sync signals count)."""
    fs = rec.sample_rate_hz
    n = min(count, int(round(max_ms * 1e-3 * fs)))
    if n < PHY_MIN_MS * 1e-3 * fs:
        return None, None
    x = read_span(rec, start, n, nonfinite)
    centre = 0.5 * (lower_hz + upper_hz)
    spectrum = ofdm_rx.span_spectrum(x)
    bb = ofdm_rx.extract_band(
        x, fs, centre_hz=centre, lower_hz=lower_hz - PHY_MARGIN_HZ, upper_hz=upper_hz + PHY_MARGIN_HZ,
        spectrum=spectrum,
    )  # fmt: skip
    try:
        ev = carrier_evidence(
            bb.x,
            bb.rate_hz,
            lower_hz=lower_hz - bb.centre_hz,
            upper_hz=upper_hz - bb.centre_hz,
            max_duration_s=None,
            band_complete=band_complete,
            origin_hz=bb.centre_hz,
        )
    except RadioFMError:  # a span the receiver cannot use (too short after extraction): no evidence
        return None, None
    summary = summarise_evidence(ev, centre_hz=bb.centre_hz, span_ms=n / fs * 1e3)
    lte = ev.get("lte") or {}
    if band_complete and lte.get("detected"):  # the PSS gives the centre, hence the band (used if labelled LTE)
        # the DC of a PSS confirmed by its SSS is that subcarrier (a band a bin off won at a faded edge; session 62);
        # without the SSS the DC may be a few bins off
        tolerance = 0.0 if lte.get("pci") is not None else 180e3
        band = lte_band_at_centre(
            x, fs, lte["center_hz"] + bb.centre_hz, centre_tolerance_hz=tolerance, spectrum=spectrum
        )
        if band is not None:
            summary["lte_band_hz"] = [round(band["lower_hz"]), round(band["upper_hz"])]
            summary["lte_n_rb"] = band["n_rb"]
    dc = lte["center_hz"] + bb.centre_hz if lte.get("detected") and lte.get("pci") is not None else None
    return summary, dc


def decide_carriers(
    boxes: Sequence[Box],
    rec: Recording,
    plan: Plan,
    *,
    phy: bool = True,
    phy_max_ms: float = PHY_MAX_MS,
    min_score: float = MIN_SCORE,
    nonfinite: str = "error",
) -> list[Decision]:
    """One :class:`Decision` per box (boxes of one carrier share it); see the module docstring. With the physical
    layer, carriers are decided on the usable cores at once (each on its own span; numpy and the FFTs free the
    GIL): the same decisions in the same order, repairing reads too (:func:`read_span` warns nothing)."""
    out: list[Decision | None] = [None] * len(boxes)
    groups = group_carriers(boxes)

    def one(group: list[int]) -> Decision:
        return carrier_decision([boxes[i] for i in group], rec, plan, phy=phy, phy_max_ms=phy_max_ms,
                                min_score=min_score, nonfinite=nonfinite)  # fmt: skip

    workers = min(usable_cores(), len(groups)) if phy else 1
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="radiofm-decide") as pool:
            decisions = list(pool.map(one, groups))
    else:
        decisions = [one(group) for group in groups]
    for group, decision in zip(groups, decisions, strict=True):
        for i in group:
            out[i] = decision
    return [d for d in out if d is not None]


def carrier_decision(
    members: Sequence[Box],
    rec: Recording,
    plan: Plan,
    *,
    phy: bool = True,
    phy_max_ms: float = PHY_MAX_MS,
    min_score: float = MIN_SCORE,
    nonfinite: str = "error",
) -> Decision:
    """The :class:`Decision` of the carrier made of ``members``: their pooled scores and (``phy``) the
    physical-layer evidence over their band on the longest of them, combined by :func:`decide`."""
    spc = plan.samples_per_column
    scores = pooled_scores(members)
    lo, hi = plan.band_hz(min(b.row_lo for b in members), max(b.row_hi for b in members))
    cut = min(b.row_lo for b in members) == 0 or max(b.row_hi for b in members) == plan.n_rows - 1
    evidence, dc = None, None
    if phy:
        main = max(members, key=lambda b: b.col_hi - b.col_lo)
        a = int(round((main.col_lo + 1) * spc)) if main.col_hi - main.col_lo > 2 else int(round(main.col_lo * spc))
        z = min(int(round(main.col_hi * spc)), plan.n_samples)
        if z > a:
            evidence, dc = phy_evidence(
                rec,
                lower_hz=lo,
                upper_hz=hi,
                start=a,
                count=z - a,
                max_ms=phy_max_ms,
                nonfinite=nonfinite,
                band_complete=not cut,
            )
    label, by = decide(scores, evidence, min_score=min_score)
    n_pix = sum(b.n_pixels for b in members) or 1
    nr, lte = sum(b.nr_sum for b in members), sum(b.lte_sum for b in members)
    conf = {"NR": nr, "LTE": lte}.get(label, nr + lte) / n_pix
    pci = evidence["pci"] if evidence is not None and label == evidence["label"] else None
    band, source = None, "measured"
    if evidence is not None and not cut:
        band = measured_band(evidence, (lo, hi), label)
    # one edge measured (a cell its sync signals identified gets its band from the cell stages instead: an LTE
    # cell's CRS, an NR cell's DMRS, which see past a cut or a faded edge; one edge here would stand in their way)
    confident = (evidence or {}).get("edge_confident") or {}
    if band is None and evidence is not None and pci is None:
        if cut:  # cut by the recording's band edge: the other edge, where measured
            low_cut = min(b.row_lo for b in members) == 0
            band, source = inner_edge_band(evidence, (lo, hi), low_cut=low_cut), "inner edge measured"
        elif confident.get("lower") != confident.get("upper"):  # the other edge faded, or the box stops short
            band = inner_edge_band(evidence, (lo, hi), low_cut=not confident.get("lower"))
            source = "one edge measured"
    dc = dc if (label == "LTE" and pci is not None) or by == "both cells" else None  # both: annotate.shared's
    return Decision(label, scores, by, round(float(conf), 4), evidence, pci, band, source, dc_hz=dc)
