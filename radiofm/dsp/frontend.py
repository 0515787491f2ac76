"""The NR/LTE model front end: 40 ms at 61.44 MS/s -> one 256 x 256 dB image (shared by synth and annotate).

The NR/LTE segmentation set (:mod:`radiofm.synth.nrlte`) draws its captures at :data:`SAMPLE_RATE_HZ` for
:data:`FRAME_S`; a model trained on it has seen exactly the images :func:`frame_spectrogram` makes, so
:mod:`radiofm.annotate` analyses any recording on this grid. Rows are frequency (row 0 the most negative,
:func:`row_freqs_hz`), columns time (:func:`col_samples`).
"""

from __future__ import annotations

import numpy as np

from radiofm.dsp.resize import resize
from radiofm.dsp.stft import spectrogram

SAMPLE_RATE_HZ = 61.44e6
FRAME_S = 40e-3
FRAME_SAMPLES = 2_457_600  # 40 ms at 61.44 MS/s


def stft_params(fft_size: int, image_size: int) -> dict:
    """STFT settings mapping the 40 ms capture onto ``image_size`` time bins.

    When ``image_size`` divides the capture, each image column is the mean power of ``pool`` consecutive
    non-overlapping Hann frames (win = hop = capture / (image_size * pool) <= fft_size, the smallest such pool),
    so every sample counts once: for 256 columns and fft_size 256 that is win = hop = 240, pool = 40, 10240
    frames. Otherwise frames of fft_size with hop = fft_size are resized (anti-aliased bilinear).
    """
    per_col = FRAME_SAMPLES // image_size
    if FRAME_SAMPLES % image_size == 0:
        for pool in range(1, per_col + 1):
            if per_col % pool == 0 and per_col // pool <= fft_size:
                hop = per_col // pool
                return {"fft_size": fft_size, "win_length": hop, "hop": hop, "pool": pool}
    return {"fft_size": fft_size, "win_length": fft_size, "hop": fft_size, "pool": 0}


def frame_spectrogram(iq: np.ndarray, *, fft_size: int = 256, image_size: int = 256) -> np.ndarray:
    """Log-power spectrogram image float32 (image_size, image_size) in dB; row 0 = most negative frequency."""
    p = stft_params(fft_size, image_size)
    if p["pool"]:
        power = spectrogram(iq, fft_size=fft_size, win_length=p["win_length"], hop=p["hop"], log=False)
        power = power[:, : image_size * p["pool"]].reshape(fft_size, image_size, p["pool"]).mean(axis=2)
        img = 10.0 * np.log10(power + 1e-12, dtype=np.float32)
    else:
        img = spectrogram(iq, fft_size=fft_size, win_length=fft_size, hop=fft_size, log=True)
    if img.shape != (image_size, image_size):
        img = resize(img, (image_size, image_size), mode="bilinear")
    return img.astype(np.float32, copy=False)


def row_freqs_hz(image_size: int, fft_size: int, sample_rate_hz: float = SAMPLE_RATE_HZ) -> np.ndarray:
    """Frequency (Hz from the capture centre) at the centre of each image row, float64 (image_size,).

    Spectrogram bin j is centred on (j - F/2) fs/F; image row r covers bins [r F/H, (r+1) F/H).
    """
    r = np.arange(image_size)
    return ((r + 0.5) / image_size - 0.5) * sample_rate_hz - 0.5 * sample_rate_hz / fft_size


def col_samples(image_size: int, n_samples: int = FRAME_SAMPLES) -> np.ndarray:
    """Sample index at the centre of each image column, float64 (image_size,)."""
    return (np.arange(image_size) + 0.5) * n_samples / image_size


__all__ = ["FRAME_S", "FRAME_SAMPLES", "SAMPLE_RATE_HZ", "col_samples", "frame_spectrogram", "row_freqs_hz",
           "stft_params"]  # fmt: skip
