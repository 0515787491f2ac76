"""Pure signal processing: spectrograms, segmenting, resizing, resource grids (numpy/scipy/torch, no I/O).

- :func:`spectrogram` / :func:`spectrogram_batch`: (N,) IQ -> float32 (F, T) dB power, DC-centred.
- :func:`segment`: (N,) -> (S, n_seg) non-overlapping fixed-duration segments (a view).
- :func:`resize`: (..., H, W) -> (..., h, w); ``mode="nearest"`` for label maps.
- :func:`resource_grid`, :func:`grid_agreement`, :func:`grid_detection`, :func:`detection_rates`: the occupancy
  metric of papers A/B.
- :mod:`radiofm.dsp.frontend`: the NR/LTE model front end (61.44 MS/s, 40 ms -> 256 x 256 dB), shared by the
  generator and ``annotate``.
"""

from radiofm.dsp.grid import (
    detection_rates,
    grid_agreement,
    grid_detection,
    grid_threshold,
    pool_blocks,
    resource_grid,
)
from radiofm.dsp.resize import resize
from radiofm.dsp.segment import segment, segment_length
from radiofm.dsp.stft import hann_periodic, n_frames, spectrogram, spectrogram_batch

__all__ = [
    "detection_rates",
    "grid_agreement",
    "grid_detection",
    "grid_threshold",
    "hann_periodic",
    "n_frames",
    "pool_blocks",
    "resize",
    "resource_grid",
    "segment",
    "segment_length",
    "spectrogram",
    "spectrogram_batch",
]
