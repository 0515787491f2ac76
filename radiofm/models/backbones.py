"""Backbone families for fine-tuning: what the framework needs to know about a model family, by name.

Each family registers its :class:`BackboneSpec` where its class is defined (:mod:`radiofm.models.mae`,
:mod:`radiofm.models.convlstm`); :mod:`radiofm.models` imports every family module, so the registry is complete
whenever anything in ``radiofm.models`` is importable. :mod:`radiofm.models.finetuned` builds the fine-tuned
model (backbone + head) from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from radiofm.errors import ConfigError


@dataclass(frozen=True)
class BackboneSpec:
    """How the fine-tuning framework uses one model family as a backbone."""

    family: str  # model family ("mae", "convlstm")
    kinds: tuple[str, ...]  # checkpoint kinds accepted as a pretrained backbone (--init)
    dropped: tuple[str, ...]  # module/checkpoint names fine-tuning removes (pretraining-only parts)
    blocks: str  # name of the backbone's nn.ModuleList of blocks, in depth order (last-k, layer decay)
    final: tuple[str, ...]  # parameters after the blocks (trained with last-k)
    embed: tuple[str, ...]  # parameters before the blocks (layer-decay depth 0)
    lora_targets: tuple[str, ...]  # linear layer name suffixes that get LoRA adapters; () = no LoRA
    features: Callable[[nn.Module, torch.Tensor], torch.Tensor]  # (backbone, x) -> features
    # (backbone, x) -> every level's features stacked on dim 1, for the "mix" readout; None: not supported
    levels: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None
    n_levels: Callable[[dict], int] | None = None  # backbone config -> how many levels ``levels`` returns
    # (backbone config, classes, options {"embed_dim", "depth", "num_heads"}) -> config dict of a per-pixel
    # classification head on these features (a head type of radiofm.models.heads); None: no such head
    dense_head: Callable[[dict, int, dict], dict] | None = None


BACKBONES: dict[str, BackboneSpec] = {}


def register_backbone(spec: BackboneSpec) -> None:
    """Make family ``spec.family`` usable as a fine-tuning backbone (re-registering replaces it)."""
    BACKBONES[spec.family] = spec


def backbone_spec(family: str | None) -> BackboneSpec:
    """The registered spec of ``family``; ConfigError naming the supported families otherwise."""
    if family not in BACKBONES:
        raise ConfigError(f"model family {family!r} cannot be fine-tuned; supported: {', '.join(sorted(BACKBONES))}")
    return BACKBONES[family]


__all__ = ["BACKBONES", "BackboneSpec", "backbone_spec", "register_backbone"]
