"""The band a carrier's annotations take when the physical-layer stage measured its edges (see
:mod:`radiofm.annotate.decide`, "Edges"): the measured band when it is trustworthy, one measured edge beside a
recording's band edge, else None (the model's 240 kHz rows stand)."""

from __future__ import annotations


def inner_edge_band(evidence: dict, grid_band: tuple[float, float], *, low_cut: bool) -> tuple[float, float] | None:
    """The band of a carrier the recording's band edge cuts (``low_cut``: at its lower edge, else its upper), Hz
    from the recording centre: the grid's edge on the cut side, and on the other the edge the physical-layer stage
    measured, when it is confident and within 500 kHz of the grid's (the refinement searches 360 kHz); else None.
    The grid's 240 kHz rows put that edge up to 360 kHz into the gap beside the carrier (session 60's review:
    -9.00 MHz for a carrier ending at -9.36 MHz, measured to the kHz)."""
    side = "upper" if low_cut else "lower"
    if not (evidence.get("edge_confident") or {}).get(side):
        return None
    lo, hi = grid_band
    edge = float(evidence["occupied_hz"][1 if low_cut else 0])
    if abs(edge - (hi if low_cut else lo)) > 500e3:
        return None
    band = (lo, edge) if low_cut else (edge, hi)
    return band if band[1] > band[0] else None


def measured_band(evidence: dict, grid_band: tuple[float, float], label: str = "unknown") -> tuple[float, float] | None:
    """The occupied band measured by the physical-layer stage, (lower, upper) Hz from the recording centre, or None.

    For a carrier labelled ``label`` "LTE": the band found from its PSS centre
    (:func:`radiofm.dsp.bandwidth.lte_band_at_centre`) when at least half of the model's band (``grid_band``) lies
    inside it. Else the refined edges when both are confident (:func:`radiofm.dsp.bandwidth.refine_edges`: sharp
    steps of at least 0.4 of the band's level) and they still overlap the model's band with IoU >= 0.8.

    The model's band is quantised to the 240 kHz rows of the annotate grid (a 4.5 MHz LTE carrier one row too wide
    on each side has IoU 0.9); the measured edges are the OFDM grid's own, to a few kHz."""
    if label == "LTE" and evidence.get("lte_band_hz"):  # an LTE cell's band from its PSS centre
        lo, hi = (float(v) for v in evidence["lte_band_hz"])
        inside = min(hi, grid_band[1]) - max(lo, grid_band[0])
        if inside >= 0.5 * (grid_band[1] - grid_band[0]):
            return lo, hi
    if not evidence.get("edges_confident"):
        return None
    lo, hi = (float(v) for v in evidence["occupied_hz"])
    inter = min(hi, grid_band[1]) - max(lo, grid_band[0])
    union = max(hi, grid_band[1]) - min(lo, grid_band[0])
    if not (hi > lo and union > 0 and inter / union >= 0.8):
        return None
    return lo, hi
