"""Cutting an IQ stream into fixed-duration segments."""

from __future__ import annotations

import numpy as np

from radiofm.errors import ConfigError, RecordingError


def segment_length(sample_rate_hz: float, segment_s: float = 0.016) -> int:
    """Samples per segment: ``round(segment_s * sample_rate_hz)`` (at least 1)."""
    if not (np.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise ConfigError(f"segment: sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
    if not (np.isfinite(segment_s) and segment_s > 0):
        raise ConfigError(f"segment: segment_s must be a positive number, got {segment_s!r}")
    n_seg = int(round(segment_s * sample_rate_hz))
    if n_seg < 1:
        raise ConfigError(f"segment: segment_s={segment_s} s is shorter than one sample at {sample_rate_hz} Hz")
    return n_seg


def segment(iq: np.ndarray, sample_rate_hz: float, *, segment_s: float = 0.016) -> np.ndarray:
    """Non-overlapping segments of ``segment_s`` seconds; the remainder at the end is dropped.

    Args:
        iq: (N,) samples (any dtype).
        sample_rate_hz: sample rate; a segment holds ``round(segment_s * sample_rate_hz)`` samples.
        segment_s: segment duration in seconds (paper B: 16 ms).

    Returns:
        (S, n_seg) with S = N // n_seg (S may be 0 for a recording shorter than one segment). A view of
        ``iq`` (no copy) whenever ``iq`` is an array, so writing into it writes into ``iq``.
    """
    x = np.asarray(iq)
    if x.ndim != 1:
        raise RecordingError(f"segment: expected IQ samples of shape (N,), got shape {x.shape}")
    n_seg = segment_length(sample_rate_hz, segment_s)
    s = x.shape[0] // n_seg
    return x[: s * n_seg].reshape(s, n_seg)
