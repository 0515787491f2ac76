"""Score what ``annotate`` wrote against a recording's true annotations: per carrier and per pixel.

The spectrogram model's own score (``radiofm evaluate segmentation``) says how well its pixels are labelled; a
user gets something else: :func:`~radiofm.annotate.annotate_recording`'s boxes, whose labels also come from the
pooled scores and the physical-layer stage, and whose edges from the cells' reference signals. This module
scores those boxes, in the two ways the segmentation task is scored:

- **Carriers.** Each true carrier (an annotation labelled NR or LTE) is matched to the predicted annotation that
  overlaps it in time with the largest frequency IoU; >= :data:`MATCH_IOU` (0.5) is found, else missed. A found
  carrier is right when the labels agree, ``unknown`` when annotate abstained, else wrong. Predicted annotations
  matching no carrier are false boxes.
- **Pixels.** Both sets of annotations are painted, as boxes (band x active time, the way the NR/LTE label
  images are built), on a grid of :data:`GRID` x :data:`GRID` cells spanning the recording's band and duration;
  a cell takes the class of the last box covering its centre: noise, NR, LTE, or (predicted only) unknown. The
  confusion (true noise/NR/LTE x predicted noise/NR/LTE/unknown) gives the per-class accuracy (an "unknown" cell
  counts against its true class) and their mean.

Truth and prediction must use the same frequency reference (absolute Hz when the recording has a centre
frequency, else Hz from the band centre), as annotate's output and the recording's own annotations do.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from radiofm.data.sigmf_format import Annotation
from radiofm.synth.nrlte.scene import CLASSES

PREDICTED = (*CLASSES, "unknown")
GRID = 256  # cells per axis: at 61.44 MS/s over 40 ms, 240 kHz x 0.16 ms (the model's own resolution)
MATCH_IOU = 0.5


def is_carrier(a: Annotation) -> bool:
    """A true carrier: labelled NR or LTE, with both frequency edges."""
    return a.label in ("NR", "LTE") and a.freq_lower_edge_hz is not None and a.freq_upper_edge_hz is not None


def overlaps_in_time(a: Annotation, b: Annotation) -> bool:
    return a.sample_start < b.sample_start + b.sample_count and b.sample_start < a.sample_start + a.sample_count


def freq_iou(a: Annotation, b: Annotation) -> float:
    inter = min(a.freq_upper_edge_hz, b.freq_upper_edge_hz) - max(a.freq_lower_edge_hz, b.freq_lower_edge_hz)
    union = max(a.freq_upper_edge_hz, b.freq_upper_edge_hz) - min(a.freq_lower_edge_hz, b.freq_lower_edge_hz)
    return max(inter, 0.0) / union if union > 0 else 0.0


def match(carrier: Annotation, predicted: Sequence[Annotation]) -> tuple[Annotation | None, float]:
    """The predicted annotation overlapping ``carrier`` in time with the largest frequency IoU (None below
    :data:`MATCH_IOU`), and that IoU (0 when none overlaps)."""
    best, best_iou = None, 0.0
    for a in predicted:
        if a.freq_lower_edge_hz is None or a.freq_upper_edge_hz is None or not overlaps_in_time(a, carrier):
            continue
        iou = freq_iou(carrier, a)
        if iou > best_iou:
            best, best_iou = a, iou
    return (best if best_iou >= MATCH_IOU else None), best_iou


def paint(
    annotations: Iterable[Annotation], *, n_samples: int, lower_hz: float, upper_hz: float, grid: int = GRID
) -> np.ndarray:
    """uint8 (grid, grid) class map, rows low to high frequency over [lower_hz, upper_hz), columns over
    [0, n_samples): 0 noise, 1 NR, 2 LTE, 3 anything else (unknown); the last box over a cell's centre wins."""
    f = lower_hz + (np.arange(grid) + 0.5) * (upper_hz - lower_hz) / grid
    t = (np.arange(grid) + 0.5) * n_samples / grid
    out = np.zeros((grid, grid), dtype=np.uint8)
    for a in annotations:
        if a.freq_lower_edge_hz is None or a.freq_upper_edge_hz is None:
            continue
        rows = (f >= a.freq_lower_edge_hz) & (f < a.freq_upper_edge_hz)
        cols = (t >= a.sample_start) & (t < a.sample_start + a.sample_count)
        out[np.ix_(rows, cols)] = PREDICTED.index(a.label) if a.label in CLASSES[1:] else 3
    return out


@dataclass
class AnnotateScore:
    """Running score over recordings: pixel confusion (3 x 4) and one record per true carrier."""

    confusion: np.ndarray = field(default_factory=lambda: np.zeros((3, 4), dtype=np.int64))
    carriers: list[dict] = field(default_factory=list)
    false_boxes: int = 0
    recordings: int = 0
    false_by_decision: Counter = field(default_factory=Counter)  # radiofm:decision -> false boxes

    def add(
        self,
        truth: Sequence[Annotation],
        predicted: Sequence[Annotation],
        *,
        n_samples: int,
        lower_hz: float,
        upper_hz: float,
        tags: dict | None = None,
    ) -> list[dict]:
        """Score one recording; returns its carrier records (also kept), each with ``tags`` merged in."""
        truth = [a for a in truth if is_carrier(a)]
        t_map = paint(truth, n_samples=n_samples, lower_hz=lower_hz, upper_hz=upper_hz)
        p_map = paint(predicted, n_samples=n_samples, lower_hz=lower_hz, upper_hz=upper_hz)
        self.confusion += np.bincount(t_map.ravel() * 4 + p_map.ravel(), minlength=12).reshape(3, 4)
        used, records = set(), []
        for c in truth:
            a, iou = match(c, predicted)
            if a is None:
                outcome = "missed"
            else:
                used.add(id(a))
                outcome = "right" if a.label == c.label else "unknown" if a.label == "unknown" else "wrong"
            records.append(
                (tags or {})
                | {
                    "type": c.label,
                    "lower_hz": c.freq_lower_edge_hz,
                    "upper_hz": c.freq_upper_edge_hz,
                    "outcome": outcome,
                    "label": None if a is None else a.label,
                    "freq_iou": round(float(iou), 4),
                    "pci": None if a is None else a.extra.get("radiofm:pci"),
                    "decision": None if a is None else a.extra.get("radiofm:decision"),
                }
            )
        for a in predicted:
            if id(a) not in used:
                self.false_boxes += 1
                self.false_by_decision[str(a.extra.get("radiofm:decision"))] += 1
        self.recordings += 1
        self.carriers.extend(records)
        return records

    def __iadd__(self, other: AnnotateScore) -> AnnotateScore:
        self.confusion += other.confusion
        self.carriers.extend(other.carriers)
        self.false_boxes += other.false_boxes
        self.recordings += other.recordings
        self.false_by_decision.update(other.false_by_decision)
        return self

    def report(self) -> dict:
        """Pixel per-class and mean accuracy, confusion; carriers per class: counts, accuracy (right over all true
        carriers: a missed one is not right), frequency IoU (mean, share >= 0.9); false boxes; ``per_decision``:
        for each ``radiofm:decision`` (the step of annotate that gave the label, "None" for annotations without
        one), the found carriers it decided (right / wrong / unknown) and the false boxes."""
        totals = self.confusion.sum(axis=1)
        per_class = {c: (float(self.confusion[i, i] / totals[i]) if totals[i] else None) for i, c in enumerate(CLASSES)}
        present = [v for v in per_class.values() if v is not None]
        carriers = {}
        for kind in CLASSES[1:]:
            recs = [r for r in self.carriers if r["type"] == kind]
            if not recs:
                continue
            outcomes = {k: sum(r["outcome"] == k for r in recs) for k in ("right", "wrong", "unknown", "missed")}
            iou = np.array([r["freq_iou"] for r in recs])
            carriers[kind] = {
                "n": len(recs),
                **outcomes,
                "accuracy": outcomes["right"] / len(recs),
                "accuracy_of_found": (outcomes["right"] / (len(recs) - outcomes["missed"]))
                if len(recs) > outcomes["missed"]
                else None,
                "freq_iou_mean": float(iou.mean()),
                "freq_iou_ge_0.9": float((iou >= 0.9).mean()),
            }
        # which step of annotate decided the found carriers, and how well
        by_decision = defaultdict(lambda: dict.fromkeys(("carriers", "right", "wrong", "unknown", "false_boxes"), 0))
        for r in self.carriers:
            if r["outcome"] != "missed":
                d = by_decision[str(r["decision"])]
                d["carriers"] += 1
                d[r["outcome"]] += 1
        for key, n in self.false_by_decision.items():
            by_decision[key]["false_boxes"] = n
        return {
            "recordings": self.recordings,
            "pixel": {
                "classes": list(CLASSES),
                "predicted": list(PREDICTED),
                "per_class_accuracy": per_class,
                "mean_class_accuracy": float(np.mean(present)) if present else None,
                "confusion": self.confusion.tolist(),
            },
            "carriers": carriers,
            "false_boxes": self.false_boxes,
            "per_decision": dict(sorted(by_decision.items())),
        }
