"""Masked spectrogram modeling (MSM) as a task for the one training loop."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from radiofm.errors import ConfigError


@dataclass
class MAEPretrainTask:
    """ViT-MAE pretraining: mask ``mask_ratio`` of the patches, reconstruct them (loss on masked patches only)."""

    mask_ratio: float = 0.75
    kind: str = "mae"

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask ratio must be in (0, 1), got {self.mask_ratio}")

    def step(self, model, batch: torch.Tensor, *, generator: torch.Generator, train: bool):
        """batch: (B, C, F, T) normalised spectrograms."""
        loss, _pred, _mask = model(batch, mask_ratio=self.mask_ratio, generator=generator)
        return loss, {}
