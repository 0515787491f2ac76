"""Task heads that sit on a backbone's token features.

Shapes: B batch, L = gf * gt tokens on the backbone's (F/p, T/p) patch grid, D backbone width, Dh head width,
C classes, p patch side, (H, W) = (gf * p, gt * p) the backbone's input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models.vit import Block, init_vit_weights, sincos_pos_embed_2d


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
        if self.depth < 0 or self.num_classes < 2 or self.patch_size < 1 or self.in_dim < 1:
            raise ConfigError(f"invalid SegHeadConfig: {self}")


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


__all__ = ["LevelMix", "SegHeadConfig", "TransformerSegHead"]
