"""5G NR positioning (seminar slides, Task 3): UE position (x, y, z) from the CSI images of 4 base stations.

Data: MATLAB v7.3 files in the public dataset's layout (:mod:`radiofm.data.positioning`: ``features``
(N, C, H, W), one channel per base station, ``labels/position`` (N, 3) in metres). Training and evaluation use
SEPARATE files: ``finetune_positioning`` reads the training file (a folder means its ``train.mat``, as
``radiofm generate positioning`` writes it) and holds out a validation part of it; ``evaluate_positioning_run``
reads the test file (a folder: its ``test.mat``). The public dataset is one file per scenario with no split: a run
records its training file's fingerprint and held-out UEs, and evaluated on that same file it scores those UEs only
(the report's ``split`` says so); a run that held none out refuses it.

Model: the ViT-MAE adapted to C channels (:mod:`radiofm.tasks.pooled`: channel adaptation — by default
``adapt="separate"``, each base station's image through the 1-channel encoder on its own, so the head knows which
station saw what —, per-channel standardisation with the training file's statistics, images resized to the
backbone's input) and a regression head on the mean of each station's encoder tokens (an MLP, default one hidden
layer; the slides found a linear probe insufficient and tuned the last 2 blocks: ``mode="last-k", k=2``).
Targets are scaled to [−1, 1] inside a box around the training positions
(:class:`~radiofm.data.positioning.PositionScaler`, stored in the model config); the loss is the MSE of the
scaled positions. Metrics: mean / median / 90th-percentile Euclidean error in metres.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from radiofm.data.positioning import PositionScaler, open_positioning
from radiofm.data.splits import label_subset, train_val_split
from radiofm.errors import ConfigError, DatasetError, check_type
from radiofm.io import atomic_path, write_json
from radiofm.models.heads import MAX_HEAD_WIDTH
from radiofm.tasks import finetune as ft
from radiofm.tasks import pooled
from radiofm.train import RunResult, TrainConfig

KIND = "positioning"
SPLIT_SALT = 19  # train/validation holdout of the training file: train_val_split(..., salt=19)
DEFAULT_TRAIN = ft.DEFAULT_TRAIN
BOX_MARGIN = 0.1  # the scaler's box: the training positions' range widened by 10 % per side (at least 1 m wide)


@dataclass
class PositioningConfig(ft.FinetuneConfig):
    """A positioning fine-tune: the shared fine-tuning settings plus the regression head."""

    head_hidden: tuple[int, ...] = (256,)  # hidden widths of the regression MLP; () = a linear probe
    head_dropout: float = 0.0  # dropout before each of the head's linear layers
    adapt: str = "separate"  # channels (base stations) through the 1-channel encoder: pooled.ADAPT_METHODS

    def __post_init__(self) -> None:
        super().__post_init__()
        pooled.check_adapt(self.adapt)
        self.head_hidden = tuple(int(h) for h in self.head_hidden)
        if any(not 1 <= h <= MAX_HEAD_WIDTH for h in self.head_hidden):
            raise ConfigError(f"--head-hidden widths must be 1..{MAX_HEAD_WIDTH}, got {self.head_hidden}")
        if not 0.0 <= self.head_dropout < 1.0:
            raise ConfigError(f"--head-dropout must be in [0, 1), got {self.head_dropout}")


@dataclass
class PositioningTask:
    """Step for the one loop: batch {"x" | "features", "y": (B, 3) scaled positions}; MSE + error in metres."""

    half_range_m: tuple[float, float, float] = (1.0, 1.0, 1.0)  # metres per scaled unit, per axis
    kind: str = KIND

    def step(self, model, batch: dict, *, generator: torch.Generator, train: bool):
        pred = pooled.head_output(model, batch).float()
        y = batch["y"].float().to(pred.device)
        loss = torch.mean((pred - y) ** 2)
        scale = torch.tensor(self.half_range_m, device=pred.device)
        err = torch.linalg.vector_norm((pred - y).detach() * scale, dim=1).mean()
        return loss, {"err_m": float(err)}


def resolve_file(data: str | Path, split: str) -> Path:
    """``data`` itself, or ``data/<split>.mat`` when it is a folder."""
    data = Path(data)
    if data.is_dir():
        path = data / f"{split}.mat"
        if not path.is_file():
            raise DatasetError(f"{data}: no {split}.mat in this folder (pass the {split} file itself)")
        return path
    return data


def fit_scaler(positions: np.ndarray) -> PositionScaler:
    """A box around ``positions`` (N, 3): their range widened by :data:`BOX_MARGIN` per side, each axis >= 1 m."""
    low, high = positions.min(0), positions.max(0)
    pad = np.maximum((high - low) * BOX_MARGIN, 0.5)
    return PositionScaler(tuple((low - pad).tolist()), tuple((high + pad).tolist()))


def finetune_positioning(
    data: str | Path,
    config: PositioningConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Fine-tune the positioning model on the training file ``data``; the run folder ``out`` is the checkpoint."""
    check_type(config, PositioningConfig, "config")
    check_type(train, TrainConfig, "train")
    out = Path(out)
    pooled.check_new_run(out, resume)
    path = resolve_file(data, "train")
    d = open_positioning(path)
    family, bcfg, init_info = pooled.backbone_for(config, d.features.shape[1])
    train_idx, val_idx = train_val_split(len(d), config.val_fraction, seed=train.seed, salt=SPLIT_SALT)
    train_idx = [train_idx[i] for i in label_subset([0] * len(train_idx), config.label_fraction, seed=train.seed)]
    size = tuple(bcfg["img_size"])
    used = sorted([*train_idx, *val_idx])
    resized = pooled.resized_stack(d.features.__getitem__, used, size, progress=train.progress)
    row = {i: r for r, i in enumerate(used)}
    norm = pooled.norm_of(resized, [row[i] for i in train_idx], source=f"{path}, {len(train_idx)} samples")
    scaler = fit_scaler(d.positions[train_idx])
    targets = scaler.to_unit(d.positions).astype(np.float32)
    head = pooled.pooled_head(config, bcfg, d.features.shape[1], 3, config.head_hidden, config.head_dropout)
    model, settings, loaded = pooled.build_model(
        KIND, family, bcfg, head, norm, config, seed=train.seed, task_config={"targets": scaler.to_dict()}
    )
    std = pooled.standardiser(norm)
    train_set = pooled.ImageItems(resized.__getitem__, targets[used], [row[i] for i in train_idx], std)
    val_set = pooled.ImageItems(resized.__getitem__, targets[used], [row[i] for i in val_idx], std) if val_idx else None
    extra = {
        "finetune": {
            **settings,
            "init": str(config.init) if config.init else None,
            "init_kind": init_info["kind"] if init_info else None,
            "model_name": (init_info or {}).get("extra", {}).get("model_name", config.model),
            "layer_decay": config.layer_decay,
            "label_fraction": config.label_fraction,
            "head_hidden": list(config.head_hidden),
            "backbone_tensors_loaded": len(loaded["loaded"]) if loaded else 0,
        },
        "data": {
            "source": str(path),
            "train_samples": len(train_idx),
            "val_samples": len(val_idx),
            "channels": int(d.features.shape[1]),
            "feature_hw": [int(v) for v in d.features.shape[2:]],  # antennas x subcarriers before the resize
            "image_size": list(size),
            "scaler": scaler.to_dict(),
            "fingerprint": data_fingerprint(d),
            "held_out": [int(i) for i in sorted(val_idx)],  # the UEs never trained on, when evaluated on this file
        },  # fmt: skip
    }
    half = tuple(float(v) for v in (np.asarray(scaler.high_m) - np.asarray(scaler.low_m)) / 2)
    task = PositioningTask(half)
    return pooled.run(KIND, model, task, train_set, val_set, config, train, out, extra, resume=resume, log=log)


def data_fingerprint(d) -> str:
    """sha256 of a positioning file's positions and feature shape: the same file, however it is named or copied."""
    import hashlib

    h = hashlib.sha256(repr(tuple(d.features.shape)).encode())
    h.update(np.ascontiguousarray(d.positions, dtype="<f8").tobytes())
    return h.hexdigest()


def _test_indices(d, path: Path, trained: dict) -> tuple[np.ndarray, str]:
    """The samples of ``d`` to score and what they are: all of a test file; the held-out UEs of the training file."""
    if trained.get("fingerprint") != data_fingerprint(d):
        return np.arange(len(d)), "test file"
    held = np.asarray(trained.get("held_out") or [], dtype=np.int64)
    if held.size == 0:
        raise DatasetError(
            f"{path} is the file this run was trained on, and the run held none of it out (val_fraction 0): its "
            "errors would be training errors; evaluate on another file, or train with a validation part"
        )
    if held.max() >= len(d):
        raise DatasetError(f"{path}: the run's held-out UEs do not fit this file ({len(d)} samples)")
    return held, f"held-out part of the training file ({held.size} of {len(d)} UEs, never trained on)"


def error_report(errors_m: np.ndarray) -> dict:
    """{"mean_error_m", "median_error_m", "p90_error_m", "max_error_m"} of Euclidean errors (N,)."""
    e = np.asarray(errors_m, dtype=np.float64)
    return {
        "mean_error_m": float(e.mean()),
        "median_error_m": float(np.median(e)),
        "p90_error_m": float(np.percentile(e, 90)),
        "max_error_m": float(e.max()),
    }


def evaluate_positioning_run(
    model_dir: str | Path, data: str | Path, out: str | Path, *, batch_size: int = 32, device: str = "cpu"
) -> dict:
    """Score a positioning run on the test file ``data`` (a folder: its test.mat).

    Writes ``out/positioning.json`` (the returned report, plus per-sample errors), ``out/error_cdf.png`` and
    ``out/error_map.png`` atomically.
    """
    model, info, norm = pooled.load_model(model_dir, KIND)
    path = resolve_file(data, "test")
    d = open_positioning(path)
    if d.features.shape[1] != norm.n_channels:
        raise DatasetError(f"{path}: {d.features.shape[1]} channels, the model was trained on {norm.n_channels}")
    trained_hw = info["extra"].get("data", {}).get("feature_hw")  # absent in runs before session 30
    hw = [int(v) for v in d.features.shape[2:]]
    if trained_hw is not None and hw != list(trained_hw):
        raise DatasetError(
            f"{path}: CSI images of {hw[0]}x{hw[1]} (antennas x subcarriers), the model was trained on "
            f"{trained_hw[0]}x{trained_hw[1]}: another array or band, which a resize would not make comparable"
        )
    index, split = _test_indices(d, path, info["extra"].get("data", {}))
    scaler = PositionScaler.from_dict(model.config["targets"])
    out_unit = pooled.predict(
        model, lambda i: d.features[index[i]], len(index), norm, batch_size=batch_size, device=device
    )
    pred = scaler.from_unit(out_unit)
    truth = d.positions[index]
    errors = np.linalg.norm(pred - truth, axis=1)
    report = {
        "model": str(model_dir),
        "data": str(path),
        "split": split,
        "samples": int(len(index)),
        "mode": info["extra"].get("finetune", {}).get("mode"),
        **error_report(errors),
        "errors_m": [round(float(v), 4) for v in errors],
    }
    with atomic_path(Path(out)) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "positioning.json", report)
        plot_error_cdf(errors, tmp / "error_cdf.png", title=f"positioning [{report['mode']}]")
        plot_error_map(truth, pred, errors, tmp / "error_map.png")
    return report


def plot_error_cdf(errors_m: np.ndarray, path: Path, *, title: str = "") -> None:
    """Empirical CDF of the position errors with the median and 90th percentile marked."""
    from radiofm.viz import new_figure, save_figure

    e = np.sort(np.asarray(errors_m))
    fig = new_figure((6.0, 4.2))
    ax = fig.subplots()
    ax.plot(e, np.arange(1, len(e) + 1) / len(e), color="#1f77b4")
    for q, style in ((50, "--"), (90, ":")):
        v = float(np.percentile(e, q))
        ax.axvline(v, color="grey", linestyle=style, label=f"{q}th percentile {v:.2f} m")
    ax.set_xlabel("position error (m)")
    ax.set_ylabel("CDF")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"{title}: mean {e.mean():.2f} m" if len(e) else title)
    save_figure(fig, path)


def plot_error_map(true_m: np.ndarray, pred_m: np.ndarray, errors_m: np.ndarray, path: Path) -> None:
    """Top view (x, y): each test UE coloured by its error, with a line to its estimate."""
    from matplotlib.collections import LineCollection

    from radiofm.viz import new_figure, save_figure

    fig = new_figure((7.5, 5.5))
    ax = fig.subplots()
    segs = np.stack([true_m[:, :2], pred_m[:, :2]], axis=1)
    ax.add_collection(LineCollection(segs, colors="0.6", linewidths=0.5))
    sc = ax.scatter(true_m[:, 0], true_m[:, 1], c=errors_m, s=10, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="error (m)")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("test UEs (dot: true position, line: to the estimate)")
    save_figure(fig, path)


__all__ = [
    "DEFAULT_TRAIN",
    "KIND",
    "PositioningConfig",
    "PositioningTask",
    "error_report",
    "evaluate_positioning_run",
    "finetune_positioning",
    "fit_scaler",
    "plot_error_cdf",
    "plot_error_map",
    "resolve_file",
]
