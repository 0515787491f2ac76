"""Post-processing: class probability maps -> carrier boxes (one per carrier and time run), merged across frames.

Generic: nothing depends on where a generator puts carriers (steps 1-6 in :mod:`radiofm.annotate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

GAP_COLUMNS = 6  # off-gaps bridged inside a carrier (0.94 ms: empty subframes at low load, one TDD UL slot)
STRONG_MARGIN, STRONG_PIXELS = 0.3, 16  # a carrier holds a 4x4 core with p(carrier) >= threshold + 0.3
QUIET_RATIO, QUIET_ROWS = 10 ** (1.5 / 10), 4  # 4+ rows (~1 MHz) within 1.5 dB of the floor: a gap, not a carrier
MIN_CONTRAST_DB = 0.3  # a box must be this much above the rows beside it (an SNR -6 dB carrier: about +1 dB)
LEFTOVER_COLUMNS = 32  # 5 ms: shortest piece beside a longer carrier taken as a carrier of its own
EDGE_RAMP_DB = 3.0  # a box at the band edge whose edge row is this far above its median row is an alias ramp


@dataclass
class Box:
    """A detected carrier on a probability map: rows [row_lo, row_hi] (inclusive), columns [col_lo, col_hi)."""

    row_lo: int
    row_hi: int
    col_lo: int
    col_hi: int
    cls: int  # 1 NR, 2 LTE
    prob_sum: float  # sum of p(cls) over the box
    n_pixels: int
    nr_sum: float = 0.0  # sum of p(NR) over the box (pooled into the carrier's scores, see annotate.decide)
    lte_sum: float = 0.0  # sum of p(LTE) over the box

    @property
    def confidence(self) -> float:
        return self.prob_sum / max(self.n_pixels, 1)


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal values: [(start, stop, value), ...]."""
    v = np.asarray(values)
    cut = np.flatnonzero(v[1:] != v[:-1]) + 1
    bounds = np.concatenate([[0], cut, [v.size]])
    return [(int(a), int(b), int(v[a])) for a, b in zip(bounds[:-1], bounds[1:])]


def _clean_row_classes(cls: np.ndarray, min_rows: int) -> np.ndarray:
    """Fill 1-row holes inside a band and hand class runs narrower than ``min_rows`` that touch a run of the
    other class to their wider neighbour (boundary rows, a model hesitating between NR and LTE)."""
    cls = cls.copy()
    for _ in range(cls.size):
        runs = _runs(cls)
        changed = False
        for i, (a, b, v) in enumerate(runs):
            left = runs[i - 1] if i else None
            right = runs[i + 1] if i + 1 < len(runs) else None
            if v == 0 and b - a == 1 and left and right and left[2] == right[2] != 0:
                cls[a:b], changed = left[2], True
            elif v != 0 and b - a < min_rows:
                nbrs = [r for r in (left, right) if r and r[2] not in (0, v)]
                if nbrs:
                    cls[a:b], changed = max(nbrs, key=lambda r: r[1] - r[0])[2], True
            if changed:
                break
        if not changed:
            return cls
    return cls


def _merge_unsure_classes(cls: np.ndarray, s_nr: np.ndarray, s_lte: np.ndarray, margin: float = 0.2) -> np.ndarray:
    """Join touching NR and LTE row runs unless both are clear-cut (class margin >= ``margin``): a model torn
    between the two classes must not cut one carrier in two. The joined run takes the larger summed class."""
    cls = cls.copy()
    while True:
        runs = [r for r in _runs(cls) if r[2]]
        for (a, b, u), (c, d, v) in zip(runs[:-1], runs[1:]):
            if b != c or u == v:
                continue
            sure = [
                abs(s_nr[x:y].sum() - s_lte[x:y].sum()) / max(s_nr[x:y].sum() + s_lte[x:y].sum(), 1e-9)
                for x, y in ((a, b), (c, d))
            ]
            if min(sure) < margin:
                cls[a:d] = 1 if s_nr[a:d].sum() >= s_lte[a:d].sum() else 2
                break
        else:
            return cls


def contrast_db(power: np.ndarray, box: Box, others: Sequence[Box], *, guard: int = 1, width: int = 4) -> float | None:
    """Mean power inside ``box`` over that of the rows just beside it (same columns, skipping ``guard`` rows and
    rows of other boxes at the same time), in dB, using the quieter side; None when no side row is free."""
    cols = slice(box.col_lo, box.col_hi)
    busy = np.zeros(power.shape[0], bool)
    for o in others:
        if o is not box and o.col_lo < box.col_hi and o.col_hi > box.col_lo:
            busy[max(o.row_lo - guard, 0) : o.row_hi + guard + 1] = True
    sides = []
    for r0, r1 in (
        (box.row_lo - guard - width, box.row_lo - guard),
        (box.row_hi + 1 + guard, box.row_hi + 1 + guard + width),
    ):
        rows = [r for r in range(max(r0, 0), min(r1, power.shape[0])) if not busy[r]]
        if rows:
            sides.append(float(power[rows, cols].mean()))
    if not sides:
        return None
    inside = float(power[box.row_lo : box.row_hi + 1, cols].mean())
    return 10 * math.log10(max(inside, 1e-30) / max(min(sides), 1e-30))


def edge_alias(power: np.ndarray, box: Box, *, ramp_db: float = EDGE_RAMP_DB) -> bool:
    """True when ``box`` touches the first or last row of ``power`` (F, T) and its power rises steadily toward
    that edge: the outermost row >= ``ramp_db`` above the box's median row and each of the three outermost rows
    above the next inner one. That is no carrier but the alias of one beyond the opposite band edge, folded in
    through a decimator's transition band (e.g. 61.44 -> 30.72 MS/s with ``resample_poly``): its level falls
    with the distance from the edge. A real carrier is flat across its rows, or falls toward the edge (the
    receiver's own roll-off), even when the edge cuts it."""
    at_low, at_high = box.row_lo == 0, box.row_hi == power.shape[0] - 1
    if at_low == at_high or box.row_hi - box.row_lo < 2:  # not at an edge, spanning the band, or too thin
        return False
    rows = 10 * np.log10(power[box.row_lo : box.row_hi + 1, box.col_lo : box.col_hi].mean(axis=1) + 1e-30)
    outward = rows[::-1] if at_low else rows  # inner ... edge
    return bool(outward[-1] - np.median(outward) >= ramp_db and np.all(np.diff(outward[-3:]) > 0))


def _on_runs(on: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs of True, bridging False gaps of at most ``gap`` between them."""
    runs = [(a, b) for a, b, v in _runs(on) if v]
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def carrier_boxes(
    probs: np.ndarray,
    *,
    threshold: float = 0.5,
    min_rows: int = 1,
    gap_columns: int = GAP_COLUMNS,
    min_leftover_columns: int = LEFTOVER_COLUMNS,
    smooth_columns: int = 3,
    strong_margin: float = STRONG_MARGIN,
    power: np.ndarray | None = None,
    floor: float = 0.0,
) -> list[Box]:
    """Boxes (one per carrier and time run) from class probabilities ``probs`` (3, F, T); see the module docstring.

    Rows and columns of the boxes index ``probs``. The carrier mask is taken after a ``smooth_columns`` moving
    average in time (a symmetric filter: on/off edges stay put); confidences use the raw probabilities. A piece
    a component's boxes leave over that touches a box of its own class is that box's ragged fringe: the box is
    widened to cover it when it runs along at least half of the box, else it is dropped. Other pieces are
    carriers of their own (a shorter carrier beside a longer one) when at least ``min_rows`` high and
    ``min_leftover_columns`` long. No other size filter. With the linear ``power`` (F, T) of the same grid and
    its noise ``floor``, runs of 4 or more rows (~1 MHz) within 1.5 dB of the floor over a component's time span
    are never part of a carrier (a guard band the model bridged; shorter runs may be a fading notch).
    """
    p_nr, p_lte = probs[1], probs[2]
    smooth = ndimage.uniform_filter1d(p_nr + p_lte, smooth_columns, axis=-1) if smooth_columns > 1 else p_nr + p_lte
    signal = ndimage.binary_opening(smooth >= threshold, structure=np.ones((min(3, max(min_rows, 1)), 3), bool))
    queue = []
    labels, n = ndimage.label(signal)
    # hysteresis: a component needs a core of confident pixels; weak haze (p just over threshold) is dropped
    strong = np.bincount(labels[smooth >= min(threshold + strong_margin, 0.95)], minlength=n + 1)
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is not None and strong[i] >= STRONG_PIXELS:
            queue.append((labels[sl] == i, sl[0].start, sl[1].start))
    boxes: list[Box] = []
    budget = 10_000  # leftovers shrink strictly; this only guards against pathological maps
    while queue and budget:
        budget -= 1
        sub, r_off, c_off = queue.pop()
        area = (slice(r_off, r_off + sub.shape[0]), slice(c_off, c_off + sub.shape[1]))
        if power is not None:  # rows at the noise floor are a gap between carriers, whatever the model says
            quiet = power[area].mean(axis=1) <= floor * QUIET_RATIO
            gaps = [(a, b) for a, b, v in _runs(quiet) if v and b - a >= QUIET_ROWS]  # not a fade notch
            if gaps:
                sub = sub.copy()
                for a, b in gaps:
                    sub[a:b] = False
            if not sub.any():
                continue
        frac = sub.mean(axis=1)
        active = frac > 0.5
        if not active.any():
            active = frac >= 0.5 * frac.max()
        s_nr, s_lte = (p_nr[area] * sub).sum(axis=1), (p_lte[area] * sub).sum(axis=1)
        row_cls = _clean_row_classes(np.where(active, np.where(s_lte > s_nr, 2, 1), 0), min_rows)
        row_cls = _merge_unsure_classes(row_cls, s_nr, s_lte)
        consumed = np.zeros_like(sub)
        emitted: list[Box] = []
        for r0, r1, k in _runs(row_cls):
            if k == 0:
                continue
            on = sub[r0:r1].mean(axis=0) > 0.5
            for c0, c1 in _on_runs(on, gap_columns):
                consumed[r0:r1, c0:c1] = True
                emitted.append(Box(r_off + r0, r_off + r1 - 1, c_off + c0, c_off + c1, k, 0.0, 0))
        rest = sub & ~consumed
        if consumed.any() and rest.any():
            lab, _ = ndimage.label(rest)
            for i, (rs, cs) in enumerate(ndimage.find_objects(lab), start=1):
                piece = lab[rs, cs] == i
                lo, hi, c0, c1 = r_off + rs.start, r_off + rs.stop - 1, c_off + cs.start, c_off + cs.stop
                k = 2 if (p_lte[lo : hi + 1, c0:c1] * piece).sum() > (p_nr[lo : hi + 1, c0:c1] * piece).sum() else 1
                host = next(
                    (
                        b
                        for b in emitted
                        if b.cls == k and lo <= b.row_hi + 1 and hi >= b.row_lo - 1 and c0 < b.col_hi and c1 > b.col_lo
                    ),
                    None,
                )
                if host is not None:  # the ragged fringe of a box: widen the box if it runs along most of it
                    if min(c1, host.col_hi) - max(c0, host.col_lo) >= 0.5 * (host.col_hi - host.col_lo):
                        host.row_lo, host.row_hi = min(host.row_lo, lo), max(host.row_hi, hi)
                elif hi - lo + 1 >= min_rows and c1 - c0 >= min_leftover_columns:
                    queue.append((piece, lo, c_off + cs.start))
        for b in emitted:
            area = (slice(b.row_lo, b.row_hi + 1), slice(b.col_lo, b.col_hi))
            b.nr_sum, b.lte_sum = float(p_nr[area].sum()), float(p_lte[area].sum())
            b.prob_sum, b.n_pixels = (b.nr_sum if b.cls == 1 else b.lte_sum), p_nr[area].size
            boxes.append(b)
    return merge_boxes(boxes, gap_columns=gap_columns)  # pieces split by a short dropout


def merge_boxes(
    boxes: Sequence[Box], *, gap_columns: int = GAP_COLUMNS, row_tolerance: int = 1, same_class: bool = True
) -> list[Box]:
    """Merge boxes of one band (edges within ``row_tolerance``) that touch or overlap in time; of one class
    only unless ``same_class=False`` (then the merged box keeps the first box's class and pools both's sums)."""
    # boxes come in time order, so a merged box that ends before a start minus the gap can take no later box:
    # only the `live` ones are compared (all of them were: seconds per thousand boxes of a long capture)
    out: list[Box] = []
    live: list[Box] = []
    for b in sorted(boxes, key=lambda b: (b.col_lo, b.row_lo)):
        live = [m for m in live if b.col_lo <= m.col_hi + gap_columns]
        if not any(absorb(m, b, gap_columns=gap_columns, row_tolerance=row_tolerance, same_class=same_class)
                   for m in live):  # fmt: skip
            out.append(Box(**vars(b)))
            live.append(out[-1])
    return out


def absorb(m: Box, b: Box, *, gap_columns: int, row_tolerance: int, same_class: bool) -> bool:
    """Merge box ``b`` into ``m`` (in place) when they are of one band and touch in time (see :func:`merge_boxes`);
    returns whether it did."""
    if not (
        (m.cls == b.cls or not same_class)
        and abs(m.row_lo - b.row_lo) <= row_tolerance
        and abs(m.row_hi - b.row_hi) <= row_tolerance
        and b.col_lo <= m.col_hi + gap_columns
        and m.col_lo <= b.col_hi + gap_columns
    ):
        return False
    m.row_lo, m.row_hi = min(m.row_lo, b.row_lo), max(m.row_hi, b.row_hi)
    m.col_lo, m.col_hi = min(m.col_lo, b.col_lo), max(m.col_hi, b.col_hi)
    m.prob_sum += b.prob_sum if m.cls == b.cls else (b.nr_sum if m.cls == 1 else b.lte_sum)
    m.n_pixels += b.n_pixels
    m.nr_sum += b.nr_sum
    m.lte_sum += b.lte_sum
    return True
