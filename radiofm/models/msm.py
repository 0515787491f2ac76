"""Radio sentences' padding and masked spectrogram modelling (MSM), paper A §III-B (SPEC §3).

A radio sentence is a sequence of spectrogram tokens x: (B, T, C, H, W); ``lengths`` (B,) marks the real
tokens of a variable-length batch (:func:`valid_mask`). :func:`mask_tokens` replaces ≈20 % of each sentence's
real tokens with white Gaussian noise of that sentence's mean and std; :func:`msm_loss` is the MSE over masked
tokens only. Mask convention, as for the MAE: **1 = masked**. The ConvLSTM that learns from it is
:mod:`radiofm.models.convlstm`.
"""

from __future__ import annotations

import torch

from radiofm.errors import ConfigError


def valid_mask(lengths: torch.Tensor | None, B: int, T: int, device) -> torch.Tensor | None:
    """lengths: (B,) -> (B, T) bool, True at real (non-padding) steps; None when there is no padding."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.shape != (B,) or bool((lengths < 1).any()) or bool((lengths > T).any()):
        raise ValueError(f"lengths must be (B,)={B} ints in [1, T={T}], got {lengths.tolist()}")
    return torch.arange(T, device=device)[None, :] < lengths[:, None]


def _draw(shape, generator: torch.Generator | None, device, fn) -> torch.Tensor:
    """A draw from ``generator`` (on its own device), moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    return fn(shape, generator=generator, device=gen_device).to(device)


def mask_tokens(
    x: torch.Tensor,
    lengths: torch.Tensor | None = None,
    *,
    mask_ratio: float = 0.2,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask ≈``mask_ratio`` of each sentence's real tokens with white noise of the sentence's mean and std.

    x: (B, T, C, H, W); lengths: (B,) real tokens per sentence (None: all T). Sentence b gets
    max(1, round(mask_ratio · lengths[b])) masked tokens chosen uniformly among its real ones (never padding).
    Each masked token becomes i.i.d. N(μ_b, σ_b²) noise, μ_b and σ_b the mean and (population) std over all
    values of sentence b's real tokens. Every draw comes from ``generator``.
    Returns (x_masked (B, T, C, H, W), mask (B, T) bool, True = masked); x itself is not modified.
    """
    if not 0.0 < mask_ratio <= 1.0:
        raise ConfigError(f"mask_ratio must be in (0, 1], got {mask_ratio}")
    B, T = x.shape[:2]
    valid = valid_mask(lengths, B, T, x.device)
    if valid is None:
        valid = torch.ones(B, T, dtype=torch.bool, device=x.device)
    n_real = valid.sum(1)  # (B,)
    n_mask = torch.clamp(torch.round(n_real.double() * mask_ratio).long(), min=1)
    n_mask = torch.minimum(n_mask, n_real)
    # random ranks among real tokens (padding pushed last), keep the n_mask lowest
    scores = _draw((B, T), generator, x.device, torch.rand).masked_fill(~valid, 2.0)
    ranks = scores.argsort(dim=1).argsort(dim=1)
    mask = ranks < n_mask[:, None]
    # per-sentence statistics over real tokens only
    w = valid[:, :, None, None, None].to(x.dtype)
    count = n_real.to(x.dtype) * x[0, 0].numel()
    mean = (x * w).sum(dim=(1, 2, 3, 4)) / count
    var = (((x - mean[:, None, None, None, None]) * w) ** 2).sum(dim=(1, 2, 3, 4)) / count
    std = var.sqrt()
    b_idx = mask.nonzero()[:, 0]
    noise = _draw((b_idx.numel(), *x.shape[2:]), generator, x.device, torch.randn).to(x.dtype)
    x_masked = x.clone()
    x_masked[mask] = noise * std[b_idx, None, None, None] + mean[b_idx, None, None, None]
    return x_masked, mask


def msm_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE over masked tokens only (paper A eq. 1).

    pred, target: (B, T, C, H, W); mask: (B, T), 1 = masked. Returns
    Σ_{b,t} mask[b,t] · ||vec(target[b,t]) − vec(pred[b,t])||² / (C·H·W)  /  Σ mask,
    i.e. the mean over masked tokens of the per-value squared error (the token size normalises the norm so the
    loss reads as a per-pixel MSE, independent of the token shape). Unmasked and padding tokens contribute nothing.
    """
    per_token = (pred - target).pow(2).flatten(2).mean(dim=2)  # (B, T)
    m = mask.to(per_token.dtype)
    return (per_token * m).sum() / m.sum().clamp(min=1.0)
