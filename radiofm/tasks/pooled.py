"""What the per-item tasks on C-channel images share (CSI sensing, 5G positioning): the backbone adapted to the
task's channels, a pooled-token head (:class:`radiofm.models.heads.PooledHead`), the input preprocessing carried
by the model, lazy datasets, and the run itself on the one training loop.

Input: each item is a (C, h, w) array (3 antennas × 114 subcarriers × 2000 packets for NTU-Fi; 4 base stations ×
antennas × subcarriers for positioning), resized bilinearly to the backbone's input size and standardised per
channel with the TRAINING items' mean/std (:class:`radiofm.data.channel_norm.ChannelNorm`, paper B §II-B). The
norm is stored in the checkpoint's ``config["input"]["channel_norm"]``; the model itself sees standardised
images (its own normalisation is the identity: ``{"norm": "dataset", "mean_db": 0, "std_db": 1}``).

Channel adaptation: the pretrained MAE takes 1 channel; its patch embedding is widened to C channels with
:func:`radiofm.models.adapt.load_adapted_backbone`, method ``"mean"`` (the 1-channel kernel divided by C on every
channel: identical channels embed exactly as the 1-channel input did, in general the embedding is that of the
channel mean, so the pretrained blocks see activations at the scale they were trained on). The sin-cos
positional embeddings are rebuilt for the input grid from the config (there is no learned embedding to resize).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from radiofm.data.channel_norm import ChannelNorm
from radiofm.errors import ConfigError, check_count
from radiofm.models.adapt import load_adapted_backbone
from radiofm.models.checkpoint import load_checkpoint
from radiofm.models.finetuned import FineTuneModel, configure_mode, rebuild
from radiofm.models.lora import merge_lora
from radiofm.tasks import finetune as ft
from radiofm.train import RunResult, TrainConfig, init_distributed, is_main_process, seeded
from radiofm.train.distributed import resolve_device

IDENTITY_INPUT = {"norm": "dataset", "mean_db": 0.0, "std_db": 1.0}
ADAPT_METHODS = ("mean", "separate")  # how a 1-channel pretrained MAE takes C channels (module docstring)


def check_adapt(adapt: str) -> str:
    if adapt not in ADAPT_METHODS:
        raise ConfigError(f"--adapt must be one of {', '.join(ADAPT_METHODS)}, got {adapt!r}")
    return adapt


class ImageItems(torch.utils.data.Dataset):
    """Items ``indices`` of a source read lazily: j -> {"x": float32 (C, H, W) = transform(load(i)), "y": targets[i]}.

    ``transform`` is the input's :class:`~radiofm.data.channel_norm.ChannelNorm` (resize + standardise) or, for
    images resized beforehand, :func:`standardiser` of it.
    """

    def __init__(self, load: Callable[[int], np.ndarray], targets: np.ndarray, indices, transform: Callable):
        self.load, self.targets, self.indices = load, np.asarray(targets), [int(i) for i in indices]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int) -> dict:
        i = self.indices[int(j)]
        x = np.asarray(self.transform(self.load(i)), dtype=np.float32)
        return {"x": torch.from_numpy(x), "y": torch.as_tensor(self.targets[i])}


def standardiser(norm: ChannelNorm) -> Callable[[np.ndarray], np.ndarray]:
    """x (C, H, W) already at ``norm.image_size`` -> (x - mean[c]) / std[c], float32 (the norm without its resize)."""
    mean = np.asarray(norm.mean, np.float32)[:, None, None]
    std = np.asarray(norm.std, np.float32)[:, None, None]
    return lambda x: (np.asarray(x, np.float32) - mean) / std


def resized_stack(
    load: Callable[[int], np.ndarray], indices, image_size: tuple[int, int], *, progress: bool = False
) -> np.ndarray:
    """float32 (N, C, H, W): items ``indices`` resized once (bilinear, anti-aliased), so that the statistics pass,
    the feature cache and every epoch do not read and resize the files again."""
    from tqdm import tqdm

    probe = None
    out = None
    for j, i in enumerate(tqdm(list(indices), desc="resizing", unit="item", disable=not progress, leave=False)):
        x = np.asarray(load(int(i)))
        if probe is None:
            probe = ChannelNorm(image_size, (0.0,) * x.shape[0], (1.0,) * x.shape[0])
            out = np.empty((len(indices), x.shape[0], *probe.image_size), np.float32)
        out[j] = probe.resize(x)
    return out if out is not None else np.zeros((0, 0, *image_size), np.float32)


def norm_of(resized: np.ndarray, rows, *, source: str) -> ChannelNorm:
    """Per-channel mean/std (float64 accumulation) of ``resized[rows]`` (N, C, H, W) — equal to
    :func:`radiofm.data.channel_norm.fit_channel_norm` on the same items."""
    from radiofm.data.channel_norm import fit_channel_norm

    rows = list(rows)
    return fit_channel_norm((resized[r] for r in rows), tuple(resized.shape[2:]), source=source)


def backbone_for(config: ft.FinetuneConfig, in_chans: int) -> tuple[str, dict, dict | None]:
    """(family, backbone config for ``in_chans`` input channels, init info); only the ViT-MAE adapts its channels.

    With ``config.adapt == "separate"`` the backbone keeps 1 channel (each input channel is encoded on its own).
    """
    family, bcfg, init_info = ft.backbone_config(config)
    if family != "mae":
        raise ConfigError(f"this task needs a ViT-MAE backbone (channel adaptation), got family {family!r}")
    bcfg["in_chans"] = 1 if _adapt(config) == "separate" else int(in_chans)
    return family, bcfg, init_info


def _adapt(config) -> str:
    return check_adapt(getattr(config, "adapt", "mean"))


def pooled_head(config: ft.FinetuneConfig, bcfg: dict, in_chans: int, out_dim: int, hidden, dropout: float) -> dict:
    """The :class:`~radiofm.models.heads.PooledHead` config: one token group per channel when encoded apart."""
    groups = int(in_chans) if _adapt(config) == "separate" else 1
    return {"type": "pooled", "in_dim": int(bcfg["embed_dim"]), "out_dim": int(out_dim), "hidden": list(hidden),
            "dropout": float(dropout), "groups": groups}  # fmt: skip


def build_model(
    kind: str, family: str, bcfg: dict, head: dict, norm: ChannelNorm, config: ft.FinetuneConfig, *, seed: int,
    task_config: dict,
) -> tuple[FineTuneModel, dict, dict | None]:  # fmt: skip
    """Fresh model (seeded) + pretrained weights (channel-adapted) + mode; returns (model, mode settings, load)."""
    model_config = {
        "task": kind,
        "backbone_family": family,
        "backbone": dict(bcfg),
        "head": head,
        "input": {**IDENTITY_INPUT, "channel_norm": norm.to_dict()},
        "readout": "last",
        "lora": None,
        "channels": "separate" if _adapt(config) == "separate" else "joint",
        **task_config,
    }
    with seeded(seed):
        model = rebuild(model_config)
    loaded = load_adapted_backbone(model, config.init) if config.mode != "scratch" else None
    settings = configure_mode(
        model, config.mode, k=config.k, lora_rank=config.lora_rank, lora_alpha=config.lora_alpha, seed=seed
    )
    return model, settings, loaded


def run(
    kind: str,
    model: FineTuneModel,
    task,
    train_set,
    val_set,
    config: ft.FinetuneConfig,
    train: TrainConfig,
    out: Path,
    extra: dict,
    *,
    resume: bool,
    log: Callable[[str], None] | None,
) -> RunResult:
    """Parameter summary, the frozen backbone's feature cache (when on), then :func:`radiofm.train.fit`."""
    say = log if log is not None and is_main_process() else None
    counts = ft.count_parameters(model)
    if say:
        say(ft.summary_line(kind, config.mode, counts))
    cache = config.mode == "frozen" and config.cache_features
    if cache:
        dev = init_distributed(train.device).device
        t0 = time.perf_counter()
        kw = dict(batch_size=32, device=dev, progress=train.progress)
        train_set = ft.cache_features(model, train_set, **kw)
        val_set = ft.cache_features(model, val_set, **kw) if val_set is not None else None
        if say:
            size = train_set.nbytes + (val_set.nbytes if val_set is not None else 0)
            say(f"cached backbone features ({ft.human_bytes(size)}) in {time.perf_counter() - t0:.1f}s")
    extra = {**extra, "parameters": counts}
    extra["finetune"] = {**extra.get("finetune", {}), "cached_features": cache}
    return ft.fit_finetune(
        model, task, train_set, val_set, config=config, train=train, out=out, extra=extra, resume=resume,
        kind=kind, counts=counts, log=log,
    )  # fmt: skip


def head_output(model: FineTuneModel, batch: dict) -> torch.Tensor:
    """The head's output for a batch of images {"x"} or of cached features {"features"}."""
    return model(features=batch["features"]) if "features" in batch else model(batch["x"])


def check_new_run(out: Path, resume: bool) -> None:
    if out.exists() and (out / "config.json").exists() and not resume:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")


def load_model(path: str | Path, kind: str) -> tuple[FineTuneModel, dict, ChannelNorm]:
    """A saved model of ``kind`` in eval mode (LoRA merged), its checkpoint info and its input ChannelNorm."""
    model, info = load_checkpoint(path, expect_kind=kind)
    merge_lora(model)
    norm = ChannelNorm.from_dict(model.config["input"]["channel_norm"])
    return model.eval(), info, norm


@torch.no_grad()
def predict(
    model: FineTuneModel, load: Callable[[int], np.ndarray], n: int, norm: ChannelNorm, *, batch_size: int = 32,
    device: str = "cpu",
) -> np.ndarray:  # fmt: skip
    """Head outputs float32 (n, out_dim) for items load(0..n-1), preprocessed as in training."""
    check_count(batch_size, "batch_size")
    device = resolve_device(device)
    model.eval().to(device)
    outs = []
    for s in range(0, n, batch_size):
        x = np.stack([norm(load(i)) for i in range(s, min(n, s + batch_size))])
        outs.append(model(torch.from_numpy(x).to(device)).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


__all__ = [
    "IDENTITY_INPUT",
    "ImageItems",
    "norm_of",
    "resized_stack",
    "standardiser",
    "ADAPT_METHODS",
    "backbone_for",
    "build_model",
    "check_adapt",
    "pooled_head",
    "check_new_run",
    "head_output",
    "load_model",
    "predict",
    "run",
]
