"""NR/LTE spectrogram segmentation (paper B §III-D, paper A §III-D, SPEC §4): head, loss, augmentation, the
fine-tuning run, inference. Metrics and the evaluation run: :mod:`radiofm.tasks.segmentation_eval`.

Data: a folder written by :func:`radiofm.data.nrlte.generate_dataset` (read by
:class:`radiofm.data.nrlte.SegmentationDataset`: spectrograms resized bilinearly to the backbone's input size
(H, W), labels 0 noise / 1 NR / 2 LTE with nearest neighbour); the model normalises its dB input itself
(per-sample standardisation by default, so captures at another absolute power scale look the same).

Model: :class:`radiofm.models.finetuned.FineTuneModel` = backbone encoder + the family's per-pixel head
(ViT-MAE: :class:`~radiofm.models.heads.TransformerSegHead`; ConvLSTM: :class:`~radiofm.models.heads.ConvSegHead`),
saved as checkpoint kind "segmentation" holding the whole model. Inference for other tools goes through exactly
:func:`load_segmentation_model` and :func:`predict`.

    result = finetune_segmentation("sd-train", SegmentationConfig(init="runs/mae", readout="mix"),
                                   dataclasses.replace(DEFAULT_TRAIN, epochs=30), "runs/seg")
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from radiofm.data.nrlte import SegmentationDataset
from radiofm.data.splits import label_subset, train_val_split
from radiofm.dsp.resize import resize
from radiofm.errors import ConfigError, DatasetError, check_count, check_type
from radiofm.models.backbones import backbone_spec
from radiofm.models.checkpoint import load_checkpoint
from radiofm.models.finetuned import NORMS, READOUTS, configure_mode, load_backbone_into, rebuild
from radiofm.models.lora import merge_lora
from radiofm.synth.nrlte import CLASSES
from radiofm.tasks import finetune as ft
from radiofm.train import RunResult, TrainConfig, init_distributed, is_main_process, seeded

KIND = "segmentation"
CLASS_COLORS = ("#d9d9d9", "#1f77b4", "#d62728")  # noise light grey, NR blue, LTE red (every figure)
SPLIT_SALT = 7  # train/validation holdout: radiofm.data.splits.train_val_split(..., salt=7)
DEFAULT_TRAIN = ft.DEFAULT_TRAIN  # optimisation defaults of a fine-tune


# ------------------------------------------------------------------------------------------- loss, augmentation


def label_smoothing_ce(
    logits: torch.Tensor, target: torch.Tensor, *, smoothing: float = 0.1, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Paper B eq. 3: -mean over pixels of sum_k (y_k (1 - a) + a / C) log p_k.

    logits (B, C, H, W), target (B, H, W) int64. With ``weight`` (C,), pixel losses are weighted by their true
    class and the result divided by the sum of the weights (a weighted mean).
    """
    logp = F.log_softmax(logits.float(), dim=1)  # (B, C, H, W)
    nll = -logp.gather(1, target[:, None]).squeeze(1)  # (B, H, W)
    per_pixel = (1.0 - smoothing) * nll - smoothing * logp.mean(dim=1)
    if weight is None:
        return per_pixel.mean()
    w = weight.to(per_pixel.device, per_pixel.dtype)[target]
    return (w * per_pixel).sum() / w.sum()


def augment_batch(x_db: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Label-preserving augmentation of dB spectrograms x_db (B, 1, F, T) and labels y (B, F, T).

    Per sample: circular time roll, time flip (p 0.5), frequency mirror (p 0.5), a raised noise floor (p 0.5:
    noise added in linear power 3 dB below to 8 dB above the frame's own floor, lowering every carrier's SNR)
    and a dB offset in [-10, 10]. All draws come from ``generator``.
    """
    B, _, Fr, T = x_db.shape
    dev = x_db.device

    def u(*shape):
        return torch.rand(*shape, generator=generator).to(dev)

    shift = (u(B) * T).long()
    idx = (torch.arange(T, device=dev)[None] - shift[:, None]) % T  # (B, T)
    x = x_db.gather(-1, idx[:, None, None].expand_as(x_db))
    y = y.gather(-1, idx[:, None].expand_as(y))
    tflip, fflip = (u(B) < 0.5), (u(B) < 0.5)
    x = torch.where(tflip[:, None, None, None], x.flip(-1), x)
    y = torch.where(tflip[:, None, None], y.flip(-1), y)
    x = torch.where(fflip[:, None, None, None], x.flip(-2), x)
    y = torch.where(fflip[:, None, None], y.flip(-2), y)
    noise_px = (y == 0)[:, None].float()
    floor_lin = ((10 ** (x / 10)) * noise_px).sum((1, 2, 3)) / noise_px.sum((1, 2, 3)).clamp_min(1)  # (B,)
    raise_db = -3 + 11 * u(B)
    add = torch.where((u(B) < 0.5) & (noise_px.sum((1, 2, 3)) > 0), floor_lin * 10 ** (raise_db / 10), 0.0)
    ripple = (1 + 0.17 * torch.randn(x.shape, generator=generator).to(dev)).clamp_min(0)
    x = 10 * torch.log10(10 ** (x / 10) + add[:, None, None, None] * ripple)
    x = x + (u(B) * 20 - 10)[:, None, None, None]
    return x, y


MAX_CACHE_VIEWS = 64  # --cache-views: cached copies of every training frame's backbone features


class AugmentedViews(torch.utils.data.Dataset):
    """``views`` copies of a dataset of {"x", "y"} items: view 0 as is, view v >= 1 through :func:`augment_batch`
    seeded by (seed, v, i) — fixed augmented copies whose backbone features can be cached like the originals."""

    def __init__(self, dataset, views: int, seed: int):
        self.dataset, self.views, self.seed = dataset, int(views), int(seed)

    def __len__(self) -> int:
        return len(self.dataset) * self.views

    def __getitem__(self, j: int) -> dict:
        v, i = divmod(int(j), len(self.dataset))
        item = self.dataset[i]
        if v == 0:
            return item
        g = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, v, i]).generate_state(1)[0]))
        x, y = augment_batch(item["x"][None], item["y"][None], g)
        return {"x": x[0], "y": y[0]}


@dataclass
class SegmentationTask:
    """Step for the one training loop: batch {"x": dB (B, 1, H, W) | "features": (B, L, D), "y": (B, H, W)}."""

    label_smoothing: float = 0.1
    class_weights: list[float] | None = None
    augment: bool = True
    kind: str = KIND

    def step(self, model, batch: dict, *, generator: torch.Generator, train: bool):
        y = batch["y"]
        if "features" in batch:
            logits = model(features=batch["features"])
        else:
            x = batch["x"]
            if train and self.augment:
                x, y = augment_batch(x, y, generator)
            logits = model(x)
        weight = torch.tensor(self.class_weights) if self.class_weights else None
        loss = label_smoothing_ce(logits, y, smoothing=self.label_smoothing, weight=weight)
        acc = (logits.max(1).indices == y).float().mean()  # on CPU ~15x faster than argmax(1) over the class dim
        return loss, {"pixel_acc": float(acc)}


# ------------------------------------------------------------------------------------------- model


def build_segmentation_model(
    family: str, backbone: dict, *, head: dict | None = None, norm: dict | None = None, readout: str = "last"
):
    """A fresh (randomly initialised) segmentation model for a backbone config; weights loaded by the caller.

    ``readout``: "last" feeds the head the backbone's final output (paper B); "mix" a learned mix of every
    level (see :class:`radiofm.models.heads.LevelMix`). The head is the backbone family's per-pixel head
    (:attr:`radiofm.models.backbones.BackboneSpec.dense_head`); ``head`` options: embed_dim, depth, num_heads.
    """
    spec = backbone_spec(family)
    if spec.dense_head is None:
        raise ConfigError(f"no segmentation head for backbone family {family!r}")
    if readout not in READOUTS:
        raise ConfigError(f"readout must be one of {', '.join(READOUTS)}, got {readout!r}")
    head_config = spec.dense_head(backbone, len(CLASSES), head or {})
    if readout == "mix":
        if spec.n_levels is None:
            raise ConfigError(f"the {family!r} backbone supports only --readout last")
        head_config["mix_levels"] = spec.n_levels(backbone)
    config = {
        "task": KIND,
        "backbone_family": family,
        "backbone": dict(backbone),
        "head": head_config,
        "input": dict(norm or {"norm": "per-sample"}),
        "readout": readout,
        "classes": list(CLASSES),
        "lora": None,
    }
    return rebuild(config)


def load_segmentation_model(path: str | Path) -> tuple[nn.Module, dict]:
    """A saved segmentation model in eval mode (LoRA merged) and its checkpoint info (config.json + "path")."""
    model, info = load_checkpoint(path, expect_kind=KIND)
    merge_lora(model)
    return model, info


def quantize_dynamic(model: nn.Module, dtype: str = "int8") -> nn.Module:
    """A copy of ``model`` for CPU inference whose transformer blocks' linear layers are dynamically quantised
    (int8 weights, activations quantised per batch); embeddings, heads' projections and norms stay float32."""
    import copy
    import warnings

    if dtype != "int8":
        raise ConfigError(f"quantize must be 'int8', got {dtype!r}")
    q = copy.deepcopy(model).eval().cpu()
    with warnings.catch_warnings():  # torch.ao's deprecation notices: the API is what torch 2.x offers on CPU
        warnings.simplefilter("ignore")
        for name, module in list(q.named_modules()):
            if name.endswith("blocks") and isinstance(module, nn.ModuleList):
                for i, block in enumerate(module):
                    module[i] = torch.ao.quantization.quantize_dynamic(block, {nn.Linear}, dtype=torch.qint8)
    return q


def native_bf16(device: str) -> bool:
    """True when bfloat16 matmuls run natively on ``device``: CUDA, or a CPU whose oneDNN build has bf16 kernels
    (AVX512-BF16 or AMX); elsewhere torch emulates bf16 and it is slower than float32."""
    if torch.device(device).type == "cuda":
        return True
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without the query
        return False


@torch.no_grad()
def predict(
    model: nn.Module, spectrograms_db: np.ndarray, *, info: dict, batch_size: int = 16, device: str = "cpu"
) -> np.ndarray:
    """Class probabilities float32 (N, C, H0, W0) for dB spectrograms (N, H0, W0) at any resolution.

    Each spectrogram is resized bilinearly to the model's input size, normalised as in training (inside the
    model), and the logits are resized bilinearly back to (H0, W0) before the softmax. ``info`` is the dict
    :func:`load_segmentation_model` returned.
    """
    check_count(batch_size, "batch_size")
    x = np.asarray(spectrograms_db)
    if np.iscomplexobj(x):
        raise ConfigError("predict expects real spectrograms in dB (N, F, T), got complex values")
    if x.ndim != 3 or min(x.shape) < 1:
        raise ConfigError(f"predict expects spectrograms (N, F, T), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DatasetError("spectrograms contain NaN or Inf values")
    n_classes = len((info or {}).get("config", {}).get("classes", CLASSES))
    N, H0, W0 = x.shape
    size = tuple(model.image_size)
    model.eval().to(device)
    out = np.empty((N, n_classes, H0, W0), dtype=np.float32)
    for s in range(0, N, batch_size):
        xb = x[s : s + batch_size].astype(np.float32)
        if (H0, W0) != size:
            xb = resize(xb, size, mode="bilinear")
        logits = model(torch.from_numpy(xb)[:, None].to(device)).float()  # (b, C, H, W)
        if (H0, W0) != size:
            logits = F.interpolate(logits, size=(H0, W0), mode="bilinear", align_corners=False)
        out[s : s + batch_size] = logits.softmax(1).cpu().numpy()
    return out


# ------------------------------------------------------------------------------------------- fine-tuning


CLASS_WEIGHTS = ("none", "inverse-frequency", "signal-balanced")


def class_weights(counts: np.ndarray, scheme: str) -> list[float] | None:
    """Loss weights per class (noise, NR, LTE) from the training pixels' class ``counts``.

    ``inverse-frequency``: every class weighs the same in total (noise, the majority, is down-weighted, so more
    pixels around carriers are called signal). ``signal-balanced``: noise keeps weight 1 and NR and LTE share
    their pixels' total weight equally (w_c = (n_NR + n_LTE) / (2 n_c)), so the noise-vs-signal balance of the
    loss is the unweighted one and only NR against LTE is balanced. ``none``: None.
    """
    if scheme == "none":
        return None
    if scheme == "inverse-frequency":
        return ft.inverse_frequency_weights(counts)
    counts = np.asarray(counts, dtype=np.float64)
    signal = counts[1:]
    if (signal <= 0).any():  # a class never seen: nothing to balance against
        return [1.0] * len(counts)
    return [1.0] + [float(round(v, 6)) for v in signal.sum() / (len(signal) * signal)]


@dataclass
class SegmentationConfig(ft.FinetuneConfig):
    """A segmentation fine-tune: the shared fine-tuning settings plus the head, loss and data options."""

    norm: str = "per-sample"  # input normalisation: "per-sample" or "dataset" (the training frames' mean/std)
    head_dim: int | None = None  # head width (None: the backbone's)
    head_depth: int = 2  # head transformer blocks (paper B: 2)
    head_heads: int | None = None  # head attention heads (None: the backbone's)
    readout: str = "last"  # "last": the encoder's output (paper B); "mix": a learned mix of every level
    augment: bool = True  # training augmentation (off anyway when features are cached)
    max_frames: int | None = None  # use only the first N frames of the data
    cache_views: int = 1  # with cached features: each frame as is plus N-1 fixed augmented copies
    label_smoothing: float = 0.1  # label smoothing alpha (paper B eq. 3)
    class_weights: str = "none"  # one of CLASS_WEIGHTS (per-class loss weights from the training labels)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 1 <= self.cache_views <= MAX_CACHE_VIEWS:  # each view's features are held in memory
            raise ConfigError(f"--cache-views must be 1..{MAX_CACHE_VIEWS}, got {self.cache_views}")
        for flag, value in (("--max-frames", self.max_frames), ("--head-dim", self.head_dim),
                            ("--head-heads", self.head_heads)):  # fmt: skip
            if value is not None and value < 1:  # (0 read as "the default" and -1 as one frame)
                raise ConfigError(f"{flag} must be at least 1, got {value}")
        if self.norm not in NORMS:
            raise ConfigError(f"--norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"--class-weights must be one of {', '.join(CLASS_WEIGHTS)}, got {self.class_weights!r}")


def finetune_segmentation(
    data: str | Path,
    config: SegmentationConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Fine-tune a segmentation model on the NR/LTE dataset folder ``data``; the run folder ``out`` is the checkpoint.

    ``log`` (main process only) gets the parameter summary, the feature-cache note and each epoch's JSON line.
    """
    check_type(config, SegmentationConfig, "config")
    check_type(train, TrainConfig, "train")
    data, out = Path(data), Path(out)
    say = log if log is not None and is_main_process() else None
    if out.exists() and (out / "config.json").exists() and not resume:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    family, bcfg, init_info = ft.backbone_config(config)
    if "img_size" not in bcfg:  # a few-shot network: it embeds I/Q frames, not spectrogram images
        raise ConfigError(f"segmentation needs a ViT or ConvLSTM backbone, got family {family!r}")
    full = SegmentationDataset(data, image_size=tuple(bcfg["img_size"]), max_frames=config.max_frames)
    train_idx, val_idx = train_val_split(len(full), config.val_fraction, seed=train.seed, salt=SPLIT_SALT)
    train_idx = [train_idx[i] for i in label_subset([0] * len(train_idx), config.label_fraction, seed=train.seed)]
    train_set = torch.utils.data.Subset(full, train_idx)
    val_set = torch.utils.data.Subset(full, val_idx) if val_idx else None
    norm = _norm_config(config.norm, full.specs, train_idx)
    head_opts = {"embed_dim": config.head_dim, "depth": config.head_depth, "num_heads": config.head_heads}
    with seeded(train.seed):
        model = build_segmentation_model(family, bcfg, head=head_opts, norm=norm, readout=config.readout)
    loaded = load_backbone_into(model, config.init) if config.mode != "scratch" else None
    settings = configure_mode(
        model, config.mode, k=config.k, lora_rank=config.lora_rank, lora_alpha=config.lora_alpha, seed=train.seed
    )
    counts = ft.count_parameters(model)
    if say:
        say(ft.summary_line(KIND, config.mode, counts))
    weights = None
    if config.class_weights != "none":
        hist = sum(np.bincount(np.asarray(full.labels[i]).ravel(), minlength=len(CLASSES)) for i in train_idx)
        weights = class_weights(hist[: len(CLASSES)], config.class_weights)
    cache = config.mode == "frozen" and config.cache_features
    task = SegmentationTask(config.label_smoothing, weights, augment=config.augment and not cache)
    if cache:
        dev = init_distributed(train.device).device
        t0 = time.perf_counter()
        kw = dict(batch_size=32, device=dev, progress=train.progress)
        views = AugmentedViews(train_set, config.cache_views, train.seed) if config.cache_views > 1 else train_set
        train_set = ft.cache_features(model, views, **kw)
        val_set = ft.cache_features(model, val_set, **kw) if val_set else None
        size = train_set.nbytes + (val_set.nbytes if val_set else 0)
        if say:
            say(f"cached backbone features ({ft.human_bytes(size)}) in {time.perf_counter() - t0:.1f}s")
    extra = {
        "classes": list(CLASSES),
        "finetune": {
            **settings,
            "init": str(config.init) if config.init else None,
            "init_kind": init_info["kind"] if init_info else None,
            "model_name": (init_info or {}).get("extra", {}).get("model_name", config.model),
            "layer_decay": config.layer_decay,
            "readout": config.readout,
            "label_smoothing": config.label_smoothing,
            "class_weights": weights,
            "augment": task.augment,
            "cached_features": cache,
            "cache_views": config.cache_views if cache else None,
            "backbone_tensors_loaded": len(loaded["loaded"]) if loaded else 0,
        },
        "parameters": counts,
        "data": {
            "source": str(data),
            "train_frames": len(train_set),
            "val_frames": len(val_set) if val_set else 0,
            "image_size": list(bcfg["img_size"]),
            **norm,
        },
    }
    return ft.fit_finetune(
        model, task, train_set, val_set, config=config, train=train, out=out, extra=extra, resume=resume,
        kind=KIND, counts=counts, log=log,
    )  # fmt: skip


def _norm_config(norm: str, specs: np.ndarray, train_idx: list[int], max_frames: int = 256) -> dict:
    if norm == "per-sample":
        return {"norm": "per-sample"}
    pick = train_idx[:: max(1, len(train_idx) // max_frames)]
    vals = np.stack([np.asarray(specs[i], dtype=np.float64) for i in pick])
    return {"norm": "dataset", "mean_db": float(vals.mean()), "std_db": float(max(vals.std(), 1e-3))}
