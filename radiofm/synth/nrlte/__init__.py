"""NR/LTE spectrum-segmentation captures (SPEC §2 "SD"; paper A §II-B, after MATLAB's 5G/LTE spectrum-sensing
example): 40 ms captures at 61.44 MS/s holding 5G NR and LTE downlink carriers in adjacent bands, each through
its own fading channel, plus noise; 256x256 log spectrograms with label images 0 noise, 1 NR, 2 LTE.

- :func:`make_frame` draws one capture: ``(iq, meta)``; :func:`frame_spectrogram` (the model front end,
  :mod:`radiofm.dsp.frontend`), :func:`label_image` and :func:`annotations` (SigMF annotation dicts) turn it
  into the spectrogram, the label image and the annotations.
- Each carrier's traffic regime (random, matlab, full, idle, gated) comes from a mix (``traffic`` argument,
  ``radiofm generate nrlte --traffic``); each carrier and capture draws the knobs real networks and receivers
  vary. The module docstrings list every regime and knob with its range and source.
- The dataset folder (writer and reader) is :mod:`radiofm.data.nrlte` (``radiofm generate nrlte``).
- Modules: ``sequences`` (PSS/SSS/Gold/DMRS/CRS), ``ofdm`` (numerology, modulator), ``traffic`` (regimes, mix,
  gating), ``nr``, ``lte`` (carrier knobs and grids), ``scene`` (placement, levels, fading, noise, images),
  ``receiver`` (CFO, DC spike, IQ imbalance).
"""

from radiofm.dsp.frontend import (
    FRAME_SAMPLES,
    SAMPLE_RATE_HZ,
    col_samples,
    frame_spectrogram,
    row_freqs_hz,
    stft_params,
)
from radiofm.synth.nrlte.scene import CENTER_FREQ_HZ, CLASSES, NOISE, annotations, label_image, make_frame

__all__ = [
    "CENTER_FREQ_HZ",
    "CLASSES",
    "FRAME_SAMPLES",
    "NOISE",
    "SAMPLE_RATE_HZ",
    "annotations",
    "col_samples",
    "frame_spectrogram",
    "label_image",
    "make_frame",
    "row_freqs_hz",
    "stft_params",
]
