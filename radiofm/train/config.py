"""What a training run is told (:class:`TrainConfig`) and what it gives back (:class:`RunResult`), the learning-rate
schedule as a pure function of the step, and AdamW parameter groups."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from radiofm.errors import ConfigError, RadioFMError, check_device, check_seed


class TrainingDiverged(RadioFMError):
    """The loss became NaN or Inf; training stopped and the last good checkpoint was kept."""

    exit_code = 3


MAX_LOADER_WORKERS = 256  # DataLoader worker processes (--num-workers)


@dataclass
class TrainConfig:
    """Optimisation settings shared by pretraining and fine-tuning."""

    epochs: int = 10  # passes over the training set
    batch_size: int = 64  # per process; the effective batch is batch_size * world size
    lr: float | None = None  # peak learning rate; None -> base_lr * effective_batch / 256
    base_lr: float = 1e-3  # MAE-style base learning rate, scaled by the effective batch
    min_lr: float = 0.0  # floor of the cosine schedule
    warmup_epochs: float = 1.0  # linear warm-up length, epochs (fractions allowed)
    weight_decay: float = 0.05  # AdamW decoupled weight decay (not on biases, norms, tokens)
    betas: tuple[float, float] = (0.9, 0.95)  # AdamW betas
    clip_grad: float | None = 1.0  # max global grad norm; None disables
    amp: str = "auto"  # "auto" (bf16 on CUDA, off on CPU), "bf16" or "off"
    seed: int = 0  # drives data order, masks and initialisation
    num_workers: int = 0  # DataLoader worker processes
    save_every_steps: int = 0  # also checkpoint every N steps (0: at the end of each epoch only)
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    progress: bool = True  # progress bar on stderr
    compile: str = "auto"  # torch.compile the training step: "auto" (on CUDA only), "on" or "off"
    fast: str = "auto"  # fused AdamW + tasks' loss-only shortcuts (MAE: masked-only head): "auto" (CUDA only), on, off
    batch_threads: int = 0  # CPU: each batch split across N threads (radiofm.train.split); 0 = auto (fast: cores)

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        check_device(self.device)
        for name in ("epochs", "batch_size", "num_workers", "save_every_steps", "batch_threads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ConfigError(f"{name} must be an integer, got {v!r}")
            setattr(self, name, int(v))
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if self.lr is not None and not 0 < self.lr < math.inf:
            raise ConfigError(f"learning rate must be positive, got {self.lr}")
        if not 0 < self.base_lr < math.inf:
            raise ConfigError(f"base learning rate must be positive, got {self.base_lr}")
        if not 0 <= self.num_workers <= MAX_LOADER_WORKERS:  # more would try to start that many processes
            raise ConfigError(f"DataLoader workers must be 0..{MAX_LOADER_WORKERS}, got {self.num_workers}")
        if self.batch_threads < 0:
            raise ConfigError(f"batch threads must be 0 (auto) or more, got {self.batch_threads}")
        if not (0 <= self.warmup_epochs < math.inf and 0 <= self.weight_decay < math.inf):  # (NaN fails too)
            raise ConfigError(
                f"warm-up epochs and weight decay must be finite and non-negative, got {self.warmup_epochs} and "
                f"{self.weight_decay}"
            )
        if not 0 <= self.min_lr < math.inf or not all(0 <= b < 1 for b in self.betas) or len(self.betas) != 2:
            raise ConfigError(f"min_lr must be finite and >= 0 and betas two numbers in [0, 1), got {self.min_lr}, "
                              f"{self.betas}")  # fmt: skip
        if self.clip_grad is not None and not 0 <= self.clip_grad < math.inf:
            raise ConfigError(f"clip_grad must be a finite number >= 0 (0 or None: off), got {self.clip_grad}")
        for name in ("compile", "fast"):
            if getattr(self, name) not in ("auto", "on", "off"):
                raise ConfigError(f"{name} must be auto, on or off, got {getattr(self, name)!r}")
        if self.amp not in ("auto", "bf16", "off"):
            raise ConfigError(f"amp must be auto, bf16 or off, got {self.amp!r}")
        self.seed = check_seed(self.seed)


@dataclass
class RunResult:
    """What a training command returns: the run folder (= checkpoint) and the numbers its summary line needs."""

    out: Path  # the run folder: model.safetensors + config.json (+ train_state/, metrics.jsonl)
    record: dict  # the last epoch's log record ({"epoch", "step", "train_loss", "val_…", ...}; {} if none ran)
    train_size: int  # training items (spectrograms, sentences, frames or windows)
    val_size: int  # validation items (0: none held out)
    info: dict = field(default_factory=dict)  # task facts for the summary (mode, context, parameter counts, ...)


class Task(Protocol):
    kind: str

    def step(self, model: nn.Module, batch: Any, *, generator: torch.Generator, train: bool): ...


# ------------------------------------------------------------------------------------------- schedule


def lr_at(step: int, *, total_steps: int, warmup_steps: int, peak_lr: float, min_lr: float = 0.0) -> float:
    """Linear warm-up to ``peak_lr`` over ``warmup_steps``, then half-cosine down to ``min_lr``."""
    if warmup_steps > 0 and step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


def param_groups(model: nn.Module, weight_decay: float, *, lr_scales: dict[str, float] | None = None) -> list[dict]:
    """AdamW groups: no decay for biases, norms and 1-D tokens/embeddings; optional per-parameter lr scale."""
    skip = set(getattr(model, "no_weight_decay", lambda: set())())
    groups: dict[tuple[float, float], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        wd = 0.0 if (p.ndim <= 1 or name.endswith(".bias") or name in skip) else weight_decay
        scale = (lr_scales or {}).get(name, 1.0)
        groups.setdefault((wd, scale), []).append(p)
    return [{"params": ps, "weight_decay": wd, "lr_scale": s} for (wd, s), ps in groups.items()]
