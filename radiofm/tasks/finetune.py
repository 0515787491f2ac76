"""The fine-tuning framework every downstream task shares: backbone loading, modes, layer decay, feature cache.

A fine-tuned model is a :class:`FineTuneModel`: a pretrained backbone (its pretraining-only parts, such as the
MAE decoder, removed) plus a task head, with the input normalisation inside the model so that whoever loads
the checkpoint feeds it spectrograms in dB and nothing else. Its ``config`` is a plain dict::

    {"task": "segmentation", "backbone_family": "mae", "backbone": {MAEConfig fields},
     "head": {head config fields}, "input": {"norm": "per-sample" | "dataset", "mean_db", "std_db"},
     "lora": null | {"rank": r, "alpha": a}}

Backbone families plug in through :func:`register_backbone` (a :class:`BackboneSpec` says how to build the
encoder-only model, which checkpoint keys fine-tuning drops, where the blocks are, how to get features);
tasks build their heads and call :func:`configure_mode`. Modes (SPEC §4):

- ``frozen``  backbone frozen and kept in eval mode, head trained (paper B's protocol)
- ``last-k``  the last k backbone blocks and the final norm trained too
- ``lora``    rank-r adapters on the attention qkv/proj linears; base weights frozen
- ``full``    everything trained, layer-wise lr decay (``decay^(depth - i)`` for block i)
- ``scratch`` the same architecture, randomly initialised, everything trained
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from radiofm.errors import CheckpointError, ConfigError
from radiofm.models.lora import apply_lora

MODES = ("frozen", "last-k", "lora", "full", "scratch")
NORMS = ("per-sample", "dataset")
# what the head reads from the backbone: "last" its final output (paper B), "mix" a learned mix of every level
READOUTS = ("last", "mix")


# ------------------------------------------------------------------------------------------- backbones


@dataclass(frozen=True)
class BackboneSpec:
    """How the framework uses one model family as a backbone."""

    family: str  # model family ("mae", "convlstm")
    kinds: tuple[str, ...]  # checkpoint kinds accepted as --init
    dropped: tuple[str, ...]  # module/checkpoint names fine-tuning removes (pretraining-only parts)
    blocks: str  # name of the nn.ModuleList of blocks, in depth order
    final: tuple[str, ...]  # parameters after the blocks (trained with last-k)
    embed: tuple[str, ...]  # parameters before the blocks (layer-decay depth 0)
    lora_targets: tuple[str, ...]  # linear layer name suffixes that get LoRA adapters
    features: Callable[[nn.Module, torch.Tensor], torch.Tensor]  # (backbone, x) -> features
    # (backbone, x) -> every level's features stacked on dim 1, for the "mix" readout; None: not supported
    levels: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None
    n_levels: Callable[[dict], int] | None = None  # backbone config -> how many levels ``levels`` returns


BACKBONES: dict[str, BackboneSpec] = {}
# families registered by a module that is not always imported: loaded on first use
BACKBONE_MODULES = {"convlstm": "radiofm.tasks.convlstm_segmentation"}


def register_backbone(spec: BackboneSpec) -> None:
    BACKBONES[spec.family] = spec


register_backbone(
    BackboneSpec(
        family="mae",
        kinds=("mae",),
        dropped=("decoder_embed", "mask_token", "decoder_pos_embed", "decoder_blocks", "decoder_norm", "decoder_pred"),
        blocks="encoder_blocks",
        final=("encoder_norm",),
        embed=("patch_embed", "cls_token", "pos_embed"),
        lora_targets=("attn.qkv", "attn.proj"),
        features=lambda m, x: m.forward_features(x),  # (B, C, F, T) -> (B, L, D)
        levels=lambda m, x: m.forward_levels(x),  # (B, C, F, T) -> (B, depth + 1, L, D)
        n_levels=lambda c: int(c["depth"]) + 1,
    )
)


def _ensure_registered(family: str | None) -> None:
    import importlib

    if family not in BACKBONES and family in BACKBONE_MODULES:
        try:
            importlib.import_module(BACKBONE_MODULES[family])
        except ModuleNotFoundError as exc:
            if exc.name != BACKBONE_MODULES[family]:
                raise


def backbone_spec(family: str | None) -> BackboneSpec:
    _ensure_registered(family)
    if family not in BACKBONES:
        raise ConfigError(f"model family {family!r} cannot be fine-tuned; supported: {', '.join(sorted(BACKBONES))}")
    return BACKBONES[family]


def build_backbone(family: str, config: dict) -> nn.Module:
    """The ``family`` model from a config dict, with its pretraining-only modules removed."""
    from radiofm.models import model_from_config

    spec = backbone_spec(family)  # first: imports a plug-in family's module (which registers its head too)
    model = model_from_config(family, config)
    for name in spec.dropped:
        if hasattr(model, name):
            delattr(model, name)
    return model


def read_init(init: str | Path) -> dict:
    """config.json of a pretrained backbone checkpoint; CheckpointError when it is not one."""
    from radiofm.models import read_checkpoint_info

    info = read_checkpoint_info(init)
    _ensure_registered(info.get("family"))
    spec = BACKBONES.get(info.get("family"))
    if spec is None or info["kind"] not in spec.kinds:
        kinds = sorted(k for s in BACKBONES.values() for k in s.kinds)
        raise CheckpointError(
            f"{init} is a {info['kind']!r} checkpoint, expected a pretrained backbone ({', '.join(map(repr, kinds))})"
        )
    return info


def load_backbone_into(model: FineTuneModel, init: str | Path) -> dict:
    """Copy the backbone weights of checkpoint ``init`` into ``model.backbone``.

    Exactly the head may be left without weights and exactly the pretraining-only tensors may be left over;
    anything else (another architecture, a truncated file) raises CheckpointError naming the keys.
    """
    from radiofm.models import load_backbone_weights

    spec = backbone_spec(model.config["backbone_family"])
    return load_backbone_weights(
        model, init, prefix="backbone.", expected_missing=("head.",), expected_unexpected=spec.dropped
    )


class FineTuneModel(nn.Module):
    """Backbone + head. ``forward(x_db)``: x_db (B, C, F, T) spectrograms in dB at the backbone's input size."""

    def __init__(self, backbone: nn.Module, head: nn.Module, config: dict):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.config = config
        self.spec = backbone_spec(config["backbone_family"])
        inp = config.get("input") or {"norm": "per-sample"}
        if inp["norm"] not in NORMS:
            raise ConfigError(f"input norm must be one of {', '.join(NORMS)}, got {inp['norm']!r}")
        if self.readout not in READOUTS:
            raise ConfigError(f"readout must be one of {', '.join(READOUTS)}, got {self.readout!r}")
        if self.readout == "mix" and self.spec.levels is None:
            raise ConfigError(f"the {self.spec.family!r} backbone supports only --readout last")

    @property
    def readout(self) -> str:
        return self.config.get("readout") or "last"

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.config["backbone"]["img_size"])

    @property
    def backbone_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.backbone.parameters())

    def normalize(self, x_db: torch.Tensor) -> torch.Tensor:
        """dB -> model scale: per-sample standardisation (over C, F, T) or fixed dataset mean/std."""
        inp = self.config.get("input") or {"norm": "per-sample"}
        x = x_db.float()
        if inp["norm"] == "dataset":
            return (x - inp["mean_db"]) / inp["std_db"]
        dims = tuple(range(1, x.ndim))
        mean = x.mean(dim=dims, keepdim=True)
        std = x.std(dim=dims, keepdim=True).clamp_min(1e-3)
        return (x - mean) / std

    def encode(self, x_db: torch.Tensor) -> torch.Tensor:
        """Backbone features of dB input; no autograd graph when the backbone is frozen."""
        ctx = torch.no_grad() if self.backbone_frozen else contextlib.nullcontext()
        features = self.spec.levels if self.readout == "mix" else self.spec.features
        with ctx:
            return features(self.backbone, self.normalize(x_db))

    def forward(self, x_db: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(x_db))

    def train(self, mode: bool = True) -> FineTuneModel:
        super().train(mode)
        if mode and self.backbone_frozen:  # a frozen backbone is a fixed feature extractor: no dropout/BN drift
            self.backbone.eval()
        return self

    def no_weight_decay(self) -> set[str]:
        inner = getattr(self.backbone, "no_weight_decay", lambda: set())()
        return {f"backbone.{n}" for n in inner}


def rebuild(config: dict, head_builder: Callable[[dict], nn.Module]) -> FineTuneModel:
    """A :class:`FineTuneModel` from its config dict (checkpoint builders): backbone, head, LoRA structure."""
    backbone = build_backbone(config["backbone_family"], config["backbone"])
    model = FineTuneModel(backbone, head_builder(config["head"]), config)
    if config.get("lora"):
        apply_lora(model.backbone, rank=int(config["lora"]["rank"]), alpha=config["lora"]["alpha"],
                   targets=model.spec.lora_targets)  # fmt: skip
    return model


# ------------------------------------------------------------------------------------------- modes


def configure_mode(
    model: FineTuneModel, mode: str, *, k: int = 2, lora_rank: int = 8, lora_alpha: float | None = None
) -> dict:
    """Set ``requires_grad`` for ``mode`` (see module docstring); returns the mode settings for the checkpoint."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    spec = model.spec
    blocks = getattr(model.backbone, spec.blocks)
    model.head.requires_grad_(True)
    model.backbone.requires_grad_(mode in ("full", "scratch"))
    settings: dict = {"mode": mode}
    if mode == "last-k":
        if not 1 <= k <= len(blocks):
            raise ConfigError(f"--k must be in 1..{len(blocks)} (the backbone's blocks), got {k}")
        for blk in list(blocks)[len(blocks) - k :]:
            blk.requires_grad_(True)
        for name in spec.final:
            getattr(model.backbone, name).requires_grad_(True)
        settings["k"] = k
    elif mode == "lora":
        if lora_rank < 1:
            raise ConfigError(f"--lora-rank must be at least 1, got {lora_rank}")
        apply_lora(model.backbone, rank=lora_rank, alpha=lora_alpha, targets=spec.lora_targets)
        for name, p in model.backbone.named_parameters():
            p.requires_grad_(name.rsplit(".", 1)[-1].startswith("lora_"))
        model.config["lora"] = {"rank": lora_rank, "alpha": float(lora_rank if lora_alpha is None else lora_alpha)}
        settings.update(lora_rank=lora_rank, lora_alpha=model.config["lora"]["alpha"])
    model.train()
    return settings


def layer_decay_scales(model: FineTuneModel, decay: float) -> dict[str, float]:
    """Per-parameter lr scales: block i gets ``decay^(depth - i)``, embeddings ``decay^(depth + 1)``, rest 1."""
    if not 0.0 < decay <= 1.0:
        raise ConfigError(f"--layer-decay must be in (0, 1], got {decay}")
    spec = model.spec
    depth = len(getattr(model.backbone, spec.blocks))
    scales = {}
    for name, _ in model.named_parameters():
        if not name.startswith("backbone."):
            continue
        inner = name[len("backbone.") :]
        if inner.startswith(tuple(spec.embed)):
            scales[name] = decay ** (depth + 1)
        elif inner.startswith(spec.blocks + "."):
            i = int(inner.split(".")[1])
            scales[name] = decay ** (depth - i)
    return scales


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
    bar = tqdm(total=n, desc="caching features", unit="frame", disable=not progress, leave=False, file=sys.stderr)
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


# ------------------------------------------------------------------------------------------- CLI pieces


def add_common_args(p: argparse.ArgumentParser, *, epochs: int, batch_size: int, base_lr: float) -> None:
    """Flags every ``radiofm finetune TASK`` shares (plus the optimisation flags of ``_args.add_train_args``)."""
    from radiofm.cli import _args

    p.add_argument("--data", required=True, type=Path, help="training dataset folder")
    p.add_argument("--init", type=Path, default=None, help="pretrained backbone checkpoint (run folder)")
    p.add_argument("--out", required=True, type=Path, help="run folder = fine-tuned checkpoint")
    p.add_argument("--mode", choices=MODES, default="frozen", help="what is trained (default frozen)")
    p.add_argument("--k", type=_args.positive_int, default=2, help="last-k: backbone blocks trained (default 2)")
    p.add_argument("--lora-rank", type=_args.positive_int, default=8, help="lora: adapter rank (default 8)")
    p.add_argument("--lora-alpha", type=_args.positive_float, default=None, help="lora: scale alpha (default rank)")
    p.add_argument(
        "--layer-decay",
        type=_args.positive_float,
        default=None,
        help="lr scale decay^(depth-i) for backbone block i (default 0.75 in full mode, else off)",
    )
    p.add_argument("--model", type=_args.model_name, default=None, help="scratch without --init: architecture")
    p.add_argument("--image-size", type=_args.size2, default=None, help="backbone input (F, T); default: --init's")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out fraction for validation (default 0.1)")
    p.add_argument(
        "--no-cache-features",
        action="store_true",
        help="frozen mode: run the backbone every epoch (enables augmentation) instead of caching its features once",
    )
    _args.add_train_args(p, epochs=epochs, batch_size=batch_size, base_lr=base_lr, warmup=1.0, weight_decay=0.05)


def add_classification_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing alpha (default 0.1)")
    p.add_argument(
        "--class-weights",
        choices=("none", "inverse-frequency"),
        default="none",
        help="weight the loss per class (default none)",
    )


def check_common_args(args: argparse.Namespace) -> None:
    if args.mode != "scratch" and args.init is None:
        raise ConfigError(f"--mode {args.mode} needs --init (a pretrained backbone checkpoint)")
    if args.mode == "scratch" and args.init is None and args.model is None:
        raise ConfigError("--mode scratch needs --init or --model to name the architecture")
    if not 0.0 <= args.val_fraction < 0.9:
        raise ConfigError(f"--val-fraction must be in [0, 0.9), got {args.val_fraction}")
    if args.layer_decay is not None and not 0.0 < args.layer_decay <= 1.0:
        raise ConfigError(f"--layer-decay must be in (0, 1], got {args.layer_decay}")
    if hasattr(args, "label_smoothing") and not 0.0 <= args.label_smoothing < 1.0:
        raise ConfigError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")


def backbone_config(args: argparse.Namespace) -> tuple[str, dict, dict | None]:
    """(family, backbone config dict, init info or None) from --init / --model / --image-size."""
    import dataclasses

    from radiofm.models import get_config
    from radiofm.models.registry import get_family

    if args.init is not None:
        info = read_init(args.init)
        family, config = info["family"], dict(info["config"])
    else:
        info, family = None, get_family(args.model)
        config = dataclasses.asdict(get_config(args.model))
    if args.image_size is not None:
        config["img_size"] = list(args.image_size)
    return family, config, info


def optimizer_groups(model: FineTuneModel, args: argparse.Namespace) -> list[dict]:
    from radiofm.train import param_groups

    decay = args.layer_decay if args.layer_decay is not None else (0.75 if args.mode == "full" else None)
    scales = layer_decay_scales(model, decay) if decay not in (None, 1.0) else None
    return param_groups(model, args.weight_decay, lr_scales=scales)


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
