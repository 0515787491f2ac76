"""A receiver's own artefacts undone before ``annotate`` analyses a recording: narrow lines (LO leakage at DC,
spurious CW tones) and a quadrature mixer's imbalance (every carrier's mirror image).

Both are measured once, at the start of the recording:
- the imbalance from the samples' improperness (:func:`radiofm.dsp.iq_image.band_coefficient`, narrow lines left
  out; and bin by bin, :func:`~radiofm.dsp.iq_image.image_filter` with the spans' equations solved together, for a
  wideband receiver whose I and Q branches differ across the band), on sixteen 1 ms spans spread evenly over the
  recording's first ``REPAIR_WINDOW_S`` (all of a shorter one; :func:`image_spans`). A mixer's imbalance is
  steady, but its images show only while strong carriers are on: spread spans see the carriers that switch on
  after the first milliseconds, and a receiver's start-up transient takes only a span or two (session 38; session
  37 read the first 17 ms as a whole);
- the lines in sixteen consecutive 1 kHz-resolution FFTs of the first :func:`detect_samples` samples (about 17 ms
  at 61.44 MS/s), corrected (:func:`radiofm.dsp.lines.find_lines`: consecutive, since a line's frequency is refined
  from its phase's advance from one FFT to the next).
Both are undone in every span any stage reads (:class:`CleanedRecording`): the spectrogram the model sees, the
overlay picture, the physical-layer checks at native resolution and the blind scans. A ``--follow`` run waits for
:func:`measure_window` samples (at 61.44 MS/s it analyses its first block only after 2.6 s anyway) and so measures
what a one-shot run on the finished file measures. A line that starts after the first 17 ms is not removed, nor an
image of a carrier off throughout the first second.

The NR/LTE model was trained with some of both (:mod:`radiofm.synth.nrlte.receiver`): LO leakage up to
``DC_TRAINED_DB`` over the rest of its 240 kHz row and image rejection down to ``IQ_TRAINED_DB``. It learned to
look through them: removing in-range LO leakage lowered annotate's scores on our own test captures, undoing
in-range imbalances moved them both ways (docs/RESULTS.md, session 33). So only what lies beyond that range is
undone, and a capture like the training ones is analysed exactly as before; a spur away from DC (never in
training) is always removed. For the imbalance, "beyond" is judged where an image would show (:func:`image_repair`,
session 37):
- an imbalance within the range is undone all the same when one of its images stands more than ``IMAGE_SEEN_DB``
  over the noise (carriers far stronger than the training's; no training image stood more than 1.8 dB over it);
- the frequency-dependent compensator replaces the constant one where the constant one (or none) would leave such
  an image, or a rejection beyond the range somewhere in the band that the band-wide figure averages away.
``REMOVE_LINES`` / ``FIX_IMAGE`` / ``FIX_IMAGE_BANDS`` = False turn each off (benchmarks compare; the last gives
session 33's band-wide decision alone); ``SPREAD_SPANS`` and ``LINE_FREE_CONSTANT`` = False give session 37's
measurement (the first 17 ms as a whole, the band-wide constant with the lines in).

Clipping cannot be undone, only reported: for an integer datatype, the share of I/Q values at the ADC's rails in the
same spans (:func:`clipped_share`); ``annotate`` warns from ``CLIP_WARN`` up (a receiver gain set too high
spreads intermodulation over the band, and the model boxes some of it; docs/RESULTS.md, session 33).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from radiofm.annotate import frontend
from radiofm.annotate.frontend import read_samples
from radiofm.annotate.plan import IMAGE, ROW_HZ
from radiofm.data.recording import Recording
from radiofm.data.sigmf_format import datatype_layout
from radiofm.dsp.iq_image import (
    PAIR_NFFT,
    band_coefficient,
    carrier_peak_db,
    image_coefficient,
    image_filter,
    noise_floor,
    pair_statistics,
    refine_filter,
    remove_image_,
    remove_image_fir,
    span_powers,
    span_statistics,
    strongest_image_db,
    visible_rejection_db,
)
from radiofm.dsp.lines import LineRemover, find_lines, line_fft_size
from radiofm.synth.impairments import image_rejection_db
from radiofm.synth.nrlte.receiver import DC_OFFSET_DB, IQ_GAIN_DB, IQ_PHASE_DEG
from radiofm.synth.nrlte.scene import SNR_DB

REMOVE_LINES = True
FIX_IMAGE = True
FIX_IMAGE_BANDS = True  # a frequency-dependent imbalance undone with a filter where a constant leaves images
BAND_SPREAD_DB = 3.0  # a correction uses the filter when the rejection varies this much where images show
BAND_MARGIN_DB = 3.0  # an in-range capture's band figure must fall this far under its band-wide one (noise margin)
CLIP_WARN = 1e-4  # share of I/Q values at the rails from which annotate warns that the ADC clipped
DETECT_SEGMENTS = 16  # FFTs of line_fft_size averaged by the search; spans of the imbalance's measurement
SPREAD_SPANS = True  # the imbalance measured on spans spread over the first REPAIR_WINDOW_S (False: the first 17 ms)
LINE_FREE_CONSTANT = True  # the band-wide constant measured with narrow lines left out (False: session 37's)
REPAIR_WINDOW_S = 1.0  # how much of the recording's start the spans spread over (about one block of the analysis)
DC_HZ = 2e3  # a line this close to 0 Hz is the receiver's LO leakage
# The NR/LTE generator's LO leakage reaches DC_OFFSET_DB[1] over the noise power of the whole band, i.e. this much
# over the noise in the DC row: the model learned to look through such a spike, and removing it changed annotate's
# scores on our test captures (docs/RESULTS.md, session 33). Only a stronger one is removed.
DC_TRAINED_DB = DC_OFFSET_DB[1] + 10 * math.log10(IMAGE)  # the DC row holds 1/IMAGE of the band's noise
IQ_TRAINED_DB = image_rejection_db(IQ_GAIN_DB[1], IQ_PHASE_DEG[1])  # 28.2 dB: the generator's worst mixer
# The generator's strongest carrier (30 dB in-band SNR) through its worst mixer leaves an image 1.8 dB over the noise;
# 1 dB more for the measurement's spread. Wide images 4-6 dB over the noise were boxed as carriers (docs/RESULTS.md,
# session 37); over 80 of the generator's captures the highest measured was 0.9 dB.
IMAGE_SEEN_DB = SNR_DB[1] - IQ_TRAINED_DB + 1.0
BALANCED_DB = 60.0  # a mixer rejecting its images this well is balanced: nothing to undo, however clean the capture


def detect_samples(sample_rate_hz: float) -> int:
    """How many samples from the start the line search reads."""
    return DETECT_SEGMENTS * line_fft_size(sample_rate_hz)


def measure_window(sample_rate_hz: float) -> int:
    """How many samples from the start :func:`receiver_repair` may read: a ``--follow`` run waits for them."""
    n = detect_samples(sample_rate_hz)
    return max(n, int(round(REPAIR_WINDOW_S * sample_rate_hz))) if SPREAD_SPANS else n


def image_spans(sample_rate_hz: float, n_samples: int) -> list[tuple[int, int]]:
    """(start, count) of the spans the imbalance is measured on in a recording of ``n_samples``: ``DETECT_SEGMENTS``
    spans of ``line_fft_size`` (whole segments of the pair statistics) spread evenly over its first
    :func:`measure_window` samples; the first :func:`detect_samples` as one span when those leave no room between
    spans (or ``SPREAD_SPANS`` is off)."""
    window = min(int(n_samples), measure_window(sample_rate_hz))
    span = max(PAIR_NFFT, line_fft_size(sample_rate_hz))
    if not SPREAD_SPANS or window <= DETECT_SEGMENTS * span:
        return [(0, min(window, detect_samples(sample_rate_hz)))]
    starts = np.linspace(0, window - span, DETECT_SEGMENTS).astype(np.int64)
    return [(int(a), span) for a in starts]


@dataclass
class Repair:
    """What :func:`receiver_repair` measured and will undo in every read."""

    lines: LineRemover
    image_coef: complex = 0j  # w of z = x - w·conj(x); 0: the mixer's imbalance is left alone
    image_rejection_db: float = math.inf  # as measured (inf: none); with a filter, the worst across the band
    clipped: float | None = None  # share of I/Q values at the ADC's rails (None: a float datatype, no rails)
    image_taps: np.ndarray | None = None  # h of z = x - h * conj(x) (centred taps) when the imbalance varies
    image_rejection_range_db: tuple[float, float] | None = None  # (worst, best) across the band, with a filter

    def __bool__(self) -> bool:
        return bool(self.lines) or self.image_fixed

    @property
    def freqs_hz(self) -> np.ndarray:
        return self.lines.freqs_hz

    @property
    def image_fixed(self) -> bool:
        return self.image_coef != 0 or self.image_taps is not None

    def apply(self, x: np.ndarray, start: int) -> np.ndarray:
        """Samples [start, start + len(x)) -> repaired, in place. Not for a filter (it needs the neighbours:
        :meth:`read`)."""
        if self.image_taps is not None:
            raise ValueError("a frequency-dependent image repair reads its span's neighbours: use Repair.read")
        if self.image_coef:
            remove_image_(x, self.image_coef)
        return self.lines.apply(x, start)

    def read(self, rec: Recording, start: int, count: int | None, nonfinite: str, counts: dict | None = None):
        """Samples [start, start + count) of ``rec`` repaired (``count`` None: to the end); ``nonfinite`` and
        ``counts`` as :meth:`Recording.read`'s. With a filter, its half-length of samples either side is read as
        well (zero beyond the recording), so a span comes out as it does within the whole recording, however the
        reads are cut. (In a recording still being written, a span that ends at its current end gets its last few
        samples as at the end of a recording.)"""
        if self.image_taps is None:
            return self.apply(rec.read(start, count, nonfinite=nonfinite, counts=counts), int(start))
        start = int(start)
        count = rec.n_samples - start if count is None else int(count)
        if count <= 0 or start < 0 or start + count > rec.n_samples:
            return rec.read(start, count, nonfinite=nonfinite, counts=counts)  # raises (out of range) or empty
        half = len(self.image_taps) // 2
        a, b = max(0, start - half), min(rec.n_samples, start + count + half)
        x = rec.read(a, b - a, nonfinite=nonfinite, counts=counts)
        z = remove_image_fir(x, self.image_taps, start - a, start - a + count)
        return self.lines.apply(z, start)


def image_samples(rec: Recording, nonfinite: str, n_samples: int | None = None) -> np.ndarray:
    """The samples of :func:`image_spans` of ``rec`` (of its first ``n_samples``, when given), one after another."""
    n = rec.n_samples if n_samples is None else min(rec.n_samples, n_samples)
    parts = [read_samples(rec, a, c, nonfinite) for a, c in image_spans(rec.sample_rate_hz, n)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def receiver_repair(rec: Recording, nonfinite: str, n_samples: int | None = None) -> Repair:
    """What to undo, measured at the start of ``rec`` (of its first ``n_samples``, when given: a recording still
    being written): the imbalance and the clipping on :func:`image_spans`, the lines on the first
    :func:`detect_samples`; falsy when nothing."""
    fs = rec.sample_rate_hz
    n_all = rec.n_samples if n_samples is None else min(rec.n_samples, n_samples)
    x = image_samples(rec, nonfinite, n_all)
    clipped = clipped_share(x, rec.datatype)
    w, irr, taps, span = image_repair(x) if FIX_IMAGE and len(x) else (0j, math.inf, None, None)
    n = min(detect_samples(fs), n_all)
    if len(image_spans(fs, n_all)) > 1:  # the line search reads consecutive FFTs: the first samples, read apart
        x = read_samples(rec, 0, n, nonfinite)
    if taps is not None:
        x = remove_image_fir(x, taps)
    elif w:
        remove_image_(x, w)
    if not REMOVE_LINES:
        return Repair(LineRemover([], fs), w, irr, clipped, taps, span)
    freqs, excess = find_lines(x, fs, band_hz=ROW_HZ)
    trained = (np.abs(freqs) <= DC_HZ) & (excess <= DC_TRAINED_DB)  # LO leakage the model was trained with
    return Repair(LineRemover(freqs[~trained], fs), w, irr, clipped, taps, span)


def image_repair(x: np.ndarray) -> tuple[complex, float, np.ndarray | None, tuple[float, float] | None]:
    """What to undo of a mixer's imbalance measured on ``x``: (w, image rejection in dB, taps, (worst, best)).

    The band-wide figure decides first, as in session 33: w is kept when it is under ``IQ_TRAINED_DB`` (else 0).
    Then the imbalance is measured bin by bin (:func:`radiofm.dsp.iq_image.image_filter`, one step); the filter is
    well determined only where an image shows (:func:`~radiofm.dsp.iq_image.image_bins`), so only those bins judge.
    - An in-range imbalance is undone all the same (w kept) when the image of the capture's strongest carrier would
      stand more than ``IMAGE_SEEN_DB`` over the noise floor, as no image did in training
      (:func:`image_height_db`: the carrier's peak minus the worst rejection where an image shows, else the
      band-wide one; wherever the carrier's mirror lies: a carrier there now may switch off later). Carriers far
      stronger than the training's 30 dB in-band SNR make an in-range imbalance's images plain carriers.
    - The filter (refined, three steps) replaces w for a correction whose rejection varies by more than
      ``BAND_SPREAD_DB`` where images show (a constant fits only a flat profile; the images that a carrier switched
      on later would uncover are not measured yet), and where w leaves an image standing ``IMAGE_SEEN_DB`` over
      what else is in its bin (:func:`~radiofm.dsp.iq_image.strongest_image_db`) or a rejection under
      ``IQ_TRAINED_DB`` (:func:`~radiofm.dsp.iq_image.visible_rejection_db`; for an in-range capture also
      ``BAND_MARGIN_DB`` under its band-wide figure, so that the measurement's noise alone does not decide). The
      rejection reported is then the worst across the band.
    - Neither for a rejection of ``BALANCED_DB`` or more: the images of a noise-free capture stand over nothing.
    ``FIX_IMAGE_BANDS`` = False: the band-wide decision alone (session 33's).
    Since session 38 the band-wide figure leaves narrow lines out (:func:`~radiofm.dsp.iq_image.band_coefficient`:
    spurs after the mixer diluted it), the filter solves the equations of each of :func:`measured_spans` together,
    and the image height is judged over the quietest span's noise floor (:func:`image_height_db`)."""
    spans = measured_spans(x)
    whole = pair_statistics(x) if LINE_FREE_CONSTANT or spans == 1 else None
    w_band, irr = band_imbalance(x, whole)
    w = w_band if irr < IQ_TRAINED_DB else 0j
    if not FIX_IMAGE_BANDS:
        return w, irr, None, None
    stats = whole if spans == 1 else span_statistics(x, spans)
    h, power = image_filter(x, steps=1, spans=spans, stats=stats)
    worst, best = visible_rejection_db(h, power)  # where an image shows (inf: nowhere)
    rejection = irr if math.isinf(worst) else worst
    height = image_height_db(x, power, rejection, stats[1] if spans > 1 else None)
    if not w and rejection < BALANCED_DB and height > IMAGE_SEEN_DB:
        w = w_band
    varies = bool(w) and not math.isinf(worst) and best - worst > BAND_SPREAD_DB
    left, _ = visible_rejection_db(h, power, w)
    bound = IQ_TRAINED_DB if w else min(IQ_TRAINED_DB, irr - BAND_MARGIN_DB)
    if not varies and left >= bound and (left >= BALANCED_DB or strongest_image_db(h, power, w) <= IMAGE_SEEN_DB):
        return w, irr, None, None
    taps = refine_filter(x, h, 2, spans=spans)  # = image_filter(x, spans=spans), from the first step at hand
    worst, best = visible_rejection_db(taps, power)
    return 0j, worst, taps, (worst, best)


def band_imbalance(x: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[complex, float]:
    """(w, image rejection in dB) of the mixer over the whole band, as :func:`image_repair` first judges it:
    :func:`~radiofm.dsp.iq_image.band_coefficient` of ``x``'s pair statistics (``stats``, when at hand), narrow
    lines left out; with ``LINE_FREE_CONSTANT`` off, session 37's :func:`~radiofm.dsp.iq_image.image_coefficient`."""
    if not LINE_FREE_CONSTANT:
        return image_coefficient(x)
    return band_coefficient(*(pair_statistics(x) if stats is None else stats))


def measured_spans(x: np.ndarray) -> int:
    """Into how many equal parts :func:`image_repair` cuts ``x`` (the samples of :func:`image_samples`): one per span
    (``DETECT_SEGMENTS``) when each holds a whole segment of the pair statistics, else 1 (also with
    ``SPREAD_SPANS`` off: session 37's measurement, every statistic over all of ``x``)."""
    return DETECT_SEGMENTS if SPREAD_SPANS and len(x) >= DETECT_SEGMENTS * PAIR_NFFT else 1


def image_height_db(x: np.ndarray, power: np.ndarray, rejection_db: float, parts: np.ndarray | None = None) -> float:
    """How far (dB) the image of the strongest carrier in ``x`` would stand over the noise floor through a mixer of
    ``rejection_db``: :func:`~radiofm.dsp.iq_image.carrier_peak_db` of ``power`` (the average over all of ``x``)
    minus the rejection.

    The noise floor is the lowest of ``DETECT_SEGMENTS`` equal parts of ``x``, each measured on its own
    (:func:`~radiofm.dsp.iq_image.noise_floor`): carriers that fill the band for part of the time raise the floor of
    the average over all, and hid strong carriers' images behind it (docs/RESULTS.md, session 38). The peak stays
    the average's: a span's own peak also holds the fades and boosted sync blocks that the training's images had too.
    At most ``frontend.MAX_RANGE_DB``: the analysis floors everything further under the strongest carrier with
    noise, so an image that far down is never seen (a noise-free capture). With ``SPREAD_SPANS`` off, or fewer
    samples, session 37's figure: ``power``'s own floor. ``parts``: the parts' powers
    (:func:`~radiofm.dsp.iq_image.span_powers` of ``x``), when already at hand."""
    if measured_spans(x) == 1:
        return carrier_peak_db(power) - rejection_db
    parts = span_powers(x, DETECT_SEGMENTS) if parts is None else parts
    floor = min(noise_floor(q) for q in parts)
    return min(carrier_peak_db(power, floor), frontend.MAX_RANGE_DB) - rejection_db


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

    def read(
        self, start: int = 0, count: int | None = None, *, nonfinite: str = "error", counts: dict | None = None
    ) -> np.ndarray:
        return self.repair.read(self._rec, start, count, nonfinite, counts)


def cleaned(rec: Recording, repair: Repair | None):
    """``rec`` itself when there is nothing to undo, else a :class:`CleanedRecording`."""
    return CleanedRecording(rec, repair) if repair else rec
