"""Low-rank adapters (LoRA, Hu et al. 2021) for any ``nn.Linear``.

``y = x W^T + b + (alpha / r) * x A^T B^T`` with A: (r, in), B: (out, r). B starts at zero, so a freshly
wrapped layer computes exactly what the base layer did. :class:`LoRALinear` *is* an ``nn.Linear`` (same
``weight``/``bias`` names), so a backbone checkpoint loads into a wrapped model unchanged; only ``lora_a`` and
``lora_b`` are new. ``merge`` folds the update into ``weight`` for inference; ``unmerge`` takes it back out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from radiofm.errors import ConfigError


class LoRALinear(nn.Linear):
    """A linear layer plus a trainable rank-``rank`` update. x: (..., in) -> (..., out)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        rank: int,
        alpha: float | None = None,
        bias=True,
        generator: torch.Generator | None = None,
    ):
        super().__init__(in_features, out_features, bias=bias)
        if not isinstance(rank, int) or rank < 1 or rank > min(in_features, out_features):
            raise ConfigError(f"LoRA rank must be in 1..{min(in_features, out_features)}, got {rank!r}")
        self.rank = rank
        self.alpha = float(rank if alpha is None else alpha)
        self.scaling = self.alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, in_features))
        self.lora_b = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5), generator=generator)
        self.merged = False

    @classmethod
    def from_linear(
        cls, base: nn.Linear, *, rank: int, alpha: float | None = None, generator: torch.Generator | None = None
    ) -> LoRALinear:
        """A LoRA layer sharing ``base``'s weight and bias tensors (no copy); ``generator`` draws A's init."""
        layer = cls(
            base.in_features, base.out_features, rank=rank, alpha=alpha, bias=base.bias is not None, generator=generator
        )
        layer.to(device=base.weight.device, dtype=base.weight.dtype)
        layer.weight = base.weight
        layer.bias = base.bias
        return layer

    def delta(self) -> torch.Tensor:
        """The low-rank update (out, in) = scaling * B @ A."""
        return (self.lora_b @ self.lora_a) * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        if self.merged:
            return y
        return y + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into ``weight`` (inference: one matmul). Idempotent."""
        if not self.merged:
            self.weight += self.delta()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Undo :meth:`merge`. Idempotent."""
        if self.merged:
            self.weight -= self.delta()
            self.merged = False

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.rank}, alpha={self.alpha:g}"


def apply_lora(
    module: nn.Module,
    *,
    rank: int,
    alpha: float | None = None,
    targets: tuple[str, ...] = ("attn.qkv", "attn.proj"),
    generator: torch.Generator | None = None,
) -> list[str]:
    """Replace every ``nn.Linear`` in ``module`` whose name ends with one of ``targets`` by a :class:`LoRALinear`.

    The adapters' A matrices are drawn from ``generator`` (in module order; None: a fixed seed 0, never the global
    RNG). Returns the replaced names (sorted). ConfigError when nothing matches (a wrong target list).
    """
    found = [
        (name, sub)
        for name, sub in module.named_modules()
        if isinstance(sub, nn.Linear) and not isinstance(sub, LoRALinear) and name.endswith(tuple(targets))
    ]
    if not found:
        raise ConfigError(f"LoRA: no linear layer of {type(module).__name__} matches {', '.join(targets)}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    for name, sub in found:
        parent_name, _, attr = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attr, LoRALinear.from_linear(sub, rank=rank, alpha=alpha, generator=generator))
    return sorted(name for name, _ in found)


def lora_layers(module: nn.Module) -> list[LoRALinear]:
    return [m for m in module.modules() if isinstance(m, LoRALinear)]


def merge_lora(module: nn.Module) -> int:
    """Merge every LoRA layer in ``module``; returns how many."""
    layers = lora_layers(module)
    for m in layers:
        m.merge()
    return len(layers)


def unmerge_lora(module: nn.Module) -> int:
    """Unmerge every LoRA layer in ``module``; returns how many."""
    layers = lora_layers(module)
    for m in layers:
        m.unmerge()
    return len(layers)


__all__ = ["LoRALinear", "apply_lora", "lora_layers", "merge_lora", "unmerge_lora"]
