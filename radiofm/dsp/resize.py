"""Resizing spectrogram images and label maps.

Choice of method (documented because it changes the data the models see):

- ``"bilinear"``: ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=True)``.
  Half-pixel centres; when shrinking, the kernel widens with the scale (anti-aliased, like PIL), so a
  1919-frame spectrogram resized to 224 columns averages every frame instead of sampling a few. When
  enlarging, ``antialias`` changes nothing and this is plain bilinear interpolation.
- ``"area"``: ``adaptive_avg_pool2d``; exact block means when the sizes divide.
- ``"nearest"``: pure numpy indexing with half-pixel centres (``src = floor((dst + 0.5) * in / out)``,
  torch's ``"nearest-exact"``). Values are only ever copied, so label images keep their dtype and never get
  new label values. Use it for labels (never bilinear or bicubic).
"""

from __future__ import annotations

import numpy as np

from radiofm.errors import ConfigError

MODES = ("bilinear", "nearest", "area")


def resize(image: np.ndarray, shape: tuple[int, int], *, mode: str = "bilinear") -> np.ndarray:
    """Resize the last two axes.

    Args:
        image: (..., H, W) array. For ``"bilinear"``/``"area"``: float (integers are computed as float32).
        shape: (h, w) target size, positive integers.
        mode: ``"bilinear"`` (anti-aliased), ``"area"`` or ``"nearest"`` (for label maps).

    Returns:
        (..., h, w). ``"nearest"`` keeps the input dtype; the others return float32, or float64 for float64
        input. Returns a copy even when the size does not change.
    """
    if mode not in MODES:
        raise ConfigError(f"resize: unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    x = np.asarray(image)
    if x.ndim < 2:
        raise ConfigError(f"resize: expected an image of shape (..., H, W), got shape {x.shape}")
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"resize: shape must be (h, w), got {shape!r}") from None
    if h <= 0 or w <= 0:
        raise ConfigError(f"resize: target shape must be positive, got {(h, w)}")
    in_h, in_w = x.shape[-2:]
    if in_h == 0 or in_w == 0:
        raise ConfigError(f"resize: cannot resize an empty image of shape {x.shape}")

    if mode == "nearest":
        rows = _nearest_index(in_h, h)
        cols = _nearest_index(in_w, w)
        return x[..., rows[:, None], cols[None, :]]

    dtype = np.float64 if x.dtype == np.float64 else np.float32
    if (in_h, in_w) == (h, w):
        return x.astype(dtype, copy=True)
    import torch  # here, not at the top: importing radiofm.dsp must not cost torch's 2 s (radiofm annotate)
    import torch.nn.functional as F

    lead = x.shape[:-2]
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=dtype).reshape(-1, 1, in_h, in_w))
    if mode == "bilinear":
        y = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    else:
        y = F.adaptive_avg_pool2d(t, (h, w))
    return y.numpy().reshape(*lead, h, w)


def _nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output pixel, half-pixel centres: floor((i + 0.5) * n_in / n_out)."""
    idx = ((np.arange(n_out) * 2 + 1) * n_in) // (2 * n_out)  # exact integer arithmetic
    return np.minimum(idx, n_in - 1)
