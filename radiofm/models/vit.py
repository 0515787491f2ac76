"""Vision-transformer building blocks shared by the MAE and the fine-tuning heads.

Shapes: B batch, L tokens, D width, H heads. Everything here is shape-agnostic in L, so the same
:class:`Block` serves the encoder (visible patches only), the decoder (all patches) and task heads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from radiofm.errors import ConfigError


def sincos_pos_embed_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """Fixed sine-cosine embedding of 1-D positions.

    dim: even width; positions: (L,) float. Returns (L, dim): sines in the first half, cosines in the second,
    frequencies 1/10000^(i/(dim/2)) as in "Attention is all you need".
    """
    if dim % 2:
        raise ConfigError(f"sin-cos embedding width must be even, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))  # (dim/2,)
    angles = positions.to(torch.float64)[:, None] * omega[None, :]  # (L, dim/2)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def sincos_pos_embed_2d(dim: int, grid_size: tuple[int, int], *, cls_token: bool = False) -> torch.Tensor:
    """Fixed 2-D sine-cosine embedding of a rectangular (F, T) patch grid, row-major (frequency rows first).

    The first dim/2 channels encode the row (frequency) index, the last dim/2 the column (time) index.
    Returns float32 (L, dim) with L = gf * gt, or (1 + L, dim) with a leading zero row for the cls token.
    """
    if dim % 4:
        raise ConfigError(f"2-D sin-cos embedding width must be a multiple of 4, got {dim}")
    gf, gt = grid_size
    rows = torch.arange(gf).repeat_interleave(gt)  # (L,) frequency index of each patch
    cols = torch.arange(gt).repeat(gf)  # (L,) time index of each patch
    emb = torch.cat([sincos_pos_embed_1d(dim // 2, rows), sincos_pos_embed_1d(dim // 2, cols)], dim=1)  # (L, D)
    if cls_token:
        emb = torch.cat([torch.zeros(1, dim, dtype=emb.dtype), emb], dim=0)
    return emb.float()


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection and PyTorch's fused SDPA kernel.

    x: (B, L, D) -> (B, L, D).
    """

    def __init__(self, dim: int, num_heads: int, *, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, L, D); rows: optional (B, M) token indices -> the output at those rows only, (B, M, D).

        With ``rows`` the queries (and so the attention and the output projection) are computed for those rows
        only, against keys and values of every token: the same numbers as ``forward(x)`` gathered at ``rows``.
        """
        B, L, D = x.shape
        if rows is not None:
            return self._forward_rows(x, rows)
        qkv = self.qkv(x).view(B, L, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, H, L, Dh)
        q, k, v = qkv.unbind(0)  # each (B, H, L, Dh), strided views: no copy
        out = F.scaled_dot_product_attention(q, k, v)  # (B, H, L, Dh)
        return self.proj(out.transpose(1, 2).reshape(B, L, D))

    def _forward_rows(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        M = rows.shape[1]
        H, Dh = self.num_heads, self.head_dim
        if isinstance(self.qkv, nn.Linear):  # split the fused projection: queries for M rows, keys/values for L
            w, b = self.qkv.weight, self.qkv.bias
            q = F.linear(gather_rows(x, rows), w[:D], None if b is None else b[:D])  # (B, M, D)
            kv = F.linear(x, w[D:], None if b is None else b[D:])  # (B, L, 2D)
        else:  # a wrapped projection (LoRA): compute it whole
            qkv = self.qkv(x)
            q, kv = gather_rows(qkv[..., :D], rows), qkv[..., D:]
        q = q.view(B, M, H, Dh).transpose(1, 2)  # (B, H, M, Dh)
        k, v = kv.view(B, L, 2, H, Dh).permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, L, Dh)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, H, M, Dh)
        return self.proj(out.transpose(1, 2).reshape(B, M, D))


def gather_rows(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """x: (B, L, D), rows: (B, M) int64 -> (B, M, D), x[b, rows[b, m]]."""
    return torch.gather(x, 1, rows.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class Mlp(nn.Module):
    """Two-layer GELU perceptron. x: (B, L, D) -> (B, L, D)."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)). x: (B, L, D) -> (B, L, D)."""

    def __init__(
        self, dim: int, num_heads: int, *, mlp_ratio: float = 4.0, qkv_bias: bool = True, norm_eps: float = 1e-6
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(round(dim * mlp_ratio)))

    def forward(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """rows: optional (B, M) token indices -> only those rows of the output, (B, M, D) (see :class:`Attention`)."""
        if rows is None:
            x = x + self.attn(self.norm1(x))
        else:
            x = gather_rows(x, rows) + self.attn(self.norm1(x), rows)
        return x + self.mlp(self.norm2(x))


def init_vit_weights(module: nn.Module) -> None:
    """MAE-style initialisation, for ``model.apply``: xavier-uniform linears with zero bias, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def check_grid(img_size: tuple[int, int], patch_size: int) -> tuple[int, int]:
    """Return the patch grid (F/p, T/p) of an (F, T) image; ConfigError when p does not divide both sides."""
    f, t = img_size
    if patch_size <= 0 or f % patch_size or t % patch_size or f <= 0 or t <= 0:
        raise ConfigError(f"image size {f}x{t} is not a positive multiple of patch size {patch_size}")
    return f // patch_size, t // patch_size


__all__ = [
    "Attention",
    "Block",
    "Mlp",
    "check_grid",
    "gather_rows",
    "init_vit_weights",
    "sincos_pos_embed_1d",
    "sincos_pos_embed_2d",
]
