"""One carrier from the pieces the model boxed apart when no cell was identified, by their common OFDM clock.

When a capture holds none of a carrier's synchronisation signals (a 12 ms clip between two 20 ms SSB bursts, a
carrier gated on between them), the cell stages cannot tie its pieces together, and the model boxes an NR
carrier with sparse traffic (a few RB groups, a CORESET: the MATLAB example's regime) as several carriers side by
side. Each piece is still OFDM of the same transmitter: its symbols start where the others' do and its subcarriers
sit on their raster (:class:`radiofm.annotate.nr_fragments.Clock`). Two carriers of other transmitters match both
by chance about 1 % of the time (:mod:`radiofm.annotate.nr_fragments`); synchronised cells of one site may match,
which is why a piece must overlap the other in time and the union must fit one carrier (275 RB).

:func:`join_pieces` finds such carriers among those no cell identified, and decides each joined carrier again over
all its boxes: the spectrogram scores pooled over them, the physical-layer evidence over the union of their bands
(:func:`radiofm.annotate.decide.phy_evidence`, e.g. the 30 kHz numerology of their cyclic prefixes), the union as
its band. The evidence says how many pieces were joined.
"""

from __future__ import annotations

from collections.abc import Sequence

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, carrier_decision, in_time_order, is_cell, linked_groups
from radiofm.annotate.nr_fragments import Clock, piece_clock, same_clock
from radiofm.annotate.plan import Plan
from radiofm.annotate.spans import box_span, read_span
from radiofm.data.recording import Recording
from radiofm.dsp.nr_cells import N_RB_MAX

READ_MS = 10.0  # of a carrier's longest box read to measure its clock
# CP correlation a clock needs here: noise gives ~0.02-0.05, faint sparse NR pieces 0.12-0.37 (12 ms clips of the
# py3gpp benchmark's scenes); a clock that noise set by chance matches another ~1 % of the time, as any other
MIN_RHO = 0.1
NUMEROLOGIES = (15e3, 30e3)


def _clock(
    members: Sequence[Box], band: tuple[float, float], rec: Recording, plan: Plan, nonfinite: str
) -> Clock | None:
    """The clock of the carrier made of ``members`` in ``band`` (its longest box), at the numerology whose cyclic
    prefixes correlate best; None when neither does (not OFDM, too short)."""
    main = max(members, key=lambda b: b.col_hi - b.col_lo)
    start, count = box_span(main, plan, READ_MS)
    if count <= 0:
        return None
    x = read_span(rec, start, count, nonfinite)
    clocks = [
        piece_clock(x, plan.sample_rate_hz, band_hz=band, scs_hz=scs, x_start=start, min_rho=MIN_RHO)
        for scs in NUMEROLOGIES
    ]
    found = [c for c in clocks if c is not None]
    return max(found, key=lambda c: c.rho) if found else None


def join_pieces(
    boxes: Sequence[Box],
    decisions: Sequence[Decision],
    rec: Recording,
    plan: Plan,
    *,
    min_score: float,
    phy_max_ms: float,
    nonfinite: str = "error",
) -> tuple[list[Box], list[Decision], int]:
    """(boxes, decisions, clocks measured): carriers no cell identified that run on one OFDM clock, overlap in
    time and fit one carrier together share one new decision over all their boxes (module docstring). Identified
    cells' boxes are never changed."""
    out_d = list(decisions)
    carriers: dict[int, list[int]] = {}
    for i, d in enumerate(decisions):
        if not is_cell(d):
            carriers.setdefault(id(d), []).append(i)
    if len(carriers) < 2:
        return list(boxes), out_d, 0
    info = []  # (box indices, band, first column, end column, clock)
    for idx in carriers.values():
        own = [boxes[i] for i in idx]
        band = plan.band_hz(min(b.row_lo for b in own), max(b.row_hi for b in own))
        clock = _clock(own, band, rec, plan, nonfinite)
        if clock is not None:
            info.append((idx, band, min(b.col_lo for b in own), max(b.col_hi for b in own), clock))

    def joins(a: int, b: int) -> bool:
        (_, band_a, c0a, c1a, ka), (_, band_b, c0b, c1b, kb) = info[a], info[b]
        width = max(band_a[1], band_b[1]) - min(band_a[0], band_b[0])
        return c0a < c1b and c0b < c1a and width <= 12 * N_RB_MAX * ka.scs_hz and same_clock(ka, kb)

    groups = linked_groups(len(info), joins)
    for ks in groups:
        if len(ks) < 2:
            continue
        idx = sorted(i for k in ks for i in info[k][0])
        decision = _joined(idx, len(ks), boxes, rec, plan, min_score, phy_max_ms, nonfinite)
        for i in idx:
            out_d[i] = decision
    return *in_time_order(boxes, out_d), len(info)


def _joined(idx: Sequence[int], n: int, boxes: Sequence[Box], rec: Recording, plan: Plan, min_score: float,
            phy_max_ms: float, nonfinite: str) -> Decision:  # fmt: skip
    """The decision of one carrier made of the boxes ``idx`` (``n`` carriers joined): decided as any carrier
    (:func:`radiofm.annotate.decide.carrier_decision`), its band the measured one or else the union of the boxes'
    rows."""
    members = [boxes[i] for i in idx]
    d = carrier_decision(members, rec, plan, phy=True, phy_max_ms=phy_max_ms, min_score=min_score, nonfinite=nonfinite)
    if d.evidence is not None:
        joined = f"{n} carriers the model boxed apart run on one OFDM clock: one carrier over their bands"
        d.evidence["items"] = [*d.evidence.get("items", []), joined]
    if d.band_hz is None:
        d.band_hz = plan.band_hz(min(b.row_lo for b in members), max(b.row_hi for b in members))
        d.band_source = "grid"
    return d
