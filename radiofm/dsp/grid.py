"""Resource-grid occupancy: the metric of papers A and B.

A spectrogram is average-pooled into resource blocks of ``block = (bf, bt)`` bins (stride = kernel; rows and
columns that do not fill a whole block are cropped), then binarised with the threshold

    delta = mu + k * sigma,   1 = occupied (block mean > delta),

where ``mu`` and ``sigma`` (population std, ddof=0) are the mean and standard deviation of **that
spectrogram**: per sample, over its last two axes, of the input spectrogram *before* pooling and before
cropping. Values are used as given (the papers pool dB spectrograms). Comparing a prediction with the truth
thresholds each with its own ``mu + k*sigma``.
"""

from __future__ import annotations

import numpy as np

from radiofm.errors import ConfigError


def pool_blocks(spec: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Average-pool (..., F, T) into (..., F//bf, T//bt) blocks, remainder cropped. float64."""
    x = np.asarray(spec, dtype=np.float64)
    bf, bt = _check_block(x, block)
    nf, nt = x.shape[-2] // bf, x.shape[-1] // bt
    x = x[..., : nf * bf, : nt * bt]
    return x.reshape(*x.shape[:-2], nf, bf, nt, bt).mean(axis=(-3, -1))


def grid_threshold(spec: np.ndarray, *, k: float = 0.5) -> np.ndarray:
    """``mu + k*sigma`` of each spectrogram over its last two axes: (..., F, T) -> (...) float64."""
    x = np.asarray(spec, dtype=np.float64)
    if x.ndim < 2:
        raise ConfigError(f"resource_grid: expected a spectrogram of shape (..., F, T), got shape {x.shape}")
    return x.mean(axis=(-2, -1)) + k * x.std(axis=(-2, -1))


def resource_grid(spec: np.ndarray, block: tuple[int, int], *, k: float = 0.5) -> np.ndarray:
    """Occupied resource blocks of a spectrogram.

    Args:
        spec: (..., F, T) spectrogram (dB in the papers).
        block: (bf, bt) block size in frequency bins and time frames, each in 1..F / 1..T.
        k: threshold ``mu + k*sigma`` in standard deviations (papers: 0.5).

    Returns:
        bool (..., F//bf, T//bt); True = occupied (block mean > threshold).
    """
    delta = grid_threshold(spec, k=k)
    pooled = pool_blocks(spec, block)
    return pooled > delta[..., None, None]


def grid_agreement(a: np.ndarray, b: np.ndarray, block: tuple[int, int], *, k: float = 0.5) -> float:
    """Fraction of resource blocks where the grids of ``a`` and ``b`` agree (each with its own threshold).

    ``a`` and ``b``: (..., F, T) of the same shape. For a batch, the mean over all samples (every sample has
    the same number of blocks, so this is also the mean of the per-sample fractions). 1.0 when identical.
    """
    ga, gb = _grid_pair(a, b, block, k)
    return float(np.mean(ga == gb))


def grid_detection(
    true_spec: np.ndarray, pred_spec: np.ndarray, block: tuple[int, int], k: float = 0.5
) -> dict[str, float | int | None]:
    """Detection statistics of predicted occupancy against true occupancy, pooled over the whole batch.

    Each spectrogram is thresholded with its own ``mu + k*sigma``. Returns a dict with

    - ``detection_rate`` = TP / (TP + FN): fraction of truly occupied blocks predicted occupied (recall);
    - ``false_alarm_rate`` = FP / (FP + TN): fraction of truly free blocks predicted occupied;
    - ``precision`` = TP / (TP + FP);
    - ``f1`` = 2 TP / (2 TP + FP + FN);
    - the counts ``tp``, ``fp``, ``fn``, ``tn`` and ``blocks``.

    A rate whose denominator is zero (e.g. no truly occupied block) is ``None``, never NaN, so the result is
    valid JSON; callers averaging over batches should sum the counts instead of averaging rates.
    """
    gt, gp = _grid_pair(true_spec, pred_spec, block, k)
    tp = int(np.count_nonzero(gt & gp))
    fp = int(np.count_nonzero(~gt & gp))
    fn = int(np.count_nonzero(gt & ~gp))
    tn = int(np.count_nonzero(~gt & ~gp))
    return {**detection_rates(tp, fp, fn, tn), "blocks": tp + fp + fn + tn}


def detection_rates(tp: int, fp: int, fn: int, tn: int) -> dict[str, float | int | None]:
    """Detection rate, false-alarm rate, precision and F1 of block counts (None where undefined), plus the counts.

    Sum counts over batches first and call this once: an average of per-batch rates is a different number.
    """
    return {
        "detection_rate": _ratio(tp, tp + fn),
        "false_alarm_rate": _ratio(fp, fp + tn),
        "precision": _ratio(tp, tp + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _grid_pair(a: np.ndarray, b: np.ndarray, block: tuple[int, int], k: float) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ConfigError(f"resource grid: spectrogram shapes differ: {a.shape} vs {b.shape}")
    return resource_grid(a, block, k=k), resource_grid(b, block, k=k)


def _check_block(x: np.ndarray, block: tuple[int, int]) -> tuple[int, int]:
    if x.ndim < 2:
        raise ConfigError(f"resource_grid: expected a spectrogram of shape (..., F, T), got shape {x.shape}")
    try:
        bf, bt = (int(v) for v in block)
    except (TypeError, ValueError):
        raise ConfigError(f"resource_grid: block must be (bf, bt), got {block!r}") from None
    f, t = x.shape[-2:]
    if not (1 <= bf <= f and 1 <= bt <= t):
        raise ConfigError(f"resource_grid: block {(bf, bt)} does not fit a spectrogram of {f}x{t} (F x T)")
    return bf, bt
