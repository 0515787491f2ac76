"""Reconstruction accuracy of a pretrained MAE per mask ratio (paper B, Fig. 4 and Fig. 6).

Each spectrogram and its reconstruction (visible patches kept, masked patches predicted) become resource
grids: average-pooled into blocks, thresholded at μ + 0.5σ of that spectrogram. Accuracy is the fraction of
blocks where the two grids agree — over the whole image (the paper's figure) and over masked blocks only
(the harder, more honest number). A noise-fill baseline (masked pixels drawn from the visible pixels' mean and std)
is scored the same way so the figures have a floor to compare against. :func:`evaluate_reconstruction_run`
scores a pretrained run on a folder of recordings and writes ``reconstruction.json`` and the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from radiofm.data.spectrograms import SpectrogramDataset, SpectrogramParams, build_spectrogram_dataset
from radiofm.dsp import pool_blocks, resource_grid
from radiofm.errors import ConfigError, check_type
from radiofm.io import atomic_path, write_json
from radiofm.models.checkpoint import load_checkpoint
from radiofm.train import epoch_batches
from radiofm.train.distributed import DeviceChecked


def reconstruct(model, x: torch.Tensor, mask_ratio: float, generator: torch.Generator):
    """Return (reconstruction, masked input, mask image), each (B, C, F, T); mask image 1 = masked."""
    _loss, pred, mask = model(x, mask_ratio=mask_ratio, generator=generator)
    target = model.patchify(x)
    m = mask.unsqueeze(-1).to(pred.dtype)
    recon = model.unpatchify(pred * m + target * (1 - m))
    mask_img = model.unpatchify(m.expand_as(target))
    masked = x * (1 - mask_img)
    # noise-fill baseline: masked pixels drawn from N(mean, std) of the sample's visible pixels, which keeps the
    # image statistics (and so the μ + 0.5σ threshold) comparable; a constant fill would shrink σ and cheat
    vis = 1 - m
    n_vis = vis.sum(dim=(1, 2)).clamp_min(1)
    mu = (target * vis).sum(dim=(1, 2)) / n_vis
    sd = (((target - mu[:, None, None]) ** 2 * vis).sum(dim=(1, 2)) / n_vis).sqrt()
    noise = torch.randn(target.shape, generator=generator).to(target.device, target.dtype)
    baseline = model.unpatchify(target * vis + (mu[:, None, None] + sd[:, None, None] * noise) * m)
    return recon, masked, mask_img, baseline


def _agreement(a: np.ndarray, b: np.ndarray, block, sel: np.ndarray | None = None) -> tuple[float, int]:
    ga, gb = resource_grid(a, block), resource_grid(b, block)
    eq = ga == gb
    if sel is not None:
        return float(eq[sel].sum()), int(sel.sum())
    return float(eq.sum()), int(eq.size)


@torch.no_grad()
def evaluate_reconstruction(
    model,
    dataset,
    *,
    mask_ratios: Sequence[float],
    block=(4, 4),
    batch_size: int = 32,
    seed: int = 0,
    max_samples: int | None = None,
    device="cpu",
) -> dict:
    """Grid agreement per mask ratio on ``dataset`` (items (C, F, T)), with fixed masks from ``seed``."""
    for r in mask_ratios:
        if not 0.0 < r < 1.0:
            raise ConfigError(f"mask ratio must be in (0, 1), got {r}")
    model.eval().to(device)
    n = len(dataset) if max_samples is None else min(len(dataset), max_samples)
    batches = epoch_batches(n, batch_size, seed=seed, epoch=0, shuffle=False, drop_last=False)
    results = []
    for r in mask_ratios:
        acc = {
            name: [0.0, 0]
            for name in ("accuracy_all", "accuracy_masked", "baseline_accuracy_all", "baseline_accuracy_masked")
        }
        mse = [0.0, 0]
        for bi, idx in enumerate(batches):
            x = torch.stack([dataset[i] for i in idx]).to(device)
            g = torch.Generator().manual_seed(seed * 1000 + bi)
            recon, _masked, mask_img, base = reconstruct(model, x, r, g)
            xs, rs, bs = (
                x[:, 0].float().cpu().numpy(),
                recon[:, 0].float().cpu().numpy(),
                base[:, 0].float().cpu().numpy(),
            )
            msk = mask_img[:, 0].float().cpu().numpy()
            # a block counts as masked when most of its pixels were masked
            sel = pool_blocks(msk, block) > 0.5
            for prefix, other in (("accuracy", rs), ("baseline_accuracy", bs)):
                for suffix, where in (("_all", None), ("_masked", sel)):
                    agree, count = _agreement(xs, other, block, where)
                    acc[prefix + suffix][0] += agree
                    acc[prefix + suffix][1] += count
            mse[0] += float(((recon - x) ** 2 * mask_img).sum())
            mse[1] += float(mask_img.sum())
        row = {
            "mask_ratio": r,
            **{k: v[0] / max(v[1], 1) for k, v in acc.items()},
            "masked_mse": mse[0] / max(mse[1], 1),
        }
        results.append(row)
    return {"block": list(block), "threshold": "mu + 0.5 sigma", "samples": n, "seed": seed, "results": results}


@dataclass
class ReconstructionEvalConfig(DeviceChecked):
    """How a pretrained MAE is scored (paper B Fig. 4/6)."""

    mask_ratios: list[float] = field(default_factory=lambda: [0.5, 0.75, 0.9])  # each in (0, 1)
    block: tuple[int, int] = (4, 4)  # resource-block size in pixels (F x T)
    max_samples: int | None = None  # evaluate at most N spectrograms
    batch_size: int = 32  # spectrograms per model call
    seed: int = 0  # seed of the evaluation masks
    device: str = "cpu"  # where the model runs
    cache_dir: Path | None = None  # the folder holding the spectrogram dataset's cache (default: beside the data)
    progress: bool = True  # progress bar while the dataset is built


def evaluate_reconstruction_run(
    model: str | Path, data: str | Path, out: str | Path, config: ReconstructionEvalConfig | None = None
) -> dict:
    """Score the MAE run ``model`` on recordings ``data`` with the run's own spectrogram front end and statistics.

    Writes ``out/reconstruction.json`` (the returned report), ``accuracy_vs_mask_ratio.png`` and ``gallery.png``.
    """
    cfg = check_type(config or ReconstructionEvalConfig(), ReconstructionEvalConfig, "config")
    net, info = load_checkpoint(model, expect_kind="mae")
    data_info = info.get("extra", {}).get("data", {})
    params = (
        SpectrogramParams(**data_info["params"])
        if "params" in data_info
        else SpectrogramParams(image_size=tuple(net.config.img_size))
    )
    ds = build_spectrogram_dataset(data, params=params, cache_root=cfg.cache_dir, progress=cfg.progress)
    if "stats" in data_info:  # the model's own normalisation, so inputs look like its pretraining data
        ds = SpectrogramDataset(ds.folder, stats=data_info["stats"])
    report = evaluate_reconstruction(
        net,
        ds,
        mask_ratios=cfg.mask_ratios,
        block=cfg.block,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        max_samples=cfg.max_samples,
        device=cfg.device,
    )
    report.update(model=str(model), data=str(data))
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "reconstruction.json", report)
        plot_accuracy(report, tmp / "accuracy_vs_mask_ratio.png")
        plot_gallery(net, ds, tmp / "gallery.png", mask_ratios=cfg.mask_ratios, seed=cfg.seed, device=cfg.device)
    return report


# ------------------------------------------------------------------------------------------- pictures


def plot_accuracy(report: dict, path: Path, *, title: str = "Reconstruction accuracy vs mask ratio") -> Path:
    from radiofm.viz import new_figure, save_figure  # an Agg canvas of its own: the caller's backend is left alone

    rows = report["results"]
    r = [row["mask_ratio"] * 100 for row in rows]
    fig = new_figure((5.5, 3.8), layout="tight")
    ax = fig.subplots()
    ax.plot(r, [row["accuracy_all"] * 100 for row in rows], "o-", label="model, whole grid")
    ax.plot(r, [row["accuracy_masked"] * 100 for row in rows], "s-", label="model, masked blocks")
    ax.plot(r, [row["baseline_accuracy_all"] * 100 for row in rows], "o--", c="gray", label="noise-fill, whole grid")
    ax.plot(
        r, [row["baseline_accuracy_masked"] * 100 for row in rows], "s--", c="silver", label="noise-fill, masked blocks"
    )
    ax.set_xlabel("mask ratio (%)")
    ax.set_ylabel("grid agreement (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    return path


@torch.no_grad()
def plot_gallery(
    model, dataset, path: Path, *, mask_ratios: Sequence[float], n_samples: int = 3, seed: int = 0, device="cpu"
) -> Path:
    """Paper B Fig. 4: per row the original, then masked input and reconstruction for each mask ratio."""
    from radiofm.viz import new_figure, save_figure

    n = min(n_samples, len(dataset))
    idx = np.linspace(0, len(dataset) - 1, n).round().astype(int).tolist()
    x = torch.stack([dataset[i] for i in idx]).to(device)
    cols = 1 + 2 * len(mask_ratios)
    fig = new_figure((1.9 * cols, 1.9 * n + 0.4), layout=None)
    axes = fig.subplots(n, cols, squeeze=False)
    lo, hi = np.percentile(x.float().cpu().numpy(), [1, 99.5])
    panels = []
    for r in mask_ratios:
        recon, masked, mask_img, _ = reconstruct(model, x, r, torch.Generator().manual_seed(seed))
        masked = masked.masked_fill(mask_img.bool(), float("nan"))
        panels.append((r, masked, recon))
    for i in range(n):
        _show(axes[i, 0], x[i, 0], lo, hi, "original" if i == 0 else None)
        for j, (r, masked, recon) in enumerate(panels):
            _show(axes[i, 1 + 2 * j], masked[i, 0], lo, hi, f"masked {r:.0%}" if i == 0 else None)
            _show(axes[i, 2 + 2 * j], recon[i, 0], lo, hi, f"reconstruction {r:.0%}" if i == 0 else None)
    fig.suptitle("MSM reconstructions (frequency ↑, time →)", fontsize=10)
    save_figure(fig, path)
    return path


def _show(ax, img, lo, hi, title):
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    ax.imshow(
        img.float().cpu().numpy(), origin="lower", aspect="auto", cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
