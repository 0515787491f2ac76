"""Stand-in segmentation models for the annotate tests: fixed class probabilities on chosen bands, and the
backbone of the smallest real one (``TINY_MAE``).

``from band_predictors import band_predictor, NR, LTE, TINY_MAE`` (the tests folder is on ``sys.path``, as for
``fuzz_support``)."""

from __future__ import annotations

import numpy as np

LTE = (0.05, 0.1, 0.85)  # (noise, NR, LTE) probabilities of a band the model calls LTE
NR = (0.05, 0.85, 0.1)

# MAE backbone options of a segmentation model that builds and runs in milliseconds (32 x 48 input, 6 patches)
TINY_MAE = dict(img_size=[32, 48], patch_size=16, embed_dim=16, depth=2, num_heads=2, decoder_embed_dim=8,
                decoder_depth=1, decoder_num_heads=2)  # fmt: skip


def band_predictor(bands, probs=LTE):
    """Predictor giving the rows of each (lo_hz, hi_hz) band (Hz from the recording centre) the class
    probabilities ``probs`` in every frame; noise elsewhere. ``bands=[]``: a model that sees nothing. A band
    (lo_hz, hi_hz, first_sample, end_sample) is seen only in the columns of those recording samples."""

    def predict(images, frames):
        out = np.zeros((len(images), 3, 256, 256), np.float32)
        out[:, 0] = 1.0
        for i, f in enumerate(frames):
            freqs = f.center_offset_hz + (np.arange(256) - 128) * f.row_hz
            samples = (f.column + np.arange(256)) * f.samples_per_column
            for lo, hi, *when in bands:
                rows = (freqs >= lo) & (freqs < hi)
                cols = (samples >= when[0]) & (samples < when[1]) if when else np.ones(256, bool)
                for k in range(3):
                    out[i, k][np.ix_(rows, cols)] = probs[k]
        return out

    return predict


def band_box(plan, lo_hz: float, hi_hz: float, *, cls: int = 1, sums: tuple[float, float] = (10.0, 100.0)):
    """A model box over the band [lo_hz, hi_hz) (Hz from the recording centre) for the whole of ``plan``'s
    recording: class ``cls`` (1 NR, 2 LTE), 120 pixels with p(NR), p(LTE) summing to ``sums``."""
    from radiofm.annotate.boxes import Box

    rows = np.round(np.array([lo_hz, hi_hz]) / plan.row_hz + plan.n_bins / 2 - plan.grid[0]).astype(int)
    return Box(int(rows[0]), int(rows[1]) - 1, 0, plan.n_columns, cls, 100.0, 120, *sums)
