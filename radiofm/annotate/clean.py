"""A receiver's own artefacts undone before ``annotate`` analyses a recording: narrow lines (LO leakage at DC,
spurious CW tones) and a quadrature mixer's imbalance (every carrier's mirror image).

Both are measured once, on the recording's first :func:`detect_samples` samples (about 17 ms at 61.44 MS/s):
the imbalance from the samples' improperness (:func:`radiofm.dsp.iq_image.image_coefficient`), then the lines in
sixteen 1 kHz-resolution FFTs of the corrected samples (:func:`radiofm.dsp.lines.find_lines`). Both are undone
in every span any stage reads (:class:`CleanedRecording`): the spectrogram the model sees, the overlay picture, the
physical-layer checks at native resolution and the blind scans. A one-shot run and a ``--follow`` run measure the
same, since both look at the same first samples. A line that starts later in the recording is not removed.

The NR/LTE model was trained with some of both (:mod:`radiofm.synth.nrlte.receiver`): LO leakage up to
``DC_TRAINED_DB`` over the rest of its 240 kHz row and image rejection down to ``IQ_TRAINED_DB``. It learned to
look through them: removing in-range LO leakage lowered annotate's scores on our own test captures, undoing
in-range imbalances moved them both ways (docs/RESULTS.md, session 33). So only what lies beyond that range is
undone, and a capture like the training ones is analysed exactly as before; a spur away from DC (never in
training) is always removed.
``REMOVE_LINES`` / ``FIX_IMAGE`` = False turn either off (benchmarks compare).

Clipping cannot be undone, only reported: for an integer datatype, the share of I/Q values at the ADC's rails in the
same first samples (:func:`clipped_share`); ``annotate`` warns from ``CLIP_WARN`` up (a receiver gain set too high
spreads intermodulation over the band, and the model boxes some of it; docs/RESULTS.md, session 33).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from radiofm.annotate.frontend import read_samples
from radiofm.annotate.plan import IMAGE, ROW_HZ
from radiofm.data.recording import Recording
from radiofm.data.sigmf_format import datatype_layout
from radiofm.dsp.iq_image import image_coefficient, remove_image_
from radiofm.dsp.lines import LineRemover, find_lines, line_fft_size
from radiofm.synth.impairments import image_rejection_db
from radiofm.synth.nrlte.receiver import DC_OFFSET_DB, IQ_GAIN_DB, IQ_PHASE_DEG

REMOVE_LINES = True
FIX_IMAGE = True
CLIP_WARN = 1e-4  # share of I/Q values at the rails from which annotate warns that the ADC clipped
DETECT_SEGMENTS = 16  # FFTs of line_fft_size averaged by the search
DC_HZ = 2e3  # a line this close to 0 Hz is the receiver's LO leakage
# The NR/LTE generator's LO leakage reaches DC_OFFSET_DB[1] over the noise power of the whole band, i.e. this much
# over the noise in the DC row: the model learned to look through such a spike, and removing it changed annotate's
# scores on our test captures (docs/RESULTS.md, session 33). Only a stronger one is removed.
DC_TRAINED_DB = DC_OFFSET_DB[1] + 10 * math.log10(IMAGE)  # the DC row holds 1/IMAGE of the band's noise
IQ_TRAINED_DB = image_rejection_db(IQ_GAIN_DB[1], IQ_PHASE_DEG[1])  # 28.2 dB: the generator's worst mixer


def detect_samples(sample_rate_hz: float) -> int:
    """How many samples from the start the line search reads."""
    return DETECT_SEGMENTS * line_fft_size(sample_rate_hz)


@dataclass
class Repair:
    """What :func:`receiver_repair` measured and will undo in every read."""

    lines: LineRemover
    image_coef: complex = 0j  # w of z = x - w·conj(x); 0: the mixer's imbalance is left alone
    image_rejection_db: float = math.inf  # as measured (inf: none)
    clipped: float | None = None  # share of I/Q values at the ADC's rails (None: a float datatype, no rails)

    def __bool__(self) -> bool:
        return bool(self.lines) or self.image_fixed

    @property
    def freqs_hz(self) -> np.ndarray:
        return self.lines.freqs_hz

    @property
    def image_fixed(self) -> bool:
        return self.image_coef != 0

    def apply(self, x: np.ndarray, start: int) -> np.ndarray:
        """Samples [start, start + len(x)) -> repaired, in place."""
        if self.image_coef:
            remove_image_(x, self.image_coef)
        return self.lines.apply(x, start)


def receiver_repair(rec: Recording, nonfinite: str, n_samples: int | None = None) -> Repair:
    """What to undo, measured on the first :func:`detect_samples` of ``rec`` (on its first ``n_samples`` when
    fewer); falsy when nothing."""
    fs = rec.sample_rate_hz
    n = min(detect_samples(fs), rec.n_samples if n_samples is None else n_samples)
    x = read_samples(rec, 0, n, nonfinite)
    clipped = clipped_share(x, rec.datatype)
    w, irr = image_coefficient(x) if FIX_IMAGE and len(x) else (0j, math.inf)
    if irr >= IQ_TRAINED_DB:
        w = 0j
    elif w:
        remove_image_(x, w)
    if not REMOVE_LINES:
        return Repair(LineRemover([], fs), w, irr, clipped)
    freqs, excess = find_lines(x, fs, band_hz=ROW_HZ)
    trained = (np.abs(freqs) <= DC_HZ) & (excess <= DC_TRAINED_DB)  # LO leakage the model was trained with
    return Repair(LineRemover(freqs[~trained], fs), w, irr, clipped)


def clipped_share(x: np.ndarray, datatype: str) -> float | None:
    """Share of the I and Q values of ``x`` (as :meth:`Recording.read` scales them) at an integer ADC's rails: -1
    or the largest code, 1 - 2^(1-bits). None for a float datatype (no rails to know)."""
    lay = datatype_layout(datatype)
    if lay.fmt == "f" or len(x) == 0:
        return None
    top = np.float32(1.0 - 2.0 ** (1 - lay.bits))
    v = x.view(np.float32)
    return float(np.count_nonzero((v <= -1.0) | (v >= top)) / v.size)


class CleanedRecording:
    """``rec`` read through ``repair``: every attribute is the recording's, :meth:`read` returns its samples
    repaired."""

    def __init__(self, rec: Recording, repair: Repair):
        self._rec, self.repair = rec, repair

    def __getattr__(self, name: str):
        return getattr(self._rec, name)

    def read(self, start: int = 0, count: int | None = None, *, nonfinite: str = "error") -> np.ndarray:
        return self.repair.apply(self._rec.read(start, count, nonfinite=nonfinite), int(start))


def cleaned(rec: Recording, repair: Repair | None):
    """``rec`` itself when there is nothing to undo, else a :class:`CleanedRecording`."""
    return CleanedRecording(rec, repair) if repair else rec
