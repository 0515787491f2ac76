"""Pictures of few-shot results, written only to the paths given: accuracy vs shots, embedding PCA, AoA error."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiofm.viz import new_figure, save_figure


def plot_accuracy_vs_shots(
    series: dict[str, dict], path: str | Path, *, title: str, reference: dict[str, dict[str, float]] | None = None
) -> Path:
    """One line per entry of ``series`` ({label: {"accuracy": {"k": acc}, "ci95": {"k": ci}}}), with 95 % bars;
    ``reference`` ({label: {"k": percent}}) adds the slides' figures as markers."""
    fig = new_figure((10.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    for label, rep in series.items():
        ks = sorted(int(k) for k in rep["accuracy"])
        acc = [100 * rep["accuracy"][str(k)] for k in ks]
        ci = [100 * rep.get("ci95", {}).get(str(k), 0.0) for k in ks]
        ax.errorbar(ks, acc, yerr=ci, marker="o", capsize=3, label=label)
    for label, pts in (reference or {}).items():
        ks = sorted(int(k) for k in pts)
        ax.plot(ks, [pts[str(k)] for k in ks], linestyle="none", marker="*", markersize=11, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("labelled frames per class (shots)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(fig, path)


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """First two principal components of (N, D) embeddings: (N, 2)."""
    x = embeddings - embeddings.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T


def plot_embedding_pca(embeddings: np.ndarray, labels: np.ndarray, path: str | Path, *, title: str) -> Path:
    """PCA of embeddings, one colour per class on a cyclic map (neighbouring beams get neighbouring colours)."""
    import matplotlib

    xy = pca_2d(embeddings)
    classes = np.unique(labels)
    cmap = matplotlib.colormaps["turbo"]
    fig = new_figure((6.5, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    for i, c in enumerate(classes):
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=6, color=cmap(i / max(1, len(classes) - 1)), label=f"{c:g}")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title)
    if len(classes) <= 24:
        ax.legend(fontsize=6, ncol=2, markerscale=2, title="class", title_fontsize=7, loc="best")
    return save_figure(fig, path)


def plot_aoa_error(
    reports: dict[str, dict], path: str | Path, *, title: str, reference: dict[str, float] | None = None
) -> Path:
    """Angle error (deg) vs shots, one line per report ({label: evaluate_aoa report})."""
    fig = new_figure((7.0, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for label, rep in reports.items():
        ks = sorted(int(k) for k in rep["mae_deg"])
        ax.errorbar(
            ks,
            [rep["mae_deg"][str(k)] for k in ks],
            yerr=[rep["ci95_deg"][str(k)] for k in ks],
            marker="o",
            capsize=3,
            label=label,
        )
    if reference:
        ks = sorted(int(k) for k in reference)
        ax.plot(
            ks,
            [reference[str(k)] for k in ks],
            linestyle="none",
            marker="*",
            markersize=11,
            label="authors (unseen angles)",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("labelled frames per angle (shots)")
    ax.set_ylabel("mean absolute angle error (deg)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
