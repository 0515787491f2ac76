"""Forecasting figures: paper A Fig. 6 (detection rate over the block-resolution grid) and predicted vs true tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from radiofm.models.forecaster import persistence


def plot_heatmaps(report: dict, path: Path, *, metric: str = "detection_rate") -> Path:
    """Paper A Fig. 6: ``metric`` over the block-resolution grid, one column per model, one row per horizon."""
    from radiofm.viz import new_figure, save_figure  # matplotlib: imported when a figure is drawn

    names = list(report["results"])
    horizons = report["horizons"]
    fig = new_figure((3.2 * len(names), 2.6 * len(horizons)))
    axes = fig.subplots(len(horizons), len(names), squeeze=False)
    for c, name in enumerate(names):
        for r, h in enumerate(horizons):
            grid = report["results"][name]["grid"][h - 1]
            vals = np.array([[np.nan if cell[metric] is None else cell[metric] for cell in row] for row in grid])
            ax = axes[r, c]
            im = ax.imshow(vals, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
            for i in range(vals.shape[0]):
                for j in range(vals.shape[1]):
                    v = vals[i, j]
                    ax.text(
                        j,
                        i,
                        "–" if np.isnan(v) else f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if not np.isnan(v) and v < 0.6 else "black",
                    )
            ax.set_xticks(range(len(report["time_blocks"])), [str(b) for b in report["time_blocks"]], fontsize=7)
            ax.set_yticks(range(len(report["freq_blocks"])), [str(b) for b in report["freq_blocks"]], fontsize=7)
            ax.set_title(f"{report['labels'][name]}, {h} ahead", fontsize=8)
            if r == len(horizons) - 1:
                ax.set_xlabel("block time (columns)", fontsize=7)
            if c == 0:
                ax.set_ylabel("block frequency (bins)", fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.6, label=metric.replace("_", " "))
    save_figure(fig, path)
    return path


@torch.no_grad()
def plot_tokens(
    models: dict, windows, path: Path, *, horizons: int, labels: dict, n_samples: int = 3, device="cpu"
) -> Path:
    """Predicted vs true tokens: per sample a row of truth and a row per model, one column per horizon."""
    from radiofm.viz import new_figure, save_figure

    n = min(n_samples, len(windows))
    picks = np.linspace(0, len(windows) - 1, n).round().astype(int).tolist()
    x = torch.stack([windows[j][0] for j in picks]).to(device)
    y = torch.stack([windows[j][1] for j in picks])[:, :horizons, 0].float().numpy()
    preds = {
        name: (persistence(x, horizons) if m is None else m.rollout(x, horizons))[:, :, 0].float().cpu().numpy()
        for name, m in models.items()
    }
    rows = 1 + len(preds)
    fig = new_figure((1.3 * (horizons + 1) + 1.5, 1.6 * rows * n))
    axes = fig.subplots(rows * n, horizons + 1, squeeze=False)
    lo, hi = np.percentile(y, [1, 99.5])
    for s in range(n):
        series = [("true", y[s])] + [(labels[name], p[s]) for name, p in preds.items()]
        for r, (label, tokens) in enumerate(series):
            row = axes[s * rows + r]
            ctx = x[s, -1, 0].float().cpu().numpy() if r == 0 else None
            for c in range(horizons + 1):
                ax = row[c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    if ctx is not None:
                        ax.imshow(ctx, origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi)
                        ax.set_title(f"sample {s + 1}: last input", fontsize=7)
                    else:
                        ax.axis("off")
                    ax.text(-0.1, 0.5, label, transform=ax.transAxes, ha="right", va="center", fontsize=7)
                    continue
                ax.imshow(tokens[c - 1], origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi)
                if r == 0:
                    ax.set_title(f"t+{c}", fontsize=7)
    save_figure(fig, path)
    return path
