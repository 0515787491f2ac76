"""Supervised baselines for the few-shot beam task (slides Table I context).

- **Cross-front-end supervised**: the same embedding network plus a linear head, trained with cross-entropy on
  every beam of one front end, then applied unchanged to another front end — the situation in which DeepBeam's
  accuracy fell from 85.9 % to 15.4 % and ProtoBeam's table starts from 38.67 %.
- **Fine-tuned on k shots**: that classifier fine-tuned (all trainable weights, ``finetune_steps`` steps of
  AdamW) on the k labelled frames per beam of the new front end, then scored on the new front end's other
  frames. Repeated ``finetune_repeats`` times with different shots; the mean and the spread are reported.

Both train through :func:`radiofm.train.fit` (fine-tunes in a temporary folder). The classifier is a
``protonet`` model with ``n_classes`` set, checkpoint kind "beam-classifier".
"""

from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radiofm.errors import CheckpointError, ConfigError, check_type

KIND = "beam-classifier"


class FrameDataset(torch.utils.data.Dataset):
    """Frames with class indices: item i -> {"x": (C, L) float32, "y": int64 scalar}."""

    def __init__(self, frames: np.ndarray, targets: np.ndarray):
        self.frames = frames
        self.targets = np.asarray(targets, np.int64)

    def __len__(self) -> int:
        return int(len(self.targets))

    def __getitem__(self, i: int) -> dict:
        return {
            "x": torch.from_numpy(np.ascontiguousarray(self.frames[i], dtype=np.float32)),
            "y": torch.tensor(self.targets[i]),
        }


@dataclass
class SupervisedTask:
    """Cross-entropy on the linear head, with the same optional augmentation as the episodic task."""

    augment: bool = True  # random amplitude scale and phase rotation
    scale_range: tuple[float, float] = (0.5, 1.4)  # amplitude scale range of the augmentation
    kind: str = KIND  # checkpoint kind

    def step(self, model, batch: dict, *, generator: torch.Generator, train: bool):
        from radiofm.models.protonet import augment_iq

        x = model.preprocess(batch["x"])
        if train and self.augment:
            x = augment_iq(x, generator, scale_range=self.scale_range)
        logits = model.head(model.embed(x))
        loss = F.cross_entropy(logits.float(), batch["y"])
        return loss, {"acc": float((logits.argmax(-1) == batch["y"]).float().mean())}


@dataclass
class SupervisedConfig:
    data: str  # folder of DeepBeam files
    front_end: str  # training front end
    model: str = "protobeam"  # model preset: the embedding network, plus a head
    data_norm: bool = True  # per-frame min-max scaling
    augment: bool = True  # amplitude/phase augmentation
    train_filter_bank: bool = False  # learn the filter bank (as the episodic runs)
    steps: int = 1000  # optimiser steps of the supervised training
    batch_size: int = 64  # frames per step
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 1e-4  # AdamW weight decay
    test_fraction: float = 0.3  # per-class share held out for same-front-end accuracy
    finetune_steps: int = 100  # steps of fine-tuning on the k shots
    finetune_lr: float = 1e-3  # learning rate of the fine-tuning (constant)
    finetune_repeats: int = 2  # fine-tunes per (front end, k), each on other shots
    seed: int = 0  # data order, initialisation, shots
    device: str = "auto"  # "auto", "cpu", "cuda"
    progress: bool = True  # progress bars on stderr


def _train_cfg(
    cfg: SupervisedConfig, *, epochs: int, batch_size: int, lr: float, warmup: float, seed: int, progress: bool
):
    from radiofm.train import TrainConfig

    return TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        min_lr=lr if warmup == 0 else 0.0,
        warmup_epochs=warmup,
        weight_decay=cfg.weight_decay,
        seed=seed,
        device=cfg.device,
        progress=progress,
    )


def train_supervised(cfg: SupervisedConfig, out: str | Path, *, resume: bool = False) -> dict:
    """Train the cross-front-end baseline on ``cfg.front_end``'s training split; ``out`` becomes its checkpoint
    (``resume``: continue the run in ``out``, or return at once when it is finished)."""
    check_type(cfg, SupervisedConfig, "cfg")
    from radiofm.models import create_model
    from radiofm.tasks.fewshot import ProtoTrainConfig, load_training_frames, run_record
    from radiofm.train import fit, seeded

    pcfg = ProtoTrainConfig(data=cfg.data, front_end=cfg.front_end, test_fraction=cfg.test_fraction, seed=cfg.seed)
    data, labels, train_idx, _ = load_training_frames(pcfg)
    classes = np.unique(labels)
    targets = np.searchsorted(classes, labels)
    with seeded(cfg.seed):
        model = create_model(
            cfg.model, data_norm=cfg.data_norm, n_classes=len(classes), frame_len=int(data.frames.shape[-1])
        )
    model.filters.weight.requires_grad_(cfg.train_filter_bank)
    dataset = FrameDataset(data.frames[train_idx], targets[train_idx])
    batch = min(cfg.batch_size, len(dataset))
    epochs = max(1, math.ceil(cfg.steps / max(1, len(dataset) // batch)))
    train_cfg = _train_cfg(
        cfg,
        epochs=epochs,
        batch_size=batch,
        lr=cfg.lr,
        warmup=min(1.0, 0.05 * epochs),
        seed=cfg.seed,
        progress=cfg.progress,
    )
    extra = {"model_name": cfg.model, "fewshot": run_record(pcfg, data, labels), "classes": classes.tolist()}
    record = fit(
        model,
        SupervisedTask(augment=cfg.augment),
        dataset,
        cfg=train_cfg,
        out_dir=out,
        extra=extra,
        resume=resume,
        run_info={"command": "fewshot baseline"},
    )
    return {"run": str(out), "final": record, "epochs": epochs}


@torch.no_grad()
def classifier_accuracy(model, frames: np.ndarray, targets: np.ndarray, *, batch_size: int = 256) -> float:
    """Share of ``frames`` (N, C, L) whose head argmax equals ``targets`` (N,)."""
    model.eval()
    hits = 0
    for lo in range(0, len(frames), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(frames[lo : lo + batch_size], dtype=np.float32))
        hits += int(
            (
                model.classify(x.to(next(model.parameters()).device)).argmax(-1).cpu().numpy()
                == targets[lo : lo + batch_size]
            ).sum()
        )
    return hits / max(1, len(frames))


def finetune_on_shots(model, frames: np.ndarray, targets: np.ndarray, cfg: SupervisedConfig, *, seed: int):
    """A copy of ``model`` fine-tuned on (frames, targets) for ``cfg.finetune_steps`` steps (constant lr)."""
    from radiofm.train import fit

    tuned = copy.deepcopy(model)
    dataset = FrameDataset(frames, targets)
    batch = min(cfg.batch_size, len(dataset))
    epochs = max(1, round(cfg.finetune_steps / max(1, len(dataset) // batch)))
    train_cfg = _train_cfg(
        cfg, epochs=epochs, batch_size=batch, lr=cfg.finetune_lr, warmup=0.0, seed=seed, progress=False
    )
    with tempfile.TemporaryDirectory(prefix="radiofm-finetune-") as tmp:
        fit(tuned, SupervisedTask(augment=cfg.augment), dataset, cfg=train_cfg, out_dir=Path(tmp) / "run")
    return tuned.eval()


def evaluate_supervised(
    run: str | Path, data: str | Path, front_ends: list[str], shots: tuple[int, ...], cfg: SupervisedConfig
) -> dict:
    """Accuracy of the baseline on its own held-out frames ("ttsa"), unchanged on each other front end
    ("tota": {front end: acc}) and fine-tuned on k shots ("finetuned": {front end: {k: mean acc}},
    "finetuned_std"). Fine-tuned models are scored on the front end's frames outside the shots."""
    from radiofm.data.deepbeam import load_front_end
    from radiofm.models import load_checkpoint
    from radiofm.tasks.fewshot import class_labels, split_frames
    from radiofm.tasks.fewshot_eval import same_target

    model, info = load_checkpoint(run, expect_kind=KIND)
    record, classes = info["extra"].get("fewshot"), np.asarray(info["extra"].get("classes", []))
    if not isinstance(record, dict) or classes.size == 0:
        raise CheckpointError(f"{run} lacks its training record (config.json extra.fewshot / classes)")
    out: dict = {"ttsa": None, "tota": {}, "finetuned": {}, "finetuned_std": {}}
    for fe in front_ends:
        target = load_front_end(data, fe)
        labels = class_labels(target, "tx_beam")
        if not np.isin(labels, classes).all():
            raise ConfigError(f"front end {fe!r} has beams the baseline never saw; codebooks differ")
        targets = np.searchsorted(classes, labels)
        if same_target(target, record):
            _, test_idx = split_frames(labels, record["test_fraction"], record["seed"])
            out["ttsa"] = classifier_accuracy(model, target.frames[test_idx], targets[test_idx])
            continue
        out["tota"][fe] = classifier_accuracy(model, target.frames, targets)
        accs: dict[str, list[float]] = {}
        for k in shots:
            for r in range(cfg.finetune_repeats):
                rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 7, k, r]))
                shot_idx = np.concatenate(
                    [rng.choice(np.flatnonzero(targets == c), k, replace=False) for c in range(len(classes))]
                )
                rest = np.setdiff1d(np.arange(len(targets)), shot_idx)
                tuned = finetune_on_shots(model, target.frames[shot_idx], targets[shot_idx], cfg, seed=cfg.seed + r)
                accs.setdefault(str(k), []).append(classifier_accuracy(tuned, target.frames[rest], targets[rest]))
        out["finetuned"][fe] = {k: float(np.mean(v)) for k, v in accs.items()}
        out["finetuned_std"][fe] = {k: float(np.std(v)) for k, v in accs.items()}
    return out
