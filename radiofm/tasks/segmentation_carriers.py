"""Carrier-level scoring of a segmentation model: one decision per true carrier, per traffic regime and class.

A pixel score says how much of the picture is right; a user of ``annotate`` gets one label per carrier. Here each
true carrier of a frame (from the dataset manifest: band edges, active span, type, traffic regime) is scored as:

- **label**: the class probabilities summed over the carrier's true box (its occupied-band rows x active-span
  columns), argmax over NR / LTE — the whole carrier's evidence pooled (:func:`pool_carrier`);
- **frequency IoU**: the rows of its true band against the predicted occupied band (:func:`predicted_band`):
  a row is occupied when at least half of the carrier's active columns are predicted signal (NR or LTE); the
  predicted band is the contiguous run of occupied rows, inside the carrier's own region of the spectrum (rows
  nearer its true band than any other carrier's, so adjacent carriers are not merged), that overlaps its true
  band most (no overlap: IoU 0);
- **pixel accuracy**: the share of its box's pixels predicted as its class.

:class:`CarrierTally` accumulates these over frames and reports them per class, per regime and per (regime,
class): the ``carrier_level`` and ``per_regime`` blocks of the segmentation report.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from radiofm.dsp.frontend import FRAME_SAMPLES, SAMPLE_RATE_HZ, col_samples, row_freqs_hz
from radiofm.synth.nrlte import CLASSES

SIGNAL_CLASSES = ("NR", "LTE")
OCCUPIED_FRACTION = 0.5  # a row is predicted occupied when this share of the carrier's active columns is signal


def carrier_box(
    carrier: dict,
    image_size: tuple[int, int],
    *,
    fft_size: int,
    n_samples: int = FRAME_SAMPLES,
    sample_rate_hz: float = SAMPLE_RATE_HZ,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (H,) rows and (W,) columns of a carrier's true box: the label image's rule (row centre inside
    [lower_edge_hz, upper_edge_hz), column centre inside [sample_start, sample_start + sample_count))."""
    H, W = image_size
    f = row_freqs_hz(H, fft_size, sample_rate_hz)
    t = col_samples(W, n_samples)
    rows = (f >= carrier["lower_edge_hz"]) & (f < carrier["upper_edge_hz"])
    cols = (t >= carrier["sample_start"]) & (t < carrier["sample_start"] + carrier["sample_count"])
    return rows, cols


def pool_carrier(probs: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[str, dict[str, float]]:
    """(label, scores) of one carrier: class probabilities (C, H, W) summed over its box, argmax over NR/LTE.

    ``scores``: the NR and LTE sums normalised to add up to 1 (ties go to NR; an empty box scores 0.5 each).
    """
    box = probs[:, rows][:, :, cols]
    sums = np.array([float(box[CLASSES.index(c)].sum()) for c in SIGNAL_CLASSES])
    total = sums.sum()
    share = sums / total if total > 0 else np.full(len(SIGNAL_CLASSES), 1.0 / len(SIGNAL_CLASSES))
    return SIGNAL_CLASSES[int(np.argmax(share))], {c: float(s) for c, s in zip(SIGNAL_CLASSES, share)}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def predicted_band(pred: np.ndarray, rows: np.ndarray, cols: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Boolean (H,) predicted occupied band of the carrier with true ``rows`` and active ``cols``.

    ``pred`` (H, W) class indices; ``region`` (H,) the rows this carrier may claim (see the module docstring).
    """
    if not cols.any():
        return np.zeros_like(rows)
    occupied = (pred[:, cols] != 0).mean(axis=1) >= OCCUPIED_FRACTION
    occupied &= region
    best, best_overlap = None, 0
    for a, b in _runs(occupied):
        overlap = int(rows[a:b].sum())
        if overlap > best_overlap:
            best, best_overlap = (a, b), overlap
    band = np.zeros_like(rows)
    if best is not None:
        band[best[0] : best[1]] = True
    return band


def band_iou(true_rows: np.ndarray, pred_rows: np.ndarray) -> float:
    """|true ∩ pred| / |true ∪ pred| over rows (0 when both are empty)."""
    union = int((true_rows | pred_rows).sum())
    return float((true_rows & pred_rows).sum() / union) if union else 0.0


def regions(bands: list[np.ndarray]) -> list[np.ndarray]:
    """For each carrier's true band (H,), the rows nearer to it than to any other carrier's band."""
    H = len(bands[0]) if bands else 0
    r = np.arange(H)
    dist = []
    for band in bands:
        idx = np.flatnonzero(band)
        if idx.size == 0:
            dist.append(np.full(H, np.inf))
        else:
            dist.append(np.maximum(0, np.maximum(idx[0] - r, r - idx[-1])).astype(float))
    if not dist:
        return []
    d = np.stack(dist)
    nearest = d.argmin(axis=0)
    return [(nearest == i) & np.isfinite(d[i]) for i in range(len(bands))]


def score_frame(probs: np.ndarray, carriers: list[dict], *, fft_size: int, frame: int = 0) -> list[dict]:
    """One record per true carrier of a frame: type, traffic, predicted label, scores, pixel counts, freq IoU."""
    pred = probs.argmax(0)
    image_size = probs.shape[1:]
    boxes = [carrier_box(c, image_size, fft_size=fft_size) for c in carriers]
    claim = regions([rows for rows, _ in boxes])
    out = []
    for c, (rows, cols), region in zip(carriers, boxes, claim):
        label, scores = pool_carrier(probs, rows, cols)
        cls = CLASSES.index(c["type"])
        box_pred = pred[rows][:, cols]
        out.append(
            {
                "frame": frame,
                "type": c["type"],
                "traffic": c.get("traffic", "unknown"),
                "predicted": label,
                "scores": {k: round(v, 4) for k, v in scores.items()},
                "pixels": int(box_pred.size),
                "pixels_right": int((box_pred == cls).sum()),
                "freq_iou": round(band_iou(rows, predicted_band(pred, rows, cols, region)), 4),
                "snr_db": round(float(c["snr_db"]), 2) if c.get("snr_db") is not None else None,
                "scs_hz": float(c["scs_hz"]) if c.get("scs_hz") is not None else None,
                "duplex": duplex(c),
            }
        )
    return out


def _summary(records: list[dict]) -> dict:
    n = len(records)
    pixels = sum(r["pixels"] for r in records)
    ious = np.array([r["freq_iou"] for r in records], dtype=float)
    return {
        "carriers": n,
        "carrier_accuracy": float(np.mean([r["predicted"] == r["type"] for r in records])) if n else None,
        "pixel_accuracy": float(sum(r["pixels_right"] for r in records) / pixels) if pixels else None,
        "freq_iou_mean": float(ious.mean()) if n else None,
        "freq_iou_median": float(np.median(ious)) if n else None,
        "freq_iou_at_least_0.9": float((ious >= 0.9).mean()) if n else None,
    }


def duplex(carrier: dict) -> str | None:
    """A manifest carrier's duplex mode: its ``duplex`` (LTE of the main generator; both standards of the alt one),
    else "TDD"/"FDD" from an NR ``tdd_pattern`` key (the main generator's NR); None when the manifest says neither."""
    if carrier.get("duplex") is not None:
        return str(carrier["duplex"])
    if "tdd_pattern" in carrier:
        return "TDD" if carrier["tdd_pattern"] else "FDD"
    return None


def numerology(record: dict) -> str | None:
    """A carrier record's standard and subcarrier spacing ("NR 15 kHz", "NR 30 kHz", "LTE 15 kHz", ...), or None
    when the record has no spacing."""
    scs = record.get("scs_hz")
    return None if scs is None else f"{record['type']} {scs / 1e3:g} kHz"


class CarrierTally:
    """Carrier records over frames; :meth:`report` gives the ``carrier_level`` and ``per_regime`` blocks."""

    def __init__(self, fft_size: int):
        self.fft_size = int(fft_size)
        self.records: list[dict] = []

    def add(self, probs: np.ndarray, carriers_per_frame: list[list[dict]], first_frame: int = 0) -> None:
        """``probs`` (N, C, H, W) class probabilities of N frames, their manifest carrier lists."""
        for k, (p, carriers) in enumerate(zip(probs, carriers_per_frame)):
            self.records.extend(score_frame(p, carriers, fft_size=self.fft_size, frame=first_frame + k))

    def report(self) -> dict:
        by_class, by_regime, by_numerology = defaultdict(list), defaultdict(list), defaultdict(list)
        by_duplex = defaultdict(list)
        for r in self.records:
            by_class[r["type"]].append(r)
            by_regime[r["traffic"]].append(r)
            if (key := numerology(r)) is not None:
                by_numerology[key].append(r)
            if r.get("duplex") is not None:
                by_duplex[f"{r['type']} {r['duplex']}"].append(r)
        confusion = {t: {p: sum(r["predicted"] == p for r in by_class[t]) for p in SIGNAL_CLASSES} for t in by_class}
        carrier_level = {
            "definition": "label = argmax over NR/LTE of the class probabilities summed over the carrier's true box; "
            "freq IoU = true vs predicted occupied rows (radiofm.tasks.segmentation_carriers)",
            **_summary(self.records),
            "per_class": {c: _summary(by_class[c]) for c in SIGNAL_CLASSES if by_class[c]},
            "confusion": confusion,
            # NR at 15 kHz shares LTE's grid (docs/RESULTS.md, session 39): the numerologies apart
            "per_numerology": {k: _summary(by_numerology[k]) for k in sorted(by_numerology)},
            # TDD leaves silent subframes/slots: an LTE TDD carrier can look like NR TDD (docs/RESULTS.md, s44-45)
            "per_duplex": {k: _summary(by_duplex[k]) for k in sorted(by_duplex)},
            "records": self.records,
        }
        per_regime = {}
        for regime in sorted(by_regime):
            recs = by_regime[regime]
            classes = {c: [r for r in recs if r["type"] == c] for c in SIGNAL_CLASSES}
            per_regime[regime] = {**_summary(recs), "per_class": {c: _summary(v) for c, v in classes.items() if v}}
        return {"carrier_level": carrier_level, "per_regime": per_regime}
