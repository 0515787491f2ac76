"""CSI human activity sensing (paper B §II-B, §III-C, Table IV): NTU-Fi HAR, 6 activities, a linear head on the
(frozen) ViT-MAE encoder, label-smoothing cross-entropy; accuracy, per-class accuracy and the confusion matrix.

Data: an NTU-Fi HAR folder (:mod:`radiofm.data.ntufi`: the real layout or ``radiofm generate sensing``). The
official split is kept: training (and its validation holdout) uses ``train_amp`` only, evaluation ``test_amp``
only. Preprocessing as paper B: each (3, 114, 2000) recording resized to 3 × H × W (the backbone's input size,
224 × 224 for the paper's models) and standardised per antenna with the statistics of the training files used
(:mod:`radiofm.tasks.pooled`, which also documents the 1 → 3 channel adaptation of the pretrained MAE).

    result = finetune_sensing("ntufi", SensingConfig(init="runs/mae"), DEFAULT_TRAIN, "runs/sensing")
    report = evaluate_sensing_run("runs/sensing", "ntufi", "eval/sensing")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radiofm.data.ntufi import CLASSES, N_ANTENNAS, SPLIT_DIRS, check_split_classes, open_ntufi
from radiofm.data.splits import label_subset, train_val_split
from radiofm.errors import ConfigError, DatasetError, check_type
from radiofm.io import atomic_path, write_json
from radiofm.models.heads import MAX_HEAD_WIDTH
from radiofm.tasks import finetune as ft
from radiofm.tasks import pooled
from radiofm.tasks.metrics import confusion_matrix, matrix_metrics, plot_class_confusion
from radiofm.train import RunResult, TrainConfig

KIND = "sensing"
SPLIT_SALT = 17  # train/validation holdout of the training files: train_val_split(..., salt=17)
DEFAULT_TRAIN = ft.DEFAULT_TRAIN


@dataclass
class SensingConfig(ft.FinetuneConfig):
    """A sensing fine-tune: the shared fine-tuning settings plus the head and the loss."""

    head_hidden: tuple[int, ...] = ()  # hidden widths of the head; () = linear (paper B)
    head_dropout: float = 0.0  # dropout before the head's linear layer(s)
    label_smoothing: float = 0.1  # label smoothing alpha of the cross-entropy (paper B eq. 3)
    adapt: str = "mean"  # how the 1-channel MAE takes the 3 antennas: pooled.ADAPT_METHODS

    def __post_init__(self) -> None:
        super().__post_init__()
        self.head_hidden = tuple(int(h) for h in self.head_hidden)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.head_dropout < 1.0:
            raise ConfigError(f"--head-dropout must be in [0, 1), got {self.head_dropout}")
        if any(not 1 <= h <= MAX_HEAD_WIDTH for h in self.head_hidden):
            raise ConfigError(f"--head-hidden widths must be 1..{MAX_HEAD_WIDTH}, got {self.head_hidden}")
        pooled.check_adapt(self.adapt)


@dataclass
class SensingTask:
    """Step for the one loop: batch {"x": (B, 3, H, W) | "features": (B, L, D), "y": (B,) class index}."""

    label_smoothing: float = 0.1
    kind: str = KIND

    def step(self, model, batch: dict, *, generator: torch.Generator, train: bool):
        logits = pooled.head_output(model, batch)
        y = batch["y"].long().to(logits.device)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.label_smoothing)
        return loss, {"acc": float((logits.argmax(1) == y).float().mean())}


def finetune_sensing(
    data: str | Path,
    config: SensingConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Fine-tune the sensing model on the train split of the NTU-Fi folder ``data``; ``out`` is the checkpoint."""
    check_type(config, SensingConfig, "config")
    check_type(train, TrainConfig, "train")
    data, out = Path(data), Path(out)
    pooled.check_new_run(out, resume)
    family, bcfg, init_info = pooled.backbone_for(config, N_ANTENNAS)
    full = open_ntufi(data, "train")
    check_split_classes(data)
    train_idx, val_idx = train_val_split(len(full), config.val_fraction, seed=train.seed, salt=SPLIT_SALT)
    keep = label_subset(full.labels[train_idx], config.label_fraction, seed=train.seed)
    train_idx = [train_idx[i] for i in keep]
    size = tuple(bcfg["img_size"])
    used = sorted([*train_idx, *val_idx])
    resized = pooled.resized_stack(full.read, used, size, progress=train.progress)
    row = {i: r for r, i in enumerate(used)}
    source = f"NTU-Fi {data} {SPLIT_DIRS['train']}, {len(train_idx)} training files"
    norm = pooled.norm_of(resized, [row[i] for i in train_idx], source=source)
    present = sorted({int(full.labels[i]) for i in train_idx})
    head = pooled.pooled_head(config, bcfg, N_ANTENNAS, len(CLASSES), config.head_hidden, config.head_dropout)
    model, settings, loaded = pooled.build_model(
        KIND, family, bcfg, head, norm, config, seed=train.seed, task_config={"classes": list(CLASSES)}
    )
    labels = full.labels[used]
    std = pooled.standardiser(norm)
    train_set = pooled.ImageItems(resized.__getitem__, labels, [row[i] for i in train_idx], std)
    val_set = pooled.ImageItems(resized.__getitem__, labels, [row[i] for i in val_idx], std) if val_idx else None
    extra = {
        "classes": list(CLASSES),
        "train_classes": [CLASSES[i] for i in present],
        "finetune": {
            **settings,
            "init": str(config.init) if config.init else None,
            "init_kind": init_info["kind"] if init_info else None,
            "model_name": (init_info or {}).get("extra", {}).get("model_name", config.model),
            "layer_decay": config.layer_decay,
            "label_smoothing": config.label_smoothing,
            "label_fraction": config.label_fraction,
            "channel_adaptation": config.adapt,
            "backbone_tensors_loaded": len(loaded["loaded"]) if loaded else 0,
        },
        "data": {
            "source": str(data),
            "train_files": len(train_idx),
            "val_files": len(val_idx),
            "image_size": list(size),
            "channel_norm": norm.to_dict(),
        },  # fmt: skip
    }
    task = SensingTask(config.label_smoothing)
    return pooled.run(KIND, model, task, train_set, val_set, config, train, out, extra, resume=resume, log=log)


def sensing_report(truth: np.ndarray, pred: np.ndarray) -> dict:
    """{"accuracy", "per_class", "confusion" (counts, row = true), "mean_class_accuracy", ...} over CLASSES."""
    cm = confusion_matrix(np.asarray(truth), np.asarray(pred), len(CLASSES))
    m = matrix_metrics(cm, CLASSES)
    return {
        "accuracy": m["pixel_accuracy"],
        "per_class": m["per_class_accuracy"],
        "confusion": m["counts"],
        "mean_class_accuracy": m["mean_class_accuracy"],
        "classes": list(CLASSES),
        "row_normalised": m["row_normalised"],
    }


def evaluate_sensing_run(
    model_dir: str | Path, data: str | Path, out: str | Path, *, batch_size: int = 32, device: str = "cpu"
) -> dict:
    """Score a sensing run on the TEST split of the NTU-Fi folder ``data``.

    Writes ``out/sensing.json`` (the returned report) and ``out/confusion.png`` atomically.
    """
    model, info, norm = pooled.load_model(model_dir, KIND)
    test = open_ntufi(data, "test")
    trained = set(info["extra"].get("train_classes", CLASSES))
    unseen = sorted({CLASSES[i] for i in np.unique(test.labels)} - trained)
    if unseen:
        raise DatasetError(f"{data}: test class(es) {', '.join(unseen)} were not in the model's training data")
    logits = pooled.predict(model, test.read, len(test), norm, batch_size=batch_size, device=device)
    pred = logits.argmax(1)
    report = {
        "model": str(model_dir),
        "data": str(data),
        "split": "test",
        "samples": len(test),
        "mode": info["extra"].get("finetune", {}).get("mode"),
        **sensing_report(test.labels, pred),
    }
    with atomic_path(Path(out)) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "sensing.json", report)
        plot_class_confusion(report, tmp / "confusion.png", title=f"CSI sensing [{report['mode']}]")
    return report


__all__ = [
    "DEFAULT_TRAIN",
    "KIND",
    "SensingConfig",
    "SensingTask",
    "check_split_classes",
    "evaluate_sensing_run",
    "finetune_sensing",
    "sensing_report",
]
