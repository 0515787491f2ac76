"""NR/LTE spectrum-segmentation dataset (SPEC §2 "SD"; paper A §II-B, after MATLAB's 5G/LTE spectrum-sensing
example): 40 ms captures at 61.44 MS/s holding 5G NR and LTE downlink carriers in adjacent bands, each through
its own fading channel, plus noise; 256x256 log spectrograms with label images 0 noise, 1 NR, 2 LTE.

- :func:`generate_dataset` writes a dataset folder (see :mod:`radiofm.synth.nrlte.dataset`).
- :func:`make_frame` draws one capture: ``(iq, meta)``; :func:`frame_spectrogram`, :func:`label_image` and
  :func:`annotations` turn it into the spectrogram, the label image and SigMF annotations.
- Each carrier's traffic regime (random, matlab, full, idle, gated) comes from a mix (``traffic`` argument,
  ``radiofm generate nrlte --traffic``); each carrier and capture draws the knobs real networks and receivers
  vary. The module docstrings list every regime and knob with its range and source.
- Modules: ``sequences`` (PSS/SSS/Gold/DMRS/CRS), ``ofdm`` (numerology, modulator), ``traffic`` (regimes, mix,
  gating), ``nr``, ``lte`` (carrier knobs and grids), ``scene`` (placement, levels, fading, noise, images),
  ``receiver`` (CFO, DC spike, IQ imbalance), ``dataset`` (writer).
"""

from radiofm.synth.nrlte.dataset import generate_dataset, render_frame
from radiofm.synth.nrlte.ofdm import FRAME_SAMPLES, SAMPLE_RATE_HZ
from radiofm.synth.nrlte.scene import (
    CENTER_FREQ_HZ,
    CLASSES,
    NOISE,
    annotations,
    col_samples,
    frame_spectrogram,
    label_image,
    make_frame,
    row_freqs_hz,
    stft_params,
)

__all__ = [
    "CENTER_FREQ_HZ",
    "CLASSES",
    "FRAME_SAMPLES",
    "NOISE",
    "SAMPLE_RATE_HZ",
    "annotations",
    "col_samples",
    "frame_spectrogram",
    "generate_dataset",
    "label_image",
    "make_frame",
    "render_frame",
    "row_freqs_hz",
    "stft_params",
]
