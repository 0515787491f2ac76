"""Classification metrics shared by every task that labels pixels, frames or samples: confusion matrices, per-class
accuracy (recall) and IoU with their means over present classes, the binary class-0-vs-rest variant, and the
confusion-matrix figure.

Rates whose denominator is zero are ``None`` (never NaN), so a report is valid JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from radiofm.errors import ConfigError, DatasetError


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """int64 (C, C): row = true class, column = predicted class, counting items (pixels)."""
    t = np.asarray(truth).astype(np.int64).ravel()
    p = np.asarray(pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ConfigError(f"truth and prediction differ in size: {t.shape} vs {p.shape}")
    if t.size and (t.min() < 0 or t.max() >= num_classes or p.min() < 0 or p.max() >= num_classes):
        raise DatasetError(f"labels outside 0..{num_classes - 1}")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def _ratio(a, b):
    return float(a / b) if b > 0 else None


def matrix_metrics(cm: np.ndarray, classes: Sequence[str]) -> dict:
    """Counts, row-normalised matrix, per-class accuracy (recall) and IoU, their means over present classes."""
    cm = np.asarray(cm, dtype=np.int64)
    rows, cols, diag = cm.sum(1), cm.sum(0), np.diag(cm)
    acc = [_ratio(diag[i], rows[i]) for i in range(len(classes))]
    iou = [_ratio(diag[i], rows[i] + cols[i] - diag[i]) for i in range(len(classes))]
    norm = [[_ratio(v, rows[i]) for v in cm[i]] for i in range(len(classes))]
    present = [a for a, r in zip(acc, rows) if r > 0]
    present_iou = [v for v, r in zip(iou, rows) if r > 0 and v is not None]
    return {
        "classes": list(classes),
        "counts": cm.tolist(),
        "row_normalised": norm,
        "per_class_accuracy": dict(zip(classes, acc)),
        "mean_class_accuracy": float(np.mean(present)) if present else None,
        "iou": dict(zip(classes, iou)),
        "mean_iou": float(np.mean(present_iou)) if present_iou else None,
        "pixel_accuracy": _ratio(diag.sum(), cm.sum()),
    }


def binary_matrix(cm: np.ndarray) -> np.ndarray:
    """(C, C) -> (2, 2): class 0 (noise, background) against all the others merged (signal)."""
    cm = np.asarray(cm, dtype=np.int64)
    return np.array([[cm[0, 0], cm[0, 1:].sum()], [cm[1:, 0].sum(), cm[1:, 1:].sum()]])


def metrics_with_binary(cm: np.ndarray, classes: Sequence[str], binary: Sequence[str] = ("noise", "signal")) -> dict:
    """:func:`matrix_metrics` of ``cm`` plus ``"binary"``: those of :func:`binary_matrix` (paper A Fig. 8)."""
    return {**matrix_metrics(cm, classes), "binary": matrix_metrics(binary_matrix(cm), binary)}


def plot_confusion(report: dict, path: Path) -> None:
    """Row-normalised confusion matrices with counts: the report's classes and, beside it, its ``"binary"``."""
    from radiofm.viz import new_figure, save_figure

    fig = new_figure((10.0, 4.4))
    titles = (f"{len(report['classes'])}-class", "signal vs noise (binary)")
    for ax, m, title in zip(fig.subplots(1, 2), (report, report["binary"]), titles, strict=True):
        counts = np.array(m["counts"])
        norm = np.array([[np.nan if v is None else v for v in row] for row in m["row_normalised"]], dtype=float)
        ax.imshow(np.nan_to_num(norm), vmin=0, vmax=1, cmap="Blues")
        k = len(m["classes"])
        for i in range(k):
            for j in range(k):
                pct = "" if np.isnan(norm[i, j]) else f"\n{100 * norm[i, j]:.1f}%"
                color = "white" if np.nan_to_num(norm[i, j]) > 0.5 else "black"
                ax.text(j, i, f"{counts[i, j]}{pct}", ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(k), m["classes"])
        ax.set_yticks(range(k), m["classes"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        mca = m["mean_class_accuracy"]
        ax.set_title(f"{title}: mean acc {mca:.3f}" if mca is not None else title)
    save_figure(fig, path)


def plot_class_confusion(report: dict, path: Path, *, title: str = "") -> None:
    """One row-normalised confusion matrix with counts: ``report["classes"]``, ``report["confusion"]`` (counts,
    row = true class) — item classification (CSI sensing, signal identification)."""
    from radiofm.viz import new_figure, save_figure

    classes = report["classes"]
    counts = np.asarray(report["confusion"], dtype=np.int64)
    rows = counts.sum(1, keepdims=True)
    norm = np.divide(counts, rows, out=np.full(counts.shape, np.nan), where=rows > 0)
    k = len(classes)
    side = max(4.5, 0.55 * k + 2.0)
    fig = new_figure((side + 1.0, side))
    ax = fig.subplots()
    ax.imshow(np.nan_to_num(norm), vmin=0, vmax=1, cmap="Blues")
    for i in range(k):
        for j in range(k):
            pct = "" if np.isnan(norm[i, j]) else f"\n{100 * norm[i, j]:.0f}%"
            color = "white" if np.nan_to_num(norm[i, j]) > 0.5 else "black"
            ax.text(j, i, f"{counts[i, j]}{pct}", ha="center", va="center", fontsize=7 if k > 8 else 9, color=color)
    ax.set_xticks(range(k), classes, rotation=45 if k > 8 else 0, ha="right" if k > 8 else "center")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = report.get("accuracy")
    ax.set_title(f"{title}: accuracy {acc:.3f}" if acc is not None else title)
    save_figure(fig, path)


__all__ = [
    "binary_matrix",
    "confusion_matrix",
    "matrix_metrics",
    "metrics_with_binary",
    "plot_class_confusion",
    "plot_confusion",
]
