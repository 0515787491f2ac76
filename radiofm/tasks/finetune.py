"""What every fine-tuning task shares: its config (:class:`FinetuneConfig`), the backbone it starts from, optimizer
groups (layer decay), a frozen backbone's feature cache, class weights and parameter counts.

The model side — :class:`radiofm.models.finetuned.FineTuneModel`, the modes and :func:`configure_mode`, the
backbone registry — lives in :mod:`radiofm.models.finetuned`; a task module (:mod:`radiofm.tasks.segmentation`,
:mod:`radiofm.tasks.forecasting`) subclasses :class:`FinetuneConfig` with its own fields and calls these pieces.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from radiofm.errors import ConfigError, check_count, check_number
from radiofm.models.finetuned import MODES, NORMS, READOUTS, FineTuneModel, layer_decay_scales, read_init
from radiofm.models.registry import get_config, get_family
from radiofm.train import RunResult, TrainConfig, fit, is_main_process, param_groups

__all__ = [
    "DEFAULT_TRAIN",
    "MODES",
    "NORMS",
    "READOUTS",
    "FeatureCache",
    "FinetuneConfig",
    "backbone_config",
    "cache_features",
    "count_parameters",
    "human_bytes",
    "inverse_frequency_weights",
    "optimizer_groups",
    "summary_line",
]

# optimisation defaults of every fine-tune (``radiofm finetune TASK``'s defaults too)
DEFAULT_TRAIN = TrainConfig(epochs=10, batch_size=16, base_lr=1e-2, warmup_epochs=1.0, weight_decay=0.05)


@dataclass
class FinetuneConfig:
    """How a pretrained backbone is adapted (every task's config extends this one)."""

    init: Path | None = None  # pretrained backbone checkpoint (run folder); None only with mode "scratch" + model
    mode: str = "frozen"  # what trains: frozen, last-k, lora, full, scratch (radiofm.models.finetuned.MODES)
    k: int = 2  # last-k: backbone blocks trained
    lora_rank: int = 8  # lora: adapter rank r
    lora_alpha: float | None = None  # lora: scale alpha (None: the rank)
    layer_decay: float | None = None  # lr scale decay^(depth - i) for block i; None: 0.75 in full mode, else off
    model: str | None = None  # scratch without init: the registered architecture (e.g. "vit-tiny")
    image_size: tuple[int, int] | None = None  # backbone input (F, T); None: the init checkpoint's
    val_fraction: float = 0.1  # held-out fraction of the training data for validation
    cache_features: bool = True  # frozen mode: run the backbone once and cache its features (no augmentation)
    label_fraction: float = 1.0  # use this fraction of the training labels (label-efficiency runs), in (0, 1]

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        # checked whatever the mode: a "2" would otherwise fail inside configure_mode with a TypeError
        self.k = check_count(self.k, "k")
        self.lora_rank = check_count(self.lora_rank, "lora_rank")
        if self.lora_alpha is not None:
            self.lora_alpha = check_number(self.lora_alpha, "lora_alpha", low=0.0, open_low=True)
        if self.mode != "scratch" and self.init is None:
            raise ConfigError(f"--mode {self.mode} needs --init (a pretrained backbone checkpoint)")
        if self.mode == "scratch" and self.init is None and self.model is None:
            raise ConfigError("--mode scratch needs --init or --model to name the architecture")
        if not 0.0 <= self.val_fraction < 0.9:
            raise ConfigError(f"--val-fraction must be in [0, 0.9), got {self.val_fraction}")
        if not 0.0 < self.label_fraction <= 1.0:
            raise ConfigError(f"--label-fraction must be in (0, 1], got {self.label_fraction}")
        if self.layer_decay is not None and not 0.0 < self.layer_decay <= 1.0:
            raise ConfigError(f"--layer-decay must be in (0, 1], got {self.layer_decay}")


def backbone_config(cfg: FinetuneConfig) -> tuple[str, dict, dict | None]:
    """(family, backbone config dict, init checkpoint info or None) from ``init`` / ``model`` / ``image_size``."""
    if cfg.init is not None:
        info = read_init(cfg.init)
        family, config = info["family"], dict(info["config"])
    else:
        info, family = None, get_family(cfg.model)
        config = dataclasses.asdict(get_config(cfg.model))
    if cfg.image_size is not None:
        config["img_size"] = list(cfg.image_size)
    return family, config, info


def optimizer_groups(model: FineTuneModel, cfg: FinetuneConfig, weight_decay: float) -> list[dict]:
    """AdamW groups with the config's layer decay (default 0.75 in full mode) as per-parameter lr scales."""
    decay = cfg.layer_decay if cfg.layer_decay is not None else (0.75 if cfg.mode == "full" else None)
    scales = layer_decay_scales(model, decay) if decay not in (None, 1.0) else None
    return param_groups(model, weight_decay, lr_scales=scales)


def fit_finetune(
    model: FineTuneModel,
    task,
    train_set,
    val_set,
    *,
    config: FinetuneConfig,
    train: TrainConfig,
    out: Path,
    extra: dict,
    resume: bool,
    kind: str,
    counts: dict[str, int],
    log=None,
) -> RunResult:
    """The training loop of every fine-tuning task: :func:`radiofm.train.fit` with the mode's optimizer groups,
    then the run's :class:`RunResult` (``info``: task, mode, parameter counts)."""
    record = fit(
        model,
        task,
        train_set,
        cfg=train,
        out_dir=out,
        extra=extra,
        val_set=val_set,
        resume=resume,
        groups=optimizer_groups(model, config, train.weight_decay),
        run_info={"command": f"finetune {kind}"},
        log=log,
    )
    n_val = len(val_set) if val_set is not None else 0
    return RunResult(out, record, len(train_set), n_val, {"task": kind, "mode": config.mode, "parameters": counts})


def count_parameters(model: nn.Module) -> dict[str, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable, "total": total}


def summary_line(task: str, mode: str, counts: dict[str, int]) -> str:
    pct = 100.0 * counts["trainable"] / max(counts["total"], 1)
    return (
        f"finetune {task} [{mode}]: {counts['trainable'] / 1e6:.3f} M trainable / {counts['frozen'] / 1e6:.3f} M "
        f"frozen parameters ({pct:.1f}% trainable)"
    )


# ------------------------------------------------------------------------------------------- feature cache


class FeatureCache(torch.utils.data.Dataset):
    """Frozen-backbone features computed once: item i -> {"features": (L, D) float32, **other fields of item i}."""

    def __init__(self, features: torch.Tensor, others: dict[str, torch.Tensor]):
        self.features = features
        self.dtypes = {k: v.dtype for k, v in others.items()}
        # integer fields (label images) that fit in a byte are kept as uint8: int64 labels would outweigh the features
        self.others = {k: _compact(v) for k, v in others.items()}

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def __getitem__(self, i: int) -> dict:
        return {"features": self.features[i].float(), **{k: v[i].to(self.dtypes[k]) for k, v in self.others.items()}}

    @property
    def nbytes(self) -> int:
        return self.features.numel() * self.features.element_size() + sum(
            v.numel() * v.element_size() for v in self.others.values()
        )


def _compact(t: torch.Tensor) -> torch.Tensor:
    if t.dtype in (torch.int16, torch.int32, torch.int64) and t.numel() and 0 <= int(t.min()) and int(t.max()) < 256:
        return t.to(torch.uint8)
    return t


@torch.no_grad()
def cache_features(
    model: FineTuneModel, dataset, *, batch_size: int = 32, device: str | torch.device = "cpu", progress: bool = True
) -> FeatureCache:
    """Run the frozen backbone once over ``dataset`` (items {"x": ..., other fields}); features kept as float16.

    Valid only while the backbone is frozen and its input is deterministic (no augmentation).
    """
    if not model.backbone_frozen:
        raise ConfigError("features can be cached only for a frozen backbone")
    model.eval().to(device)
    feats, others = [], {}
    n = len(dataset)
    bar = tqdm(total=n, desc="caching features", unit="frame", disable=not (progress and is_main_process()),
               leave=False, file=sys.stderr)  # fmt: skip
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        x = torch.stack([it["x"] for it in items]).to(device)
        feats.append(model.encode(x).to("cpu", torch.float16))
        for key in items[0]:
            if key != "x":
                others.setdefault(key, []).append(torch.stack([torch.as_tensor(it[key]) for it in items]))
        bar.update(len(items))
    bar.close()
    return FeatureCache(torch.cat(feats), {k: torch.cat(v) for k, v in others.items()})


def inverse_frequency_weights(counts: np.ndarray) -> list[float]:
    """w_c = total / (C * n_c), classes never seen get the largest finite weight; mean-normalised to 1."""
    counts = np.asarray(counts, dtype=np.float64)
    c = len(counts)
    w = np.where(counts > 0, counts.sum() / (c * np.maximum(counts, 1)), np.nan)
    w = np.where(np.isnan(w), np.nanmax(w) if np.isfinite(w).any() else 1.0, w)
    w = w / w.mean()
    return [float(round(v, 6)) for v in w]


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
