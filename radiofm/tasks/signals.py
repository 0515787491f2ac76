"""Signal identification (seminar slides Task 1; CommRad RF's 20 classes): front end, head, loss, the fine-tuning run.
Data (folders, front end, image cache): :mod:`radiofm.tasks.signals_data`; evaluation (accuracy, per-class accuracy,
confusion PNG): :mod:`radiofm.tasks.signals_eval`.

Data: a folder of labelled SigMF recordings (:func:`radiofm.data.signals.open_signal_dataset`: class folders or
``core:label``; ``radiofm generate signals`` writes one) or a folder of PNG spectrogram images labelled by file-name
prefix (:func:`radiofm.data.spectrogram_images.open_image_dataset`, the authors' follow-up form). Which one is
detected from the folder; the checkpoint records it, and evaluation refuses the other form.

Front end (one image per item, at the backbone's input size (H, W), 224 x 224 for the paper presets):

- SigMF: :func:`radiofm.data.signals.signal_spectrogram` over the whole capture (0.25 s at 2.048 MS/s by default):
  1024-point periodic-Hann STFT (2 kHz bins), hop 1024 (non-overlapping, 500 frames in 0.25 s), dB, anti-aliased
  bilinear resize to (H, W). The whole capture rather than paper B's 16 ms segment, because classes differ by their
  timing (ADS-B frames, AIS slots, DAB null symbols, Morse elements), which 16 ms would cut off; a 1024-point FFT
  because a longer one (finer bins for Morse/RTTY) would be averaged away by the resize to 224 rows anyway.
  Two-scale by default (``zoom_rows``, auto = half the image height): the upper half is the whole band, the lower
  half one FFT bin per row around the strongest emission, where the narrowband classes keep their structure
  (:class:`radiofm.data.signals_frontend.SignalSpectrogramParams`). ``--zoom-rows 0`` gives the one-scale image of
  checkpoints made before it (a checkpoint records its front end; one without ``zoom_rows`` is one-scale).
  ``--fine-rows N`` (opt-in) adds N rows of a 16384-point FFT (125 Hz bins) on the emission: RTTY and SSTV gain,
  wideband classes lose the band rows it takes; the 20-class mean did not move at 64 x 64 and fell by ~5 points
  at 128 x 128 (docs/RESULTS.md).
  A recording at another rate than the training set's (recorded in the checkpoint; older checkpoints record none)
  is analysed with FFTs scaled to the training bins: 2 kHz bins and 0.5 ms frames at any rate.
- PNG: the follow-up's transform (rotate 90° CCW, greyscale, bicubic resize, (x - 0.5) / 0.5).

Either way the model standardises each image itself (per-sample mean/std), so dB and grey levels look alike.

Model: :class:`radiofm.models.finetuned.FineTuneModel` = ViT-MAE encoder + a
:class:`~radiofm.models.heads.PooledHead` with one hidden layer (mean-pooled tokens -> LayerNorm -> Linear(D, 256) ->
GELU -> dropout -> Linear(256, C): two layers, since the slides found one linear layer on the frozen encoder not
enough). Loss: label-smoothing cross-entropy (alpha 0.1). Checkpoint kind
``"signals"``; every ``--mode`` and ``--label-fraction`` of :class:`radiofm.tasks.finetune.FinetuneConfig`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from radiofm.data.signals import SignalSpectrogramParams
from radiofm.data.splits import keep_every_class, label_subset, train_val_split
from radiofm.errors import ConfigError, DatasetError, check_type
from radiofm.models.checkpoint import load_checkpoint
from radiofm.models.finetuned import configure_mode, load_backbone_into, rebuild
from radiofm.models.heads import MAX_HEAD_WIDTH
from radiofm.models.lora import merge_lora
from radiofm.tasks import finetune as ft
from radiofm.tasks.segmentation import label_smoothing_ce
from radiofm.tasks.signals_data import (
    SignalImages,
    cached_images,
    files_fingerprint,
    frontend_config,
    open_labelled,
    time_roll,
    training_rate,
)
from radiofm.train import RunResult, TrainConfig, init_distributed, is_main_process, seeded

KIND = "signals"
SPLIT_SALT = 17  # train/validation holdout: radiofm.data.splits.train_val_split(..., salt=17)
DEFAULT_TRAIN = ft.DEFAULT_TRAIN


# ------------------------------------------------------------------------------------------- model, step


def build_signals_model(
    family: str, backbone: dict, classes: list[str], frontend: dict, *, hidden: int = 256, dropout: float = 0.1
) -> nn.Module:
    """A fresh signal-identification model (backbone + 2-layer MLP head); weights loaded by the caller."""
    if "embed_dim" not in backbone:
        raise ConfigError(f"signal identification needs a ViT backbone (family 'mae'), got {family!r}")
    config = {
        "task": KIND,
        "backbone_family": family,
        "backbone": dict(backbone),
        "head": {
            "type": "pooled",
            "in_dim": int(backbone["embed_dim"]),
            "out_dim": len(classes),
            "hidden": [int(hidden)],  # two layers: D -> hidden -> C
            "dropout": float(dropout),
        },
        "input": {"norm": "per-sample"},
        "readout": "last",
        "classes": list(classes),
        "frontend": dict(frontend),
        "lora": None,
    }
    return rebuild(config)


def load_signals_model(path: str | Path) -> tuple[nn.Module, dict]:
    """A saved signal-identification model in eval mode (LoRA merged) and its checkpoint info."""
    model, info = load_checkpoint(path, expect_kind=KIND)
    merge_lora(model)
    return model.eval(), info


@dataclass
class SignalsTask:
    """Step for the one loop: batch {"x": (B, 1, H, W) | "features": (B, L, D), "y": (B,)} -> label-smoothing CE."""

    label_smoothing: float = 0.1
    augment: bool = True
    kind: str = KIND

    def step(self, model, batch: dict, *, generator: torch.Generator, train: bool):
        y = batch["y"]
        if "features" in batch:
            logits = model(features=batch["features"])
        else:
            x = time_roll(batch["x"], generator) if train and self.augment else batch["x"]
            logits = model(x)
        loss = label_smoothing_ce(logits, y, smoothing=self.label_smoothing)
        return loss, {"acc": float((logits.argmax(1) == y).float().mean())}


# ------------------------------------------------------------------------------------------- fine-tuning


@dataclass
class SignalsConfig(ft.FinetuneConfig):
    """A signal-identification fine-tune: the shared fine-tuning settings plus head, loss and front end."""

    head_hidden: int = 256  # MLP head hidden width
    head_dropout: float = 0.1  # dropout before the MLP's output layer
    label_smoothing: float = 0.1  # label smoothing alpha
    augment: bool = True  # circular time shifts in training (off anyway when features are cached)
    fft_size: int = 1024  # SigMF front end: FFT length (and Hann window), 2 kHz bins at 2.048 MS/s
    hop: int = 1024  # SigMF front end: frame advance in samples
    zoom_rows: int | None = None  # SigMF front end: rows of the zoom on the strongest emission; None: half the height
    fine_rows: int = 0  # SigMF front end: rows of the fine zoom (a fine_fft_size FFT) on that emission; 0: none
    fine_fft_size: int = SignalSpectrogramParams.fine_fft_size  # SigMF front end: the fine zoom's FFT length

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 1 <= self.head_hidden <= MAX_HEAD_WIDTH or not 0.0 <= self.head_dropout < 1.0:
            got = f"{self.head_hidden} and {self.head_dropout}"
            raise ConfigError(f"--head-hidden must be 1..{MAX_HEAD_WIDTH} and --head-dropout in [0, 1), got {got}")
        if self.fft_size < 16 or self.hop < 1:
            raise ConfigError(f"--fft-size must be >= 16 and --hop >= 1, got {self.fft_size}, {self.hop}")
        if self.zoom_rows is not None and self.zoom_rows < 0:
            raise ConfigError(f"--zoom-rows must be >= 0, got {self.zoom_rows}")
        if self.fine_rows < 0 or self.fine_fft_size < 16:
            raise ConfigError(f"--fine-rows must be >= 0 and --fine-fft-size >= 16, got {self.fine_rows}, "
                              f"{self.fine_fft_size}")  # fmt: skip


def finetune_signals(
    data: str | Path,
    config: SignalsConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Fine-tune a signal-identification model on the labelled folder ``data``; the run folder ``out`` is the
    checkpoint. ``log`` gets the parameter summary, the feature-cache note and each epoch's JSON line."""
    check_type(config, SignalsConfig, "config")
    check_type(train, TrainConfig, "train")
    data, out = Path(data), Path(out)
    say = log if log is not None and is_main_process() else None
    if out.exists() and (out / "config.json").exists() and not resume:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    files, fmt = open_labelled(data)
    classes = files.classes
    if len(classes) < 2:
        raise DatasetError(f"{data}: signal identification needs at least 2 classes, found {classes}")
    family, bcfg, init_info = ft.backbone_config(config)
    frontend = frontend_config(
        fmt, tuple(bcfg["img_size"]), fft_size=config.fft_size, hop=config.hop, zoom_rows=config.zoom_rows,
        fine_rows=config.fine_rows, fine_fft_size=config.fine_fft_size, sample_rate_hz=training_rate(files, fmt),
    )  # fmt: skip
    labels = np.array([classes.index(label) for _, label in files.items], dtype=np.int64)
    t0 = time.perf_counter()
    full = SignalImages(cached_images(files, frontend, progress=train.progress), labels)
    if say:
        say(f"{len(full)} {fmt} items of {len(classes)} classes -> {frontend['image_size']} images "
            f"in {time.perf_counter() - t0:.1f}s")  # fmt: skip
    train_idx, val_idx = train_val_split(len(full), config.val_fraction, seed=train.seed, salt=SPLIT_SALT)
    train_idx, val_idx = keep_every_class(train_idx, val_idx, labels)
    keep = label_subset(labels[train_idx], config.label_fraction, seed=train.seed)
    train_idx = [train_idx[i] for i in keep]
    train_set = torch.utils.data.Subset(full, train_idx)
    val_set = torch.utils.data.Subset(full, val_idx) if val_idx else None
    with seeded(train.seed):
        model = build_signals_model(
            family, bcfg, classes, frontend, hidden=config.head_hidden, dropout=config.head_dropout
        )
    loaded = load_backbone_into(model, config.init) if config.mode != "scratch" else None
    settings = configure_mode(
        model, config.mode, k=config.k, lora_rank=config.lora_rank, lora_alpha=config.lora_alpha, seed=train.seed
    )
    counts = ft.count_parameters(model)
    if say:
        say(ft.summary_line(KIND, config.mode, counts))
    cache = config.mode == "frozen" and config.cache_features
    task = SignalsTask(config.label_smoothing, augment=config.augment and not cache)
    if cache:
        dev = init_distributed(train.device).device
        t0 = time.perf_counter()
        kw = dict(batch_size=32, device=dev, progress=train.progress)
        train_set = ft.cache_features(model, train_set, **kw)
        val_set = ft.cache_features(model, val_set, **kw) if val_set else None
        if say:
            size = train_set.nbytes + (val_set.nbytes if val_set else 0)
            say(f"cached backbone features ({ft.human_bytes(size)}) in {time.perf_counter() - t0:.1f}s")
    extra = {
        "classes": list(classes),
        "finetune": {
            **settings,
            "init": str(config.init) if config.init else None,
            "init_kind": init_info["kind"] if init_info else None,
            "model_name": (init_info or {}).get("extra", {}).get("model_name", config.model),
            "layer_decay": config.layer_decay,
            "label_smoothing": config.label_smoothing,
            "label_fraction": config.label_fraction,
            "augment": task.augment,
            "cached_features": cache,
            "backbone_tensors_loaded": len(loaded["loaded"]) if loaded else 0,
        },
        "parameters": counts,
        "data": {
            "source": str(data),
            "format": fmt,
            "train_items": len(train_set),
            "val_items": len(val_set) if val_set else 0,
            "class_counts": files.counts(),
            "image_size": list(bcfg["img_size"]),
            "files_sha256": files_fingerprint(files),  # --resume refuses data that changed since (as pretrain)
        },
    }
    return ft.fit_finetune(
        model, task, train_set, val_set, config=config, train=train, out=out, extra=extra, resume=resume,
        kind=KIND, counts=counts, log=log,
    )  # fmt: skip
