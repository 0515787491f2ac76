"""NR/LTE spectrogram segmentation (paper B §III-D, SPEC §4): data, head, loss, metrics, evaluation, inference.

Data: a folder written by :func:`radiofm.synth.nrlte.generate_dataset` (``spectrograms.npy`` (N, 256, 256) dB,
``labels.npy`` (N, 256, 256) uint8 0 noise / 1 NR / 2 LTE). Spectrograms are resized bilinearly to the
backbone's input size (H, W), labels with nearest neighbour; the model normalises its dB input itself
(per-sample standardisation by default, so captures at another absolute power scale look the same).

Model: :class:`radiofm.tasks.finetune.FineTuneModel` = backbone encoder + :class:`TransformerSegHead`; saved as
checkpoint kind "segmentation" holding the whole model. Inference for other tools goes through exactly
:func:`load_segmentation_model` and :func:`predict`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from radiofm.errors import ConfigError, DatasetError
from radiofm.models.checkpoint import register_kind
from radiofm.models.heads import LevelMix, SegHeadConfig, TransformerSegHead
from radiofm.tasks import finetune as ft

KIND = "segmentation"
DATASET_KIND = "nrlte-segmentation"
CLASSES = ("noise", "NR", "LTE")
CLASS_COLORS = ("#d9d9d9", "#1f77b4", "#d62728")  # noise light grey, NR blue, LTE red (every figure)


# ------------------------------------------------------------------------------------------- data


def open_segmentation_dataset(folder: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(spectrograms (N, H, W) float32 dB, labels (N, H, W) uint8, manifest), both memory-mapped."""
    from radiofm.io import read_json

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist")
    mpath = folder / "manifest.json"
    try:
        manifest = read_json(mpath)
    except FileNotFoundError:
        raise DatasetError(f"{folder} is not an NR/LTE segmentation dataset (no manifest.json)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{mpath} is malformed JSON: {exc}") from None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind != DATASET_KIND:
        raise DatasetError(f"{folder} is a {kind!r} dataset, expected {DATASET_KIND!r} (radiofm generate nrlte)")
    arrays = []
    for name in ("spectrograms.npy", "labels.npy"):
        try:
            arrays.append(np.load(folder / name, mmap_mode="r"))
        except FileNotFoundError:
            raise DatasetError(f"{folder} lacks {name}") from None
        except ValueError as exc:
            raise DatasetError(f"cannot read {folder / name}: {exc}") from None
    specs, labels = arrays
    if specs.ndim != 3 or specs.shape != labels.shape or len(specs) == 0:
        raise DatasetError(f"{folder}: spectrograms {specs.shape} and labels {labels.shape} must be equal (N, H, W)")
    return specs, labels, manifest


class SegmentationDataset(torch.utils.data.Dataset):
    """Item i -> {"x": (1, H, W) float32 dB, "y": (H, W) int64} at the model's input size (H, W)."""

    def __init__(self, folder: str | Path, *, image_size: tuple[int, int], max_frames: int | None = None):
        self.folder = Path(folder)
        self.specs, self.labels, self.manifest = open_segmentation_dataset(folder)
        self.image_size = tuple(int(s) for s in image_size)
        self.n = len(self.specs) if max_frames is None else max(1, min(len(self.specs), int(max_frames)))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        from radiofm.dsp import resize

        x = resize(np.array(self.specs[i], dtype=np.float32), self.image_size, mode="bilinear")
        y = resize(np.asarray(self.labels[i]), self.image_size, mode="nearest")
        return {"x": torch.from_numpy(x)[None], "y": torch.from_numpy(y.astype(np.int64))}


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
            logits = _unwrap(model).head(batch["features"])
        else:
            x = batch["x"]
            if train and self.augment:
                x, y = augment_batch(x, y, generator)
            logits = model(x)
        weight = torch.tensor(self.class_weights) if self.class_weights else None
        loss = label_smoothing_ce(logits, y, smoothing=self.label_smoothing, weight=weight)
        acc = (logits.argmax(1) == y).float().mean()
        return loss, {"pixel_acc": float(acc)}


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


# ------------------------------------------------------------------------------------------- model

# backbone family -> head config dict for a backbone config dict (ConvLSTM backbones plug in here)
HEAD_CONFIGS: dict[str, Callable[[dict, dict], dict]] = {}
# head "type" -> builder from the head config dict (without "type")
HEAD_TYPES: dict[str, Callable[[dict], nn.Module]] = {"transformer": lambda c: TransformerSegHead(SegHeadConfig(**c))}


def _vit_head_config(backbone: dict, opts: dict) -> dict:
    p = int(backbone["patch_size"])
    grid = [int(backbone["img_size"][0]) // p, int(backbone["img_size"][1]) // p]
    return {
        "type": "transformer",
        "in_dim": int(backbone["embed_dim"]),
        "grid_size": grid,
        "patch_size": p,
        "num_classes": len(CLASSES),
        "embed_dim": int(opts.get("embed_dim") or backbone["embed_dim"]),
        "depth": int(opts.get("depth", 2)),
        "num_heads": int(opts.get("num_heads") or backbone.get("num_heads", 4)),
    }


HEAD_CONFIGS["mae"] = _vit_head_config


def build_head(config: dict) -> nn.Module:
    """The head a config dict describes; ``mix_levels`` (readout "mix") wraps it in a :class:`LevelMix`."""
    kind = config.get("type", "transformer")
    if kind not in HEAD_TYPES:
        raise ConfigError(f"unknown segmentation head type {kind!r}")
    head = HEAD_TYPES[kind]({k: v for k, v in config.items() if k not in ("type", "mix_levels")})
    return LevelMix(int(config["mix_levels"]), head) if config.get("mix_levels") else head


def build_segmentation_model(
    family: str, backbone: dict, *, head: dict | None = None, norm: dict | None = None, readout: str = "last"
):
    """A fresh (randomly initialised) segmentation model for a backbone config; weights loaded by the caller.

    ``readout``: "last" feeds the head the backbone's final output (paper B); "mix" a learned mix of every
    level (see :class:`radiofm.models.heads.LevelMix`).
    """
    spec = ft.backbone_spec(family)  # registers a plug-in family (and its head) on first use
    if family not in HEAD_CONFIGS:
        raise ConfigError(f"no segmentation head for backbone family {family!r}")
    if readout not in ft.READOUTS:
        raise ConfigError(f"readout must be one of {', '.join(ft.READOUTS)}, got {readout!r}")
    head_config = HEAD_CONFIGS[family](backbone, head or {})
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
    return ft.rebuild(config, build_head)


register_kind(KIND, lambda config, extra: ft.rebuild(config, build_head))


def load_segmentation_model(path: str | Path) -> tuple[nn.Module, dict]:
    """A saved segmentation model in eval mode (LoRA merged) and its checkpoint info (config.json + "path")."""
    from radiofm.models import load_checkpoint
    from radiofm.models.lora import merge_lora

    model, info = load_checkpoint(path, expect_kind=KIND)
    merge_lora(model)
    return model, info


@torch.no_grad()
def predict(
    model: nn.Module, spectrograms_db: np.ndarray, *, info: dict, batch_size: int = 16, device: str = "cpu"
) -> np.ndarray:
    """Class probabilities float32 (N, C, H0, W0) for dB spectrograms (N, H0, W0) at any resolution.

    Each spectrogram is resized bilinearly to the model's input size, normalised as in training (inside the
    model), and the logits are resized bilinearly back to (H0, W0) before the softmax. ``info`` is the dict
    :func:`load_segmentation_model` returned.
    """
    from radiofm.dsp import resize

    x = np.asarray(spectrograms_db)
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


# ------------------------------------------------------------------------------------------- metrics


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int = len(CLASSES)) -> np.ndarray:
    """int64 (C, C): row = true class, column = predicted class, counting pixels."""
    t = np.asarray(truth).astype(np.int64).ravel()
    p = np.asarray(pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ConfigError(f"truth and prediction differ in size: {t.shape} vs {p.shape}")
    if t.size and (t.min() < 0 or t.max() >= num_classes or p.min() < 0 or p.max() >= num_classes):
        raise DatasetError(f"labels outside 0..{num_classes - 1}")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def _ratio(a, b):
    return float(a / b) if b > 0 else None


def matrix_metrics(cm: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Counts, row-normalised matrix, per-class accuracy (recall) and IoU, their means over present classes."""
    cm = np.asarray(cm, dtype=np.int64)
    rows, cols, diag = cm.sum(1), cm.sum(0), np.diag(cm)
    acc = [_ratio(diag[i], rows[i]) for i in range(len(classes))]
    iou = [_ratio(diag[i], rows[i] + cols[i] - diag[i]) for i in range(len(classes))]
    norm = [[_ratio(v, rows[i]) for v in cm[i]] for i in range(len(classes))]
    present = [a for a, r in zip(acc, rows) if r > 0]
    present_iou = [v for v, r in zip(iou, rows) if r > 0 and v is not None]
    return {
        "classes": list(classes),
        "counts": cm.tolist(),
        "row_normalised": norm,
        "per_class_accuracy": dict(zip(classes, acc)),
        "mean_class_accuracy": float(np.mean(present)) if present else None,
        "iou": dict(zip(classes, iou)),
        "mean_iou": float(np.mean(present_iou)) if present_iou else None,
        "pixel_accuracy": _ratio(diag.sum(), cm.sum()),
    }


def segmentation_metrics(cm: np.ndarray, classes: tuple[str, ...] = CLASSES) -> dict:
    """The 3-class metrics plus the binary signal-vs-noise matrix (paper A Fig. 8; class 0 is noise)."""
    cm = np.asarray(cm, dtype=np.int64)
    binary = np.array([[cm[0, 0], cm[0, 1:].sum()], [cm[1:, 0].sum(), cm[1:, 1:].sum()]])
    return {**matrix_metrics(cm, classes), "binary": matrix_metrics(binary, ("noise", "signal"))}


# ------------------------------------------------------------------------------------------- fine-tuning CLI


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    ft.add_common_args(p, epochs=10, batch_size=16, base_lr=1e-2)
    ft.add_classification_args(p)
    p.add_argument("--norm", choices=ft.NORMS, default="per-sample", help="input normalisation (default per-sample)")
    p.add_argument("--head-dim", type=int, default=None, help="head width (default: the backbone's)")
    p.add_argument("--head-depth", type=int, default=2, help="head transformer blocks (default 2, paper B)")
    p.add_argument("--head-heads", type=int, default=None, help="head attention heads (default: the backbone's)")
    p.add_argument(
        "--readout",
        choices=ft.READOUTS,
        default="last",
        help="what the head reads: last = the encoder's output (paper B, default); mix = a learned mix of "
        "every encoder level (better for a frozen encoder; caches depth+1 times the features)",
    )
    p.add_argument("--no-augment", action="store_true", help="no training augmentation")
    p.add_argument("--max-frames", type=int, default=None, help="use only the first N frames of --data")
    p.add_argument(
        "--cache-views",
        type=int,
        default=1,
        help="with cached features: each training frame as is plus N-1 fixed augmented copies (default 1)",
    )


def run_finetune(args: argparse.Namespace) -> int:
    from radiofm.cli import _args
    from radiofm.cli.pretrain import split_dataset
    from radiofm.train import fit, init_distributed, is_main_process, seeded

    ft.check_common_args(args)
    if args.cache_views < 1:
        raise ConfigError(f"--cache-views must be at least 1, got {args.cache_views}")
    if args.out.exists() and (args.out / "config.json").exists() and not args.resume:
        raise ConfigError(f"{args.out} already holds a run; pass --resume to continue it or choose another --out")
    family, bcfg, init_info = ft.backbone_config(args)
    cfg = _args.train_config(args)
    full = SegmentationDataset(args.data, image_size=tuple(bcfg["img_size"]), max_frames=args.max_frames)
    train_set, val_set = split_dataset(full, args.val_fraction, seed=args.seed)
    train_idx = list(train_set.indices)
    norm = _norm_config(args.norm, full.specs, train_idx)
    head_opts = {"embed_dim": args.head_dim, "depth": args.head_depth, "num_heads": args.head_heads}
    with seeded(args.seed):
        model = build_segmentation_model(family, bcfg, head=head_opts, norm=norm, readout=args.readout)
    loaded = ft.load_backbone_into(model, args.init) if args.mode != "scratch" else None
    settings = ft.configure_mode(model, args.mode, k=args.k, lora_rank=args.lora_rank, lora_alpha=args.lora_alpha)
    counts = ft.count_parameters(model)
    main_process = is_main_process()
    if main_process:
        print(ft.summary_line(KIND, args.mode, counts), flush=True)
    weights = None
    if args.class_weights == "inverse-frequency":
        hist = sum(np.bincount(np.asarray(full.labels[i]).ravel(), minlength=len(CLASSES)) for i in train_idx)
        weights = ft.inverse_frequency_weights(hist[: len(CLASSES)])
    cache = args.mode == "frozen" and not args.no_cache_features
    task = SegmentationTask(args.label_smoothing, weights, augment=not (args.no_augment or cache))
    if cache:
        dev = init_distributed(cfg.device).device
        t0 = time.perf_counter()
        kw = dict(batch_size=32, device=dev, progress=cfg.progress)
        views = AugmentedViews(train_set, args.cache_views, args.seed) if args.cache_views > 1 else train_set
        train_set = ft.cache_features(model, views, **kw)
        val_set = ft.cache_features(model, val_set, **kw) if val_set else None
        size = train_set.nbytes + (val_set.nbytes if val_set else 0)
        if main_process:
            print(f"cached backbone features ({ft.human_bytes(size)}) in {time.perf_counter() - t0:.1f}s", flush=True)
    extra = {
        "classes": list(CLASSES),
        "finetune": {
            **settings,
            "init": str(args.init) if args.init else None,
            "init_kind": init_info["kind"] if init_info else None,
            "model_name": (init_info or {}).get("extra", {}).get("model_name", args.model),
            "layer_decay": args.layer_decay,
            "readout": args.readout,
            "label_smoothing": args.label_smoothing,
            "class_weights": weights,
            "augment": task.augment,
            "cached_features": cache,
            "cache_views": args.cache_views if cache else None,
            "backbone_tensors_loaded": len(loaded["loaded"]) if loaded else 0,
        },
        "parameters": counts,
        "data": {
            "source": str(args.data),
            "train_frames": len(train_set),
            "val_frames": len(val_set) if val_set else 0,
            "image_size": list(bcfg["img_size"]),
            **norm,
        },
    }
    record = fit(
        model,
        task,
        train_set,
        cfg=cfg,
        out_dir=args.out,
        extra=extra,
        val_set=val_set,
        resume=args.resume,
        groups=ft.optimizer_groups(model, args),
        run_info={"command": f"finetune {KIND}"},
    )
    if record and main_process:
        print(
            f"fine-tuned {KIND} [{args.mode}] on {len(train_set)} frames -> {args.out} "
            f"(train loss {record.get('train_loss', float('nan')):.4f}, "
            f"val pixel acc {record.get('val_pixel_acc', float('nan')):.4f})"
        )
    return 0


def _norm_config(norm: str, specs: np.ndarray, train_idx: list[int], max_frames: int = 256) -> dict:
    if norm == "per-sample":
        return {"norm": "per-sample"}
    pick = train_idx[:: max(1, len(train_idx) // max_frames)]
    vals = np.stack([np.asarray(specs[i], dtype=np.float64) for i in pick])
    return {"norm": "dataset", "mean_db": float(vals.mean()), "std_db": float(max(vals.std(), 1e-3))}


# ------------------------------------------------------------------------------------------- evaluation


def add_eval_args(p: argparse.ArgumentParser) -> None:
    from radiofm.cli import _args

    p.add_argument("--model", required=True, type=Path, help="fine-tuned segmentation run folder")
    p.add_argument("--data", required=True, type=Path, help="NR/LTE dataset folder (radiofm generate nrlte)")
    p.add_argument("--out", required=True, type=Path, help="output folder for segmentation.json and PNGs")
    p.add_argument("--max-samples", type=_args.positive_int, default=None, help="evaluate at most N frames")
    p.add_argument("--batch-size", type=_args.positive_int, default=16)
    p.add_argument("--overlays", type=_args.non_negative_int, default=4, help="frames drawn in overlays.png")
    p.add_argument("--device", default="cpu")


def evaluate_segmentation(model, info, specs, labels, *, batch_size=16, device="cpu", keep=0) -> tuple[dict, list]:
    """Confusion matrix over every pixel at the dataset's resolution; returns (metrics, first ``keep`` preds)."""
    cm = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    kept = []
    for s in range(0, len(specs), batch_size):
        probs = predict(model, np.asarray(specs[s : s + batch_size]), info=info, batch_size=batch_size, device=device)
        pred = probs.argmax(1).astype(np.uint8)
        cm += confusion_matrix(np.asarray(labels[s : s + batch_size]), pred)
        kept.extend(pred[: max(0, keep - len(kept))])
    return segmentation_metrics(cm), kept


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.io import atomic_path, write_json

    model, info = load_segmentation_model(args.model)
    specs, labels, manifest = open_segmentation_dataset(args.data)
    n = min(len(specs), args.max_samples or len(specs))
    t0 = time.perf_counter()
    report, preds = evaluate_segmentation(
        model, info, specs[:n], labels[:n], batch_size=args.batch_size, device=args.device, keep=args.overlays
    )
    report = {
        "model": str(args.model),
        "data": str(args.data),
        "split": manifest.get("split"),
        "samples": n,
        "resolution": list(specs.shape[1:]),
        "mode": info["extra"].get("finetune", {}).get("mode"),
        **report,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    with atomic_path(args.out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "segmentation.json", report)
        plot_confusion(report, tmp / "confusion.png")
        if preds:
            plot_overlays(specs[: len(preds)], labels[: len(preds)], np.stack(preds), tmp / "overlays.png")
    print_report(report)
    print(f"wrote {args.out / 'segmentation.json'}, {args.out / 'confusion.png'}, {args.out / 'overlays.png'}")
    return 0


def print_report(report: dict) -> None:
    def f(v):
        return "   -  " if v is None else f"{v:6.3f}"

    print(f"segmentation ({report['samples']} frames, {report['resolution'][0]}x{report['resolution'][1]} pixels)")
    print(f"{'class':>8} {'acc':>6} {'IoU':>6}")
    for c in report["classes"]:
        print(f"{c:>8} {f(report['per_class_accuracy'][c])} {f(report['iou'][c])}")
    print(f"{'mean':>8} {f(report['mean_class_accuracy'])} {f(report['mean_iou'])}")
    b = report["binary"]
    print(
        f"pixel accuracy {f(report['pixel_accuracy']).strip()}; signal vs noise: mean acc "
        f"{f(b['mean_class_accuracy']).strip()}, pixel acc {f(b['pixel_accuracy']).strip()}"
    )


# ------------------------------------------------------------------------------------------- figures


def plot_confusion(report: dict, path: Path) -> None:
    from radiofm.viz import new_figure, save_figure

    fig = new_figure((10.0, 4.4))
    for ax, m, title in zip(
        fig.subplots(1, 2), (report, report["binary"]), ("3-class", "signal vs noise (binary)"), strict=True
    ):
        counts = np.array(m["counts"])
        norm = np.array([[np.nan if v is None else v for v in row] for row in m["row_normalised"]], dtype=float)
        ax.imshow(np.nan_to_num(norm), vmin=0, vmax=1, cmap="Blues")
        k = len(m["classes"])
        for i in range(k):
            for j in range(k):
                pct = "" if np.isnan(norm[i, j]) else f"\n{100 * norm[i, j]:.1f}%"
                color = "white" if np.nan_to_num(norm[i, j]) > 0.5 else "black"
                ax.text(j, i, f"{counts[i, j]}{pct}", ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(k), m["classes"])
        ax.set_yticks(range(k), m["classes"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        mca = m["mean_class_accuracy"]
        ax.set_title(f"{title}: mean acc {mca:.3f}" if mca is not None else title)
    save_figure(fig, path)


def plot_overlays(specs: np.ndarray, labels: np.ndarray, preds: np.ndarray, path: Path) -> None:
    """Rows of (spectrogram, truth, prediction), fixed colours noise/NR/LTE."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from radiofm.viz import new_figure, plot_spectrogram, save_figure

    cmap = ListedColormap(CLASS_COLORS)
    n = len(specs)
    fig = new_figure((11.0, 3.0 * n))
    axes = np.atleast_2d(fig.subplots(n, 3))
    for i in range(n):
        plot_spectrogram(axes[i, 0], np.asarray(specs[i]), title="spectrogram (dB)" if i == 0 else None)
        for ax, img, title in ((axes[i, 1], labels[i], "truth"), (axes[i, 2], preds[i], "prediction")):
            ax.imshow(np.asarray(img), origin="lower", aspect="auto", interpolation="nearest", cmap=cmap, vmin=0,
                      vmax=len(CLASSES) - 1)  # fmt: skip
            if i == 0:
                ax.set_title(title)
    handles = [Patch(color=c, label=name) for name, c in zip(CLASSES, CLASS_COLORS)]
    axes[0, 2].legend(handles=handles, loc="upper right", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time (column)")
    save_figure(fig, path)


__all__ = [
    "CLASSES",
    "CLASS_COLORS",
    "SegmentationDataset",
    "SegmentationTask",
    "add_eval_args",
    "add_finetune_args",
    "augment_batch",
    "build_segmentation_model",
    "confusion_matrix",
    "label_smoothing_ce",
    "load_segmentation_model",
    "open_segmentation_dataset",
    "predict",
    "run_eval",
    "run_finetune",
    "segmentation_metrics",
]
