"""The fine-tuned model: a pretrained backbone + a task head, its fine-tuning modes, and its checkpoint kinds.

A fine-tuned model is a :class:`FineTuneModel`: a pretrained backbone (its pretraining-only parts, such as the
MAE decoder, removed) plus a task head, with the input normalisation inside the model so that whoever loads
the checkpoint feeds it spectrograms in dB and nothing else. Its ``config`` is a plain dict::

    {"task": "segmentation", "backbone_family": "mae", "backbone": {MAEConfig fields},
     "head": {head config, see radiofm.models.heads}, "input": {"norm": "per-sample" | "dataset", "mean_db",
     "std_db"}, "readout": "last" | "mix", "lora": null | {"rank": r, "alpha": a},
     "channels": "joint" | "separate", ...}

so :func:`rebuild` makes it again from config.json alone: every kind in :data:`FINETUNED_KINDS` loads with
``radiofm.models.load_checkpoint(path)``. Backbone families come from :mod:`radiofm.models.backbones`.

Modes (SPEC §4), set by :func:`configure_mode` — for a :class:`FineTuneModel` and for any model with the same
face (``backbone``, ``head``, ``spec``), e.g. :class:`radiofm.models.forecaster.ConvLSTMForecaster`:

- ``frozen``  backbone frozen (a :class:`FineTuneModel` keeps it in eval mode), head trained (paper B's protocol)
- ``last-k``  the last k backbone blocks and the final norm trained too
- ``lora``    rank-r adapters on the attention qkv/proj linears; base weights frozen
- ``full``    everything trained (with layer-wise lr decay: :func:`layer_decay_scales`)
- ``scratch`` the same architecture, randomly initialised, everything trained

Channels (``config["channels"]``, for C-channel inputs such as 4 base stations' CSI): ``"joint"`` (default) feeds
the C channels to one backbone that takes C channels; ``"separate"`` keeps a 1-channel backbone and encodes each
channel on its own with the same weights, so the head receives C·L tokens, channel-major, and knows which channel
each came from (:class:`~radiofm.models.heads.PooledHead` ``groups``). A frozen single-channel pretrained
encoder then sees inputs like the ones it was pretrained on, and channels that differ in meaning (one per base
station) are not mixed before the encoder.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from radiofm.errors import CheckpointError, ConfigError
from radiofm.models.backbones import BACKBONES, backbone_spec
from radiofm.models.checkpoint import check_checkpoint, load_backbone_weights, read_checkpoint_info, register_kind
from radiofm.models.checkpoint_check import check_finetune_config
from radiofm.models.heads import build_head
from radiofm.models.lora import apply_lora
from radiofm.models.registry import config_from_dict, model_from_config

MODES = ("frozen", "last-k", "lora", "full", "scratch")
NORMS = ("per-sample", "dataset")
# what the head reads from the backbone: "last" its final output (paper B), "mix" a learned mix of every level
READOUTS = ("last", "mix")
# how a C-channel input meets the backbone: "joint" one C-channel backbone, "separate" each channel on its own
CHANNELS = ("joint", "separate")
LORA_SEED_SALT = 13  # configure_mode's LoRA init generator: SeedSequence([seed, 13])
# checkpoint kinds whose model is a FineTuneModel (one per fine-tuning task that trains a head on a backbone)
FINETUNED_KINDS = ("segmentation", "sensing", "positioning", "signals")


def build_backbone(family: str, config: dict) -> nn.Module:
    """The ``family`` model from a config dict, with its pretraining-only modules removed."""
    spec = backbone_spec(family)
    model = model_from_config(family, config)
    for name in spec.dropped:
        if hasattr(model, name):
            delattr(model, name)
    return model


def read_init(init: str | Path) -> dict:
    """config.json of a pretrained backbone checkpoint; CheckpointError when it is not one, or when its config
    does not describe its weights (checked as :func:`~radiofm.models.checkpoint.load_checkpoint` would, before the
    fine-tuning builds a backbone from it)."""
    info = read_checkpoint_info(init)
    spec = BACKBONES.get(info.get("family"))
    if spec is None or info["kind"] not in spec.kinds:
        kinds = sorted(k for s in BACKBONES.values() for k in s.kinds)
        raise CheckpointError(
            f"{init} is a {info['kind']!r} checkpoint, expected a pretrained backbone ({', '.join(map(repr, kinds))})"
        )
    info = check_checkpoint(init, info)
    config = dataclasses.asdict(config_from_dict(info["family"], info["config"]))  # absent fields: their defaults
    return {**info, "config": config}


def load_backbone_into(model: FineTuneModel, init: str | Path) -> dict:
    """Copy the backbone weights of checkpoint ``init`` into ``model.backbone``.

    Exactly the head may be left without weights and exactly the pretraining-only tensors may be left over;
    anything else (another architecture, a truncated file) raises CheckpointError naming the keys.
    """
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
        if self.channels not in CHANNELS:
            raise ConfigError(f"channels must be one of {', '.join(CHANNELS)}, got {self.channels!r}")
        if self.channels == "separate" and (self.readout != "last" or int(config["backbone"].get("in_chans", 1)) != 1):
            raise ConfigError("channels 'separate' needs a 1-channel backbone and readout 'last'")

    @property
    def channels(self) -> str:
        return self.config.get("channels") or "joint"

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
        x = self.normalize(x_db)
        if self.channels == "separate":  # (B, C, F, T) -> (B*C, 1, F, T) -> (B*C, L, D) -> (B, C*L, D)
            b, c = x.shape[:2]
            with ctx:
                tokens = features(self.backbone, x.reshape(b * c, 1, *x.shape[2:]))
            return tokens.reshape(b, c * tokens.shape[1], tokens.shape[2])
        with ctx:
            return features(self.backbone, x)

    def forward(self, x_db: torch.Tensor | None = None, *, features: torch.Tensor | None = None) -> torch.Tensor:
        """The head's output for dB spectrograms, or for the backbone's ``features`` (a frozen backbone's, cached).

        Cached features go through here too, not through ``.head``: under DistributedDataParallel only the wrapper's
        forward makes the processes average their gradients (each trained a model of its own before)."""
        return self.head(features if features is not None else self.encode(x_db))

    def train(self, mode: bool = True) -> FineTuneModel:
        super().train(mode)
        if mode and self.backbone_frozen:  # a frozen backbone is a fixed feature extractor: no dropout/BN drift
            self.backbone.eval()
        return self

    def no_weight_decay(self) -> set[str]:
        inner = getattr(self.backbone, "no_weight_decay", lambda: set())()
        return {f"backbone.{n}" for n in inner}


def rebuild(config: dict, head_builder: Callable[[dict], nn.Module] = build_head) -> FineTuneModel:
    """A :class:`FineTuneModel` from its config dict (checkpoint builders): backbone, head, LoRA structure."""
    backbone = build_backbone(config["backbone_family"], config["backbone"])
    model = FineTuneModel(backbone, head_builder(config["head"]), config)
    if config.get("lora"):
        apply_lora(model.backbone, rank=int(config["lora"]["rank"]), alpha=config["lora"]["alpha"],
                   targets=model.spec.lora_targets)  # fmt: skip
    return model


for _kind in FINETUNED_KINDS:
    register_kind(_kind, lambda config, extra: rebuild(config), check=check_finetune_config)


# ------------------------------------------------------------------------------------------- modes


def configure_mode(
    model: nn.Module,
    mode: str,
    *,
    k: int = 2,
    lora_rank: int = 8,
    lora_alpha: float | None = None,
    seed: int = 0,
) -> dict:
    """Set ``requires_grad`` for ``mode`` (see the module docstring); returns the mode settings for the checkpoint.

    ``model`` has a ``backbone``, a ``head`` and a ``spec`` (its family's BackboneSpec). ``seed`` draws the LoRA
    adapters' initial A matrices (mode "lora"), from ``SeedSequence([seed, LORA_SEED_SALT])``.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    spec = model.spec
    if mode == "lora" and not spec.lora_targets:
        raise ConfigError(
            f"LoRA needs attention layers; the {spec.family} backbone has none (use frozen, last-k, full or scratch)"
        )
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
        state = np.random.SeedSequence([seed, LORA_SEED_SALT]).generate_state(1)[0]
        gen = torch.Generator().manual_seed(int(state))
        apply_lora(model.backbone, rank=lora_rank, alpha=lora_alpha, targets=spec.lora_targets, generator=gen)
        for name, p in model.backbone.named_parameters():
            p.requires_grad_(name.rsplit(".", 1)[-1].startswith("lora_"))
        model.config["lora"] = {"rank": lora_rank, "alpha": float(lora_rank if lora_alpha is None else lora_alpha)}
        settings.update(lora_rank=lora_rank, lora_alpha=model.config["lora"]["alpha"])
    model.train()
    return settings


def trainable_parameters(model: nn.Module) -> list[str]:
    """Names of the parameters that train, in ``named_parameters`` order."""
    return [name for name, p in model.named_parameters() if p.requires_grad]


def layer_decay_scales(model: nn.Module, decay: float) -> dict[str, float]:
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


__all__ = [
    "FINETUNED_KINDS",
    "MODES",
    "NORMS",
    "READOUTS",
    "FineTuneModel",
    "build_backbone",
    "configure_mode",
    "layer_decay_scales",
    "load_backbone_into",
    "read_init",
    "rebuild",
    "trainable_parameters",
]
