"""A receiver's narrow lines — LO leakage at DC, spurious CW tones — removed before ``annotate`` analyses a recording.

They are found once, in the recording's first :func:`detect_samples` samples (about 17 ms at 61.44 MS/s: sixteen
1 kHz-resolution FFTs, :func:`radiofm.dsp.lines.find_lines`), and removed from every span any stage reads
(:class:`CleanedRecording`): the spectrogram the model sees, the overlay picture, and the physical-layer checks at
native resolution. A one-shot run and a ``--follow`` run find the same lines, since both look at the same first
samples. A line that starts later in the recording is not removed. A DC line no stronger than the LO leakage the
model was trained with (``DC_TRAINED_DB`` over the rest of its 240 kHz row) is left alone. ``REMOVE_LINES = False``
turns this off (benchmarks compare both).
"""

from __future__ import annotations

import math

import numpy as np

from radiofm.annotate.frontend import read_samples
from radiofm.data.recording import Recording
from radiofm.dsp.lines import LineRemover, find_lines, line_fft_size
from radiofm.synth.nrlte.receiver import DC_OFFSET_DB

REMOVE_LINES = True
DETECT_SEGMENTS = 16  # FFTs of line_fft_size averaged by the search
ROW_HZ = 240e3  # a row of the model's image
DC_HZ = 2e3  # a line this close to 0 Hz is the receiver's LO leakage
# The NR/LTE generator's LO leakage reaches DC_OFFSET_DB[1] over the noise power of the whole band, i.e. this much
# over the noise in the DC row: the model learned to look through such a spike, and removing it changed annotate's
# scores on our test captures (docs/RESULTS.md, session 33). Only a stronger one is removed.
DC_TRAINED_DB = DC_OFFSET_DB[1] + 10 * math.log10(61.44e6 / ROW_HZ)


def detect_samples(sample_rate_hz: float) -> int:
    """How many samples from the start the line search reads."""
    return DETECT_SEGMENTS * line_fft_size(sample_rate_hz)


def receiver_lines(rec: Recording, nonfinite: str, n_samples: int | None = None) -> LineRemover:
    """The remover of the lines in the first :func:`detect_samples` of ``rec`` (of its first ``n_samples`` when
    fewer); empty (falsy) when none are found or ``REMOVE_LINES`` is off."""
    fs = rec.sample_rate_hz
    if not REMOVE_LINES:
        return LineRemover([], fs)
    n = min(detect_samples(fs), rec.n_samples if n_samples is None else n_samples)
    freqs, excess = find_lines(read_samples(rec, 0, n, nonfinite), fs, band_hz=ROW_HZ)
    trained = (np.abs(freqs) <= DC_HZ) & (excess <= DC_TRAINED_DB)  # LO leakage the model was trained with
    return LineRemover(freqs[~trained], fs)


class CleanedRecording:
    """``rec`` read through ``remover``: every attribute is the recording's, :meth:`read` returns its samples with
    the lines removed."""

    def __init__(self, rec: Recording, remover: LineRemover):
        self._rec, self.remover = rec, remover

    def __getattr__(self, name: str):
        return getattr(self._rec, name)

    def read(self, start: int = 0, count: int | None = None, *, nonfinite: str = "error") -> np.ndarray:
        return self.remover.apply(self._rec.read(start, count, nonfinite=nonfinite), int(start))


def cleaned(rec: Recording, remover: LineRemover | None):
    """``rec`` itself when there is nothing to remove, else a :class:`CleanedRecording`."""
    return CleanedRecording(rec, remover) if remover else rec
