"""Task heads that sit on a backbone's features, and the head-type registry that rebuilds them from config dicts.

Shapes: B batch, L = gf * gt tokens on the backbone's (F/p, T/p) patch grid, D backbone width, Dh head width,
C classes, p patch side, (H, W) = (gf * p, gt * p) the backbone's input size.

A head config dict (as stored in a fine-tuned checkpoint's config.json) names its ``"type"`` (a key of
:data:`HEAD_TYPES`: ``"transformer"`` → :class:`TransformerSegHead`, ``"conv2d"`` → :class:`ConvSegHead`,
``"pooled"`` → :class:`PooledHead`) and,
for the "mix" readout, ``"mix_levels"`` (the head is then wrapped in a :class:`LevelMix`); :func:`build_head`
builds it. Which head a backbone family gets is its :class:`radiofm.models.backbones.BackboneSpec`'s choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models.vit import Block, init_vit_weights, sincos_pos_embed_2d

MAX_HEAD_DEPTH = 64  # a deeper or wider head is a typo: it would take hours and gigabytes before saying so
MAX_HEAD_WIDTH = 8192


@dataclass
class SegHeadConfig:
    """Paper-B segmentation head: token projection, transformer blocks, per-patch linear to pixel logits."""

    in_dim: int = 192  # backbone token width D
    grid_size: tuple[int, int] = (14, 14)  # backbone patch grid (gf, gt)
    patch_size: int = 16  # backbone patch side p: each token predicts a p x p block of pixels
    num_classes: int = 3  # C (noise, NR, LTE)
    embed_dim: int = 192  # head width Dh (multiple of 4 and of num_heads)
    depth: int = 2  # transformer blocks (paper B: 2)
    num_heads: int = 3  # attention heads
    mlp_ratio: float = 4.0  # MLP hidden width / Dh

    def __post_init__(self) -> None:
        self.grid_size = tuple(int(g) for g in self.grid_size)
        if len(self.grid_size) != 2 or min(self.grid_size) < 1:
            raise ConfigError(f"head grid_size must be two positive ints, got {self.grid_size}")
        if self.embed_dim <= 0 or self.embed_dim % 4 or self.num_heads <= 0 or self.embed_dim % self.num_heads:
            raise ConfigError(f"head width {self.embed_dim} must be a positive multiple of 4 and of {self.num_heads}")
        if not 0 <= self.depth <= MAX_HEAD_DEPTH:
            raise ConfigError(f"head depth must be 0..{MAX_HEAD_DEPTH} transformer blocks, got {self.depth}")
        if self.embed_dim > MAX_HEAD_WIDTH:
            raise ConfigError(f"head width must be at most {MAX_HEAD_WIDTH}, got {self.embed_dim}")
        for name, value, low in (("num_classes", self.num_classes, 2), ("patch_size", self.patch_size, 1),
                                 ("in_dim", self.in_dim, 1)):  # fmt: skip
            if value < low:
                raise ConfigError(f"head {name} must be at least {low}, got {value}")


class TransformerSegHead(nn.Module):
    """Tokens (B, L, D) -> per-pixel class logits (B, C, H, W).

    Linear D -> Dh, fixed 2-D sin-cos positions, ``depth`` pre-norm transformer blocks, LayerNorm, then one
    linear per token to its p*p*C pixel logits, laid back onto the image (the MAE's unpatchify).
    """

    def __init__(self, config: SegHeadConfig):
        super().__init__()
        c = self.config = config
        self.proj = nn.Linear(c.in_dim, c.embed_dim)
        self.register_buffer("pos_embed", sincos_pos_embed_2d(c.embed_dim, c.grid_size)[None], persistent=False)
        self.blocks = nn.ModuleList([Block(c.embed_dim, c.num_heads, mlp_ratio=c.mlp_ratio) for _ in range(c.depth)])
        self.norm = nn.LayerNorm(c.embed_dim, eps=1e-6)
        self.pred = nn.Linear(c.embed_dim, c.patch_size * c.patch_size * c.num_classes)
        self.apply(init_vit_weights)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        c = self.config
        B, L, _ = tokens.shape
        gf, gt = c.grid_size
        if L != gf * gt:
            raise ConfigError(f"segmentation head expects {gf}x{gt}={gf * gt} tokens, got {L}")
        x = self.proj(tokens.to(self.proj.weight.dtype)) + self.pos_embed  # (B, L, Dh)
        for blk in self.blocks:
            x = blk(x)
        x = self.pred(self.norm(x))  # (B, L, p*p*C)
        p, C = c.patch_size, c.num_classes
        x = x.reshape(B, gf, gt, p, p, C).permute(0, 5, 1, 3, 2, 4)  # (B, C, gf, p, gt, p)
        return x.reshape(B, C, gf * p, gt * p)


class LevelMix(nn.Module):
    """Scalar mix of frozen backbone levels, then an inner head: (B, N, L, D) -> inner((B, L, D)).

    Each level is layer-normalised (no affine) so that levels of different scale mix evenly, then summed with
    softmax weights (one learned scalar per level, all equal at the start) — the frozen-encoder readout of the
    SUPERB benchmark for speech foundation models. The weights are part of the head and saved with it.
    """

    def __init__(self, levels: int, inner: nn.Module):
        super().__init__()
        if levels < 1:
            raise ConfigError(f"LevelMix needs at least one level, got {levels}")
        self.levels = levels
        self.level_weights = nn.Parameter(torch.zeros(levels))
        self.inner = inner

    def mix(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 4 or features.shape[1] != self.levels:
            raise ConfigError(f"level mix expects (B, {self.levels}, L, D) features, got {tuple(features.shape)}")
        f = nn.functional.layer_norm(features.float(), features.shape[-1:])
        return torch.einsum("bnld,n->bld", f, self.level_weights.softmax(0))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.inner(self.mix(features))


@dataclass
class ConvSegHeadConfig:
    in_dim: int = 64  # channels D of the backbone's feature map
    num_classes: int = 3  # 0 noise, 1 NR, 2 LTE
    hidden: int = 64  # channels of the first Conv2D
    kernel: int = 3  # kernel of the first Conv2D ('same' padding); the second is 1×1


class ConvSegHead(nn.Module):
    """Two-layer Conv2D classifier (paper A §III-D): feature map (B, D, H, W) -> logits (B, num_classes, H, W)."""

    def __init__(self, config: ConvSegHeadConfig):
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv2d(config.in_dim, config.hidden, config.kernel, padding=config.kernel // 2)
        self.conv2 = nn.Conv2d(config.hidden, config.num_classes, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.relu(self.conv1(feats.to(self.conv1.weight.dtype))))


@dataclass
class PooledHeadConfig:
    """A per-item head: mean over the backbone's tokens, then a linear layer or a small MLP (classification or
    regression; paper B's CSI sensing head is linear on the frozen encoder, the slides' positioning head an MLP)."""

    in_dim: int = 192  # backbone token width D
    out_dim: int = 6  # outputs: classes (logits) or regression targets
    hidden: tuple[int, ...] = ()  # hidden layer widths (GELU between layers); () = one linear layer
    norm: bool = True  # layer-normalise the pooled features (no affine: a fixed, per-item feature scaling)
    dropout: float = 0.0  # dropout before each linear layer (training only)
    groups: int = 1  # token groups pooled apart and concatenated (channels encoded separately: one per channel)

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        bad = self.in_dim < 1 or self.out_dim < 1 or not 1 <= self.groups <= 1024
        if bad or any(h < 1 for h in self.hidden) or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"invalid PooledHeadConfig: {self}")


class PooledHead(nn.Module):
    """Tokens (B, L, D) -> (B, out_dim): mean over L, optional LayerNorm (no affine), linear / MLP.

    With ``groups`` G > 1 the L tokens are G consecutive groups (channel-major, one per separately encoded
    channel): each group is pooled and normalised on its own and the G vectors are concatenated (G·D inputs).
    """

    def __init__(self, config: PooledHeadConfig):
        super().__init__()
        c = self.config = config
        self.norm = nn.LayerNorm(c.in_dim, eps=1e-6, elementwise_affine=False) if c.norm else nn.Identity()
        layers: list[nn.Module] = []
        width = c.in_dim * c.groups
        for h in c.hidden:
            layers += [nn.Dropout(c.dropout), nn.Linear(width, h), nn.GELU()]
            width = h
        layers += [nn.Dropout(c.dropout), nn.Linear(width, c.out_dim)]
        self.mlp = nn.Sequential(*layers)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02 if c.hidden else 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        g = self.config.groups
        if tokens.ndim != 3 or tokens.shape[-1] != self.config.in_dim or tokens.shape[1] % g:
            raise ConfigError(
                f"pooled head expects (B, L, {self.config.in_dim}) tokens with L a multiple of {g}, "
                f"got {tuple(tokens.shape)}"
            )
        pooled = self.norm(tokens.float().reshape(tokens.shape[0], g, -1, tokens.shape[-1]).mean(dim=2))
        return self.mlp(pooled.flatten(1))


# head "type" -> builder from the head config dict (without "type" and "mix_levels")
HEAD_TYPES: dict[str, Callable[[dict], nn.Module]] = {}


def register_head_type(name: str, builder: Callable[[dict], nn.Module]) -> None:
    """Let :func:`build_head` build heads of type ``name`` (re-registering replaces the builder)."""
    HEAD_TYPES[name] = builder


register_head_type("transformer", lambda c: TransformerSegHead(SegHeadConfig(**c)))
register_head_type("conv2d", lambda c: ConvSegHead(ConvSegHeadConfig(**c)))
register_head_type("pooled", lambda c: PooledHead(PooledHeadConfig(**c)))


def build_head(config: dict) -> nn.Module:
    """The head a config dict describes; ``mix_levels`` (readout "mix") wraps it in a :class:`LevelMix`."""
    kind = config.get("type", "transformer")
    if kind not in HEAD_TYPES:
        raise ConfigError(f"unknown head type {kind!r}; known: {', '.join(sorted(HEAD_TYPES))}")
    head = HEAD_TYPES[kind]({k: v for k, v in config.items() if k not in ("type", "mix_levels")})
    return LevelMix(int(config["mix_levels"]), head) if config.get("mix_levels") else head


__all__ = [
    "HEAD_TYPES",
    "ConvSegHead",
    "ConvSegHeadConfig",
    "LevelMix",
    "PooledHead",
    "PooledHeadConfig",
    "SegHeadConfig",
    "TransformerSegHead",
    "build_head",
    "register_head_type",
]
