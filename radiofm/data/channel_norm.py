"""Resize multi-channel images and standardise each channel with statistics of a training set.

Used by the CSI sensing (NTU-Fi, paper B §II-B: resize to 3 × 224 × 224, then per-channel standardisation with
dataset-wide statistics) and the positioning (one channel per base station) datasets. The statistics come from
the TRAIN split only and travel with the model (``to_dict``/``from_dict``), so evaluation on the test split
reuses them and never looks at test data to normalise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from radiofm.dsp import resize
from radiofm.errors import ConfigError


@dataclass(frozen=True)
class ChannelNorm:
    """x (C, h, w) -> bilinear resize to ``image_size`` -> (x - mean[c]) / std[c], float32 (C, H, W)."""

    image_size: tuple[int, int]  # (H, W) after resizing
    mean: tuple[float, ...]  # per-channel mean of the resized training images
    std: tuple[float, ...]  # per-channel standard deviation (population) of the resized training images
    source: str = ""  # what the statistics were computed on, for the record (e.g. "ntufi train, 936 files")

    def __post_init__(self) -> None:
        size = tuple(int(v) for v in self.image_size)
        if len(size) != 2 or min(size) <= 0:
            raise ConfigError(f"ChannelNorm image_size must be two positive integers, got {self.image_size!r}")
        mean = tuple(float(v) for v in self.mean)
        std = tuple(float(v) for v in self.std)
        if not mean or len(mean) != len(std):
            raise ConfigError(f"ChannelNorm needs one mean and one std per channel, got {len(mean)} and {len(std)}")
        if not all(np.isfinite(mean)) or not all(np.isfinite(std)) or min(std) <= 0:
            raise ConfigError(f"ChannelNorm statistics must be finite with std > 0, got mean={mean} std={std}")
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def n_channels(self) -> int:
        return len(self.mean)

    def resize(self, x: np.ndarray) -> np.ndarray:
        """(C, h, w) -> float32 (C, H, W), bilinear with anti-aliasing when shrinking (:func:`radiofm.dsp.resize`)."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[0] != self.n_channels:
            raise ConfigError(f"expected a ({self.n_channels}, H, W) image, got shape {x.shape}")
        return resize(x.astype(np.float32, copy=False), self.image_size).astype(np.float32, copy=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self.resize(x)
        y -= np.asarray(self.mean, np.float32)[:, None, None]
        y /= np.asarray(self.std, np.float32)[:, None, None]
        return y

    def to_dict(self) -> dict:
        return {
            "image_size": list(self.image_size),
            "mean": list(self.mean),
            "std": list(self.std),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ChannelNorm:
        try:
            return cls(image_size=tuple(d["image_size"]), mean=d["mean"], std=d["std"], source=d.get("source", ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a ChannelNorm description: {exc}") from None


def fit_channel_norm(images: Iterable[np.ndarray], image_size: tuple[int, int], *, source: str = "") -> ChannelNorm:
    """Per-channel mean and std of ``images`` (each (C, h, w)) after resizing them to ``image_size``.

    Accumulates in float64, one image at a time (the data set never has to fit in memory). A channel that is
    constant gets std 1 (it is centred, not blown up).
    """
    probe = ChannelNorm(image_size, (0.0,), (1.0,))  # validates image_size
    total = total_sq = None
    count = 0
    for x in images:
        x = np.asarray(x)
        if x.ndim != 3:
            raise ConfigError(f"fit_channel_norm: expected (C, H, W) images, got shape {x.shape}")
        y = resize(x.astype(np.float32, copy=False), probe.image_size).astype(np.float64)
        if total is None:
            total, total_sq = np.zeros(len(y)), np.zeros(len(y))
        elif len(y) != len(total):
            raise ConfigError(f"fit_channel_norm: images have {len(total)} and {len(y)} channels")
        total += y.sum(axis=(1, 2))
        total_sq += (y * y).sum(axis=(1, 2))
        count += y.shape[1] * y.shape[2]
    if total is None:
        raise ConfigError("fit_channel_norm: no images to compute statistics from")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std = np.where(std > 1e-6 * (1 + np.abs(mean)), std, 1.0)  # a constant channel is only centred
    return ChannelNorm(probe.image_size, tuple(mean), tuple(std), source=source)


__all__ = ["ChannelNorm", "fit_channel_norm"]
