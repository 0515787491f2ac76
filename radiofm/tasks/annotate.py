"""Annotate any NR/LTE recording with a segmentation model: one SigMF annotation per carrier and time span.

Front end (the model's, whatever the recording): the segmentation model was trained on 40 ms captures at
61.44 MS/s turned into 256x256 dB images (FFT 256, periodic Hann 240, hop 240, 40 frames averaged per column),
so a row is 240 kHz, a column 0.15625 ms, and the window lasts 3.906 us. Every recording is analysed at exactly
that resolution:

- **Sample rate** ``fs`` in [1.92, 491.52] MS/s (:data:`MIN_RATE_HZ`, :data:`MAX_RATE_HZ`). A multiple of
  3.84 MHz (every LTE/NR rate: 7.68, 15.36, 30.72, 61.44, 122.88, ...) is analysed directly with FFT
  ``fs / 240 kHz``, window and hop ``fs x 3.906 us`` — at 61.44 MS/s bit-identical to the training front end.
  Other rates (10, 20, 25, 100 MS/s, ...) are first resampled up to the next multiple of 3.84 MHz
  (``resample_poly``, Kaiser low-pass), and the rows beyond ``0.94 fs/2`` (no data, filter roll-off) are left
  out. Powers are scaled by ``(61.44 MHz / analysis rate)^2`` so a given PSD reads the same dB at any rate.
- **Frequency windows**: a band narrower than 61.44 MHz is centred in the 256-row image and the rows outside
  it are filled with noise matched to the recording's floor (Gamma-distributed like a 40-frame average), so
  the model never sees empty -120 dB bins; predictions there are dropped. A wider band is cut into 256-row
  windows every 128 rows (outer ones flush with the band edges); their probabilities are blended with
  triangular weights, so every carrier up to 30 MHz wide is seen whole, and centrally, by one window.
  Below 1.92 MS/s (the narrowest LTE carrier, 1.4 MHz, needs it) or above 491.52 MS/s is refused.
- **Duration**: the column stream is cut into 256-column frames (40 ms); the last frame is overlapped to end at
  the last whole column (probabilities averaged where frames overlap), so no frame holds samples beyond the data.
  Recordings of 10-40 ms (64-255 columns) are padded to one frame with a per-row noise-like continuation
  (each row's own floor level); padded columns are dropped. Shorter than 10 ms is refused. Samples after the
  last whole column (< 0.16 ms) are not analysed; a carrier active in the last column runs to the end.
- **Level**: the model saw carriers at a fixed absolute level (PSD -6..0 dB re 1/61.44 MHz, 12-24 dB in the
  image). An external capture may be scaled arbitrarily (int16 full scale, a receiver gain), so all images of a
  recording are shifted by the one dB offset that brings its carrier level (98th percentile over rows of each
  row's 80th percentile over time, from the whole recording when it fits one block, else from 8 frames spread
  over it) into that range; inside it nothing is shifted (``level="auto"``; ``"none"`` turns it off). Models
  that standardise each image (segmentation's default) are unaffected; models with dataset statistics need it.
- Long recordings are processed in blocks (32 frames, 1.28 s at 61.44 MS/s) so memory stays bounded; carriers
  continuing across block (and frame) boundaries are merged afterwards.

Post-processing (generic: nothing depends on where our generator puts carriers; :func:`carrier_boxes`):

1. a pixel is "carrier" when p(NR) + p(LTE), averaged over 3 columns in time, is >= ``threshold`` (default 0.5:
   noise is not the most likely class; lower it for weak carriers); a 3x3 opening removes specks; connected
   components (4-connectivity) in time x freq; a component needs a core of 16 pixels at >= threshold + 0.3
   (hysteresis: haze just above the threshold is no carrier);
2. per component: runs of 4+ rows (~1 MHz) whose power stays within 1.5 dB of the noise floor are a guard band
   the model bridged and are cut out; the band rows are those whose carrier fraction over the component's time
   span exceeds 0.5 (carriers are rectangular); each row takes the class with the larger summed probability;
   rows are cut into runs of one class — an NR carrier touching an LTE one gives two boxes, but runs where the
   model is torn (class margin < 0.2) are joined under the majority class, and 1-row slivers are absorbed;
   two same-class carriers with no visible gap stay one box (neither the model nor the spectrum separates them);
3. per band: its columns are those where more than half the band's rows are carrier; off-gaps up to 6 columns
   (0.94 ms: empty subframes of a lightly loaded carrier, one TDD uplink slot) are bridged, longer ones split
   the carrier in time;
4. what the boxes leave of a component: a piece touching a box of its own class is that box's ragged fringe
   (the box is widened over it when it runs along at least half the box, else it is dropped); other pieces
   of at least 5 ms (a shorter carrier beside a longer one) are processed as components again;
5. a box must stand at least 0.3 dB above the rows just beside it (an SNR -6 dB carrier is ~1 dB above the
   floor): this rejects a model's hallucinations on plain noise; boxes of one class and band (+-1 row)
   touching in time are merged (also across frames and blocks);
6. boxes shorter than ``min_duration_ms`` (1 ms) or narrower than ``min_bandwidth_khz`` (900 kHz: the narrowest
   carrier, LTE 1.4 MHz, occupies 1.08 MHz = 4-5 rows) are dropped; a box crossing a capture boundary with a
   new centre frequency is split there.

Each annotation: ``core:sample_start``/``core:sample_count`` (column edges mapped back to recording samples),
``core:freq_lower_edge``/``core:freq_upper_edge`` (row edges, absolute Hz from the capture's centre frequency;
relative to 0 when unknown), ``core:label`` "NR"/"LTE", ``radiofm:confidence`` (mean probability of that class
inside the box). Accuracy: edges within one row (240 kHz) and one column (0.16 ms) of the model's map.

Assumptions: complex baseband IQ (real-valued recordings are refused), one channel, downlink NR/LTE carriers
that are rectangular in time x frequency at 240 kHz x 0.16 ms resolution (constant bandwidth while on), a
roughly flat noise floor (the floor estimate, the noise fill and the gap/contrast checks rely on it) that
occupies at least ~10 % of the band somewhere in time, and a model trained on the 61.44 MS/s front end above.
Measured with a mid-training vit-tiny model (pixel accuracy ~0.95) on 10 generator test frames per case
(native 61.44 MS/s, decimated to 30.72 and 25 MS/s, embedded in 122.88 MS/s, 53 ms long): 79 of 82 carriers
found (IoU > 0.5), edges within 0.2-0.4 MHz (median) / 0.7-1.2 MHz (90th percentile), 0-4 false boxes per
10 captures; most remaining errors were that model's NR/LTE label confusions.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from radiofm.data.recording import Annotation, Recording
from radiofm.errors import RecordingError
from radiofm.synth.nrlte import CLASSES, SAMPLE_RATE_HZ, stft_params

MODEL_RATE_HZ = float(SAMPLE_RATE_HZ)  # 61.44 MS/s
IMAGE = 256  # rows (FFT bins) and columns of one model image
ROW_HZ = MODEL_RATE_HZ / IMAGE  # 240 kHz
POOL = stft_params(IMAGE, IMAGE)["pool"]  # 40 STFT frames averaged per column
RATE_STEP_HZ = 3.84e6  # analysis rates are multiples of it: 16 bins of 240 kHz, a 15-sample window of 3.906 us
MIN_RATE_HZ = 1.92e6
MAX_RATE_HZ = 8 * MODEL_RATE_HZ
MIN_COLUMNS = 64  # 10 ms: shorter recordings are refused
EDGE_MARGIN = 0.06  # fraction of each resampled band edge left out (filter roll-off)
GAP_COLUMNS = 6  # off-gaps bridged inside a carrier (0.94 ms: empty subframes at low load, one TDD UL slot)
STRONG_MARGIN, STRONG_PIXELS = 0.3, 16  # a carrier holds a 4x4 core with p(carrier) >= threshold + 0.3
QUIET_RATIO, QUIET_ROWS = 10 ** (1.5 / 10), 4  # 4+ rows (~1 MHz) within 1.5 dB of the floor: a gap, not a carrier
MIN_CONTRAST_DB = 0.3  # a box must be this much above the rows beside it (an SNR -6 dB carrier: about +1 dB)
LEFTOVER_COLUMNS = 32  # 5 ms: shortest piece beside a longer carrier taken as a carrier of its own
BLOCK_FRAMES = 32
LABELS = {1: CLASSES[1], 2: CLASSES[2]}  # class index -> "NR" / "LTE"
# carrier level of our training frames (see _level_shift): 12.4..23.3 dB over 50 train/test frames
TRAIN_LEVEL_DB = (12.0, 24.0)
_GAMMA20 = 0.8650867  # 20th percentile of Gamma(40, 1/40): a 40-frame average of noise power, per unit mean
_CHUNK_SAMPLES = 5_000_000  # analysis samples per read


@dataclass(frozen=True)
class FrameInfo:
    """Where one 256x256 image sits: its first column, the offset of its centre row, and the scales."""

    column: int  # first analysis column (0 = recording start)
    center_offset_hz: float  # frequency of image row 128 relative to the recording's centre
    row_hz: float  # width of one row (240 kHz)
    samples_per_column: float  # recording samples per column


# predictor(images_db (N, 256, 256) float32, frames (N,)) -> class probabilities (N, 3, 256, 256)
Predictor = Callable[[np.ndarray, Sequence[FrameInfo]], np.ndarray]


def model_predictor(model, info: dict, *, batch_size: int = 16, device: str = "cpu") -> Predictor:
    """A :data:`Predictor` around a model from :func:`radiofm.tasks.segmentation.load_segmentation_model`."""
    from radiofm.tasks.segmentation import predict

    def run(images: np.ndarray, frames: Sequence[FrameInfo]) -> np.ndarray:
        return predict(model, images, info=info, batch_size=batch_size, device=device)

    return run


@dataclass(frozen=True)
class Plan:
    """How a recording maps onto the model's grid (see the module docstring).

    The analysis spectrogram has ``n_bins`` rows of 240 kHz (row ``a`` centred on ``(a - n_bins/2) * row_hz``
    from the recording's centre) and columns of 0.15625 ms. Model images are 256-row slices of it starting at
    the rows in ``windows`` (negative: the image reaches beyond the band and is padded with noise).
    """

    sample_rate_hz: float
    n_samples: int
    up: int  # resampling ratio: analysis rate = fs * up / down, a multiple of 3.84 MHz
    down: int
    n_bins: int
    n_columns: int
    windows: tuple[int, ...]
    grid: tuple[int, int]  # analysis rows [lo, hi) inside the recorded band: analysed and annotated

    @property
    def analysis_rate_hz(self) -> float:
        return self.sample_rate_hz * self.up / self.down

    @property
    def row_hz(self) -> float:
        return self.analysis_rate_hz / self.n_bins

    @property
    def win_length(self) -> int:
        return self.n_bins * 15 // 16

    @property
    def analysis_per_column(self) -> int:
        return self.win_length * POOL

    @property
    def samples_per_column(self) -> float:
        return self.analysis_per_column * self.down / self.up

    @property
    def resampled(self) -> bool:
        return self.up != self.down

    @property
    def n_rows(self) -> int:
        return self.grid[1] - self.grid[0]

    def row_freq_hz(self, a) -> np.ndarray:
        """Centre frequency (Hz from the recording centre) of analysis row(s) ``a``."""
        return (np.asarray(a) - self.n_bins / 2) * self.row_hz


def plan_analysis(sample_rate_hz: float, n_samples: int, *, name: str = "recording") -> Plan:
    """Check the rate and duration and lay out the analysis; RecordingError naming what is supported otherwise."""
    fs = float(sample_rate_hz)
    supported = f"annotate supports {MIN_RATE_HZ / 1e6:g}-{MAX_RATE_HZ / 1e6:g} MS/s"
    if fs < MIN_RATE_HZ:
        raise RecordingError(
            f"{name}: sample rate {fs:g} Hz is below the {MIN_RATE_HZ / 1e6:g} MHz minimum (LTE 1.4 MHz needs "
            f"1.92 MS/s); {supported}"
        )
    if fs > MAX_RATE_HZ:
        raise RecordingError(
            f"{name}: sample rate {fs:g} Hz is above the {MAX_RATE_HZ / 1e6:g} MHz maximum; {supported} "
            "(decimate the recording first)"
        )
    mult = fs / RATE_STEP_HZ
    if abs(mult - round(mult)) < 1e-9 * mult:  # a multiple of 3.84 MHz (all LTE/NR rates): analysed directly
        k, up, down = int(round(mult)), 1, 1
    else:  # resampled up to the next multiple
        k = math.ceil(mult)
        ratio = (Fraction(int(k * RATE_STEP_HZ)) / Fraction(fs).limit_denominator(10**6)).limit_denominator(1000)
        up, down = ratio.numerator, ratio.denominator
    n_bins = 16 * k
    n_columns = int(n_samples * up // (down * 15 * k * POOL))
    if n_columns < MIN_COLUMNS:
        raise RecordingError(
            f"{name} is {n_samples / fs * 1e3:.3g} ms long ({n_samples} samples); annotate needs at least "
            f"{MIN_COLUMNS * 40e-3 / IMAGE * 1e3:g} ms ({math.ceil(MIN_COLUMNS * 15 * k * POOL * down / up)} samples "
            f"at {fs:g} Hz)"
        )
    grid = (0, n_bins)
    if up != down:  # drop the rows beyond the recorded band (and the resampling filter's roll-off)
        row_hz = fs * up / down / n_bins
        edge = int(np.floor(fs / 2 * (1 - EDGE_MARGIN) / row_hz - 0.5))
        grid = (n_bins // 2 - edge, n_bins // 2 + edge + 1)
    if n_bins <= IMAGE:
        windows = ((n_bins - IMAGE) // 2,)
    else:  # 256-row windows every 128 rows (or a little less), the outer ones flush with the band edges
        n_win = math.ceil((n_bins - IMAGE) / (IMAGE // 2)) + 1
        windows = tuple(int(round(w)) for w in np.linspace(0, n_bins - IMAGE, n_win))
    return Plan(fs, n_samples, up, down, n_bins, n_columns, windows, grid)


# ------------------------------------------------------------------------------------------ front end


@dataclass
class _Filter:
    taps: np.ndarray  # float32 low-pass for resample_poly
    pad: int  # input samples read beyond each side of a chunk


def _design_filter(up: int, down: int) -> _Filter:
    from scipy.signal import firwin

    rate = max(up, down)
    half = 24 * rate
    taps = firwin(2 * half + 1, 1.0 / rate, window=("kaiser", 8.0)).astype(np.float32)
    return _Filter(taps, int(math.ceil(half / up)) + 2)


def _window_weights(plan: Plan) -> np.ndarray:
    """(256,) blending weight of a window's rows: triangular (sums to ~1 over half-overlapping windows)."""
    if len(plan.windows) == 1:
        return np.ones(IMAGE, dtype=np.float32)
    d = np.abs(np.arange(IMAGE) - (IMAGE - 1) / 2) / (IMAGE / 2)
    return np.clip(1.0 - d, 0.02, 1.0).astype(np.float32)


def _read(rec: Recording, start: int, count: int, nonfinite: str, stats: dict) -> np.ndarray:
    if nonfinite == "error":
        try:
            return rec.read(start, count)
        except RecordingError as exc:
            if "non-finite" not in str(exc):
                raise
            raise RecordingError(
                f"{rec.path}: {_count_nonfinite(rec)} non-finite (NaN/Inf) samples; repair them (set to 0) with "
                "--repair-nonfinite (nonfinite='repair')"
            ) from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = rec.read(start, count, nonfinite="repair")
    for w in caught:
        m = re.search(r"repaired (\d+)", str(w.message))
        stats["repaired"] = stats.get("repaired", 0) + (int(m.group(1)) if m else 0)
    return x


def _count_nonfinite(rec: Recording, chunk: int = 1 << 22) -> int:
    counted: dict = {}
    for start in range(0, rec.n_samples, chunk):
        _read(rec, start, min(chunk, rec.n_samples - start), "repair", counted)
    return int(counted.get("repaired", 0))


def _columns_power(rec: Recording, plan: Plan, flt: _Filter | None, c0: int, c1: int, nonfinite, stats) -> np.ndarray:
    """Linear power of analysis columns [c0, c1): float32 (n_bins, c1 - c0), on the 61.44 MS/s power scale."""
    from scipy.signal import resample_poly

    from radiofm.dsp import spectrogram

    a0, a1 = c0 * plan.analysis_per_column, c1 * plan.analysis_per_column  # analysis samples
    if flt is None:
        x = _read(rec, a0, a1 - a0, nonfinite, stats)
    else:
        up, down = plan.up, plan.down
        k0 = max(0, (a0 * down // up - flt.pad) // down)  # start on a multiple of down: output stays on the grid
        i0, i1 = k0 * down, min(rec.n_samples, -(-a1 * down // up) + flt.pad)
        x = resample_poly(_read(rec, i0, i1 - i0, nonfinite, stats), up, down, window=flt.taps)
        j0 = a0 - k0 * up
        x = x[j0 : j0 + a1 - a0]
    win = plan.win_length
    power = spectrogram(x, fft_size=plan.n_bins, win_length=win, hop=win, log=False)
    power = power[:, : (c1 - c0) * POOL].reshape(plan.n_bins, c1 - c0, POOL).mean(axis=2)
    if plan.n_bins != IMAGE:  # same PSD -> same dB as at 61.44 MS/s: |X|^2 grows with (rate x window length)
        power *= np.float32((IMAGE / plan.n_bins) ** 2)
    return power


def _floor(power: np.ndarray, axis=None) -> np.ndarray:
    """Noise floor (linear) of 40-frame averages: a low percentile over time per row, corrected for its bias."""
    per_row = np.percentile(power, 20, axis=-1) / _GAMMA20
    return per_row if axis is not None else np.percentile(per_row, 10)


def _noise(floor, shape, rng: np.random.Generator) -> np.ndarray:
    return (floor * rng.gamma(float(POOL), 1.0 / POOL, size=shape)).astype(np.float32)


def _level_shift(dbs: Sequence[np.ndarray]) -> float:
    """dB to add so the carrier level falls in TRAIN_LEVEL_DB (0 when inside): the 98th percentile over rows of
    each row's 80th percentile over time, which follows carriers active at least a fifth of the time."""
    level = float(np.percentile(np.concatenate([np.percentile(d, 80, axis=1) for d in dbs]), 98))
    lo, hi = TRAIN_LEVEL_DB
    return lo - level if level < lo else (hi - level if level > hi else 0.0)


def _block_power(rec, plan, flt, c0, c1, nonfinite, stats) -> np.ndarray:
    """Linear power of the kept rows (grid) for columns [c0, c1): float32 (n_rows, c1 - c0)."""
    step = max(1, _CHUNK_SAMPLES // plan.analysis_per_column)
    parts = [_columns_power(rec, plan, flt, c, min(c + step, c1), nonfinite, stats) for c in range(c0, c1, step)]
    return np.concatenate(parts, axis=1)[plan.grid[0] : plan.grid[1]]


def _window_image(plan: Plan, power: np.ndarray, start: int, floor: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """One window's power rows (256, max(T, 256)): kept rows copied, the rest noise at ``floor``; recordings
    shorter than a frame continue each row with noise at its own floor. Returns (power, kept rows bool (256,))."""
    a = start + np.arange(IMAGE)
    kept = (a >= plan.grid[0]) & (a < plan.grid[1])
    t = power.shape[1]
    img = np.empty((IMAGE, t), dtype=np.float32)
    img[kept] = power[a[kept] - plan.grid[0]]
    if not kept.all():
        img[~kept] = _noise(floor, (int((~kept).sum()), t), rng)
    if t < IMAGE:
        img = np.concatenate([img, _noise(_floor(img, axis=1)[:, None], (IMAGE, IMAGE - t), rng)], axis=1)
    return img, kept


def _frame_starts(n_cols: int) -> list[int]:
    starts = list(range(0, max(n_cols - IMAGE, 0) + 1, IMAGE))
    if n_cols > IMAGE and starts[-1] + IMAGE < n_cols:
        starts.append(n_cols - IMAGE)
    return starts


# ------------------------------------------------------------------------------------------ post-processing


@dataclass
class Box:
    """A detected carrier on a probability map: rows [row_lo, row_hi] (inclusive), columns [col_lo, col_hi)."""

    row_lo: int
    row_hi: int
    col_lo: int
    col_hi: int
    cls: int  # 1 NR, 2 LTE
    prob_sum: float  # sum of p(cls) over the box
    n_pixels: int

    @property
    def confidence(self) -> float:
        return self.prob_sum / max(self.n_pixels, 1)


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal values: [(start, stop, value), ...]."""
    v = np.asarray(values)
    cut = np.flatnonzero(v[1:] != v[:-1]) + 1
    bounds = np.concatenate([[0], cut, [v.size]])
    return [(int(a), int(b), int(v[a])) for a, b in zip(bounds[:-1], bounds[1:])]


def _clean_row_classes(cls: np.ndarray, min_rows: int) -> np.ndarray:
    """Fill 1-row holes inside a band and hand class runs narrower than ``min_rows`` that touch a run of the
    other class to their wider neighbour (boundary rows, a model hesitating between NR and LTE)."""
    cls = cls.copy()
    for _ in range(cls.size):
        runs = _runs(cls)
        changed = False
        for i, (a, b, v) in enumerate(runs):
            left = runs[i - 1] if i else None
            right = runs[i + 1] if i + 1 < len(runs) else None
            if v == 0 and b - a == 1 and left and right and left[2] == right[2] != 0:
                cls[a:b], changed = left[2], True
            elif v != 0 and b - a < min_rows:
                nbrs = [r for r in (left, right) if r and r[2] not in (0, v)]
                if nbrs:
                    cls[a:b], changed = max(nbrs, key=lambda r: r[1] - r[0])[2], True
            if changed:
                break
        if not changed:
            return cls
    return cls


def _merge_unsure_classes(cls: np.ndarray, s_nr: np.ndarray, s_lte: np.ndarray, margin: float = 0.2) -> np.ndarray:
    """Join touching NR and LTE row runs unless both are clear-cut (class margin >= ``margin``): a model torn
    between the two classes must not cut one carrier in two. The joined run takes the larger summed class."""
    cls = cls.copy()
    while True:
        runs = [r for r in _runs(cls) if r[2]]
        for (a, b, u), (c, d, v) in zip(runs[:-1], runs[1:]):
            if b != c or u == v:
                continue
            sure = [
                abs(s_nr[x:y].sum() - s_lte[x:y].sum()) / max(s_nr[x:y].sum() + s_lte[x:y].sum(), 1e-9)
                for x, y in ((a, b), (c, d))
            ]
            if min(sure) < margin:
                cls[a:d] = 1 if s_nr[a:d].sum() >= s_lte[a:d].sum() else 2
                break
        else:
            return cls


def _contrast_db(power: np.ndarray, box: Box, others: Sequence[Box], *, guard: int = 1, width: int = 4) -> float | None:
    """Mean power inside ``box`` over that of the rows just beside it (same columns, skipping ``guard`` rows and
    rows of other boxes at the same time), in dB, using the quieter side; None when no side row is free."""
    cols = slice(box.col_lo, box.col_hi)
    busy = np.zeros(power.shape[0], bool)
    for o in others:
        if o is not box and o.col_lo < box.col_hi and o.col_hi > box.col_lo:
            busy[max(o.row_lo - guard, 0) : o.row_hi + guard + 1] = True
    sides = []
    for r0, r1 in (
        (box.row_lo - guard - width, box.row_lo - guard),
        (box.row_hi + 1 + guard, box.row_hi + 1 + guard + width),
    ):
        rows = [r for r in range(max(r0, 0), min(r1, power.shape[0])) if not busy[r]]
        if rows:
            sides.append(float(power[rows, cols].mean()))
    if not sides:
        return None
    inside = float(power[box.row_lo : box.row_hi + 1, cols].mean())
    return 10 * math.log10(max(inside, 1e-30) / max(min(sides), 1e-30))


def _on_runs(on: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs of True, bridging False gaps of at most ``gap`` between them."""
    runs = [(a, b) for a, b, v in _runs(on) if v]
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def carrier_boxes(
    probs: np.ndarray,
    *,
    threshold: float = 0.5,
    min_rows: int = 1,
    gap_columns: int = GAP_COLUMNS,
    min_leftover_columns: int = LEFTOVER_COLUMNS,
    smooth_columns: int = 3,
    strong_margin: float = STRONG_MARGIN,
    power: np.ndarray | None = None,
    floor: float = 0.0,
) -> list[Box]:
    """Boxes (one per carrier and time run) from class probabilities ``probs`` (3, F, T); see the module docstring.

    Rows and columns of the boxes index ``probs``. The carrier mask is taken after a ``smooth_columns`` moving
    average in time (a symmetric filter: on/off edges stay put); confidences use the raw probabilities. A piece
    a component's boxes leave over that touches a box of its own class is that box's ragged fringe: the box is
    widened to cover it when it runs along at least half of the box, else it is dropped. Other pieces are
    carriers of their own (a shorter carrier beside a longer one) when at least ``min_rows`` high and
    ``min_leftover_columns`` long. No other size filter. With the linear ``power`` (F, T) of the same grid and
    its noise ``floor``, runs of 4 or more rows (~1 MHz) within 1.5 dB of the floor over a component's time span
    are never part of a carrier (a guard band the model bridged; shorter runs may be a fading notch).
    """
    from scipy import ndimage

    p_nr, p_lte = probs[1], probs[2]
    smooth = ndimage.uniform_filter1d(p_nr + p_lte, smooth_columns, axis=-1) if smooth_columns > 1 else p_nr + p_lte
    signal = ndimage.binary_opening(smooth >= threshold, structure=np.ones((min(3, max(min_rows, 1)), 3), bool))
    queue = []
    labels, n = ndimage.label(signal)
    # hysteresis: a component needs a core of confident pixels; weak haze (p just over threshold) is dropped
    strong = np.bincount(labels[smooth >= min(threshold + strong_margin, 0.95)], minlength=n + 1)
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is not None and strong[i] >= STRONG_PIXELS:
            queue.append((labels[sl] == i, sl[0].start, sl[1].start))
    boxes: list[Box] = []
    budget = 10_000  # leftovers shrink strictly; this only guards against pathological maps
    while queue and budget:
        budget -= 1
        sub, r_off, c_off = queue.pop()
        area = (slice(r_off, r_off + sub.shape[0]), slice(c_off, c_off + sub.shape[1]))
        if power is not None:  # rows at the noise floor are a gap between carriers, whatever the model says
            quiet = power[area].mean(axis=1) <= floor * QUIET_RATIO
            gaps = [(a, b) for a, b, v in _runs(quiet) if v and b - a >= QUIET_ROWS]  # not a fade notch
            if gaps:
                sub = sub.copy()
                for a, b in gaps:
                    sub[a:b] = False
            if not sub.any():
                continue
        frac = sub.mean(axis=1)
        active = frac > 0.5
        if not active.any():
            active = frac >= 0.5 * frac.max()
        s_nr, s_lte = (p_nr[area] * sub).sum(axis=1), (p_lte[area] * sub).sum(axis=1)
        row_cls = _clean_row_classes(np.where(active, np.where(s_lte > s_nr, 2, 1), 0), min_rows)
        row_cls = _merge_unsure_classes(row_cls, s_nr, s_lte)
        consumed = np.zeros_like(sub)
        emitted: list[Box] = []
        for r0, r1, k in _runs(row_cls):
            if k == 0:
                continue
            on = sub[r0:r1].mean(axis=0) > 0.5
            for c0, c1 in _on_runs(on, gap_columns):
                consumed[r0:r1, c0:c1] = True
                emitted.append(Box(r_off + r0, r_off + r1 - 1, c_off + c0, c_off + c1, k, 0.0, 0))
        rest = sub & ~consumed
        if consumed.any() and rest.any():
            lab, _ = ndimage.label(rest)
            for i, (rs, cs) in enumerate(ndimage.find_objects(lab), start=1):
                piece = lab[rs, cs] == i
                lo, hi, c0, c1 = r_off + rs.start, r_off + rs.stop - 1, c_off + cs.start, c_off + cs.stop
                k = 2 if (p_lte[lo : hi + 1, c0:c1] * piece).sum() > (p_nr[lo : hi + 1, c0:c1] * piece).sum() else 1
                host = next(
                    (
                        b
                        for b in emitted
                        if b.cls == k and lo <= b.row_hi + 1 and hi >= b.row_lo - 1 and c0 < b.col_hi and c1 > b.col_lo
                    ),
                    None,
                )
                if host is not None:  # the ragged fringe of a box: widen the box if it runs along most of it
                    if min(c1, host.col_hi) - max(c0, host.col_lo) >= 0.5 * (host.col_hi - host.col_lo):
                        host.row_lo, host.row_hi = min(host.row_lo, lo), max(host.row_hi, hi)
                elif hi - lo + 1 >= min_rows and c1 - c0 >= min_leftover_columns:
                    queue.append((piece, lo, c_off + cs.start))
        for b in emitted:
            p = (p_nr if b.cls == 1 else p_lte)[b.row_lo : b.row_hi + 1, b.col_lo : b.col_hi]
            b.prob_sum, b.n_pixels = float(p.sum()), p.size
            boxes.append(b)
    return merge_boxes(boxes, gap_columns=gap_columns)  # pieces split by a short dropout


def merge_boxes(boxes: Sequence[Box], *, gap_columns: int = GAP_COLUMNS, row_tolerance: int = 1) -> list[Box]:
    """Merge boxes of one class and band (edges within ``row_tolerance``) that touch or overlap in time."""
    out: list[Box] = []
    for b in sorted(boxes, key=lambda b: (b.col_lo, b.row_lo)):
        for m in out:
            if (
                m.cls == b.cls
                and abs(m.row_lo - b.row_lo) <= row_tolerance
                and abs(m.row_hi - b.row_hi) <= row_tolerance
                and b.col_lo <= m.col_hi + gap_columns
                and m.col_lo <= b.col_hi + gap_columns
            ):
                m.row_lo, m.row_hi = min(m.row_lo, b.row_lo), max(m.row_hi, b.row_hi)
                m.col_lo, m.col_hi = min(m.col_lo, b.col_lo), max(m.col_hi, b.col_hi)
                m.prob_sum += b.prob_sum
                m.n_pixels += b.n_pixels
                break
        else:
            out.append(Box(**vars(b)))
    return out


# ------------------------------------------------------------------------------------------ the whole recording


@dataclass
class AnnotateResult:
    """Annotations plus what the overlay picture and the report need."""

    annotations: list[Annotation]
    plan: Plan
    picture_db: np.ndarray  # (rows, P) decimated spectrogram on the kept rows, row 0 lowest frequency
    picture_extent: tuple[float, float, float, float]  # (t0_s, t1_s, f_lo_hz, f_hi_hz) relative frequencies
    level_shift_db: float = 0.0  # added to every image (level="auto")
    n_repaired: int = 0


def annotate_recording(
    rec: Recording,
    predictor: Predictor,
    *,
    threshold: float = 0.5,
    min_duration_ms: float = 1.0,
    min_bandwidth_khz: float = 900.0,
    batch_size: int = 16,
    nonfinite: str = "error",
    level: str = "auto",
    block_frames: int = BLOCK_FRAMES,
    min_contrast_db: float = MIN_CONTRAST_DB,
    max_picture_columns: int = 2000,
    seed: int = 0,
    progress: bool = False,
) -> AnnotateResult:
    """Detect NR/LTE carriers in ``rec`` with ``predictor`` (see :data:`Predictor`); reads ``rec`` only.

    Raises RecordingError for an unsupported sample rate, a recording under 10 ms, a real-valued datatype, or
    non-finite samples (unless ``nonfinite="repair"``).
    """
    from tqdm import tqdm

    if not rec.is_complex:
        raise RecordingError(f"{rec.path}: real-valued datatype {rec.datatype}; annotate needs complex IQ")
    if level not in ("auto", "none"):
        raise ValueError(f"level must be 'auto' or 'none', not {level!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    plan = plan_analysis(rec.sample_rate_hz, rec.n_samples, name=f"recording {rec.path}")
    flt = _design_filter(plan.up, plan.down) if plan.resampled else None
    weights = _window_weights(plan)
    rng = np.random.default_rng(seed)
    stats: dict = {}
    min_rows = max(1, int(min_bandwidth_khz * 1e3 / plan.row_hz))
    n_cols, lo = plan.n_columns, plan.grid[0]
    block = IMAGE * max(1, block_frames // len(plan.windows))
    n_blocks = max(1, n_cols // block)
    bounds = [(i * block, (i + 1) * block if i < n_blocks - 1 else n_cols) for i in range(n_blocks)]
    q = max(1, math.ceil(n_cols / max_picture_columns))
    pic_sum = np.zeros((plan.n_rows, math.ceil(n_cols / q)), dtype=np.float64)
    pic_n = np.zeros(pic_sum.shape[1], dtype=np.int64)
    wsum = np.zeros(plan.n_rows, dtype=np.float32)  # blending weights per kept row, summed over windows
    for w0 in plan.windows:
        a = w0 + np.arange(IMAGE)
        kept = (a >= lo) & (a < plan.grid[1])
        wsum[a[kept] - lo] += weights[kept]

    power = None
    shift = 0.0
    if level == "auto":  # one gain for the whole recording, from up to 8 frames spread over it
        if n_blocks == 1:
            power = _block_power(rec, plan, flt, 0, n_cols, nonfinite, stats)
            sample = [power]
        else:
            picks = np.linspace(0, n_cols - IMAGE, 8).astype(int)
            sample = [_block_power(rec, plan, flt, c, c + IMAGE, nonfinite, stats) for c in picks]
        shift = _level_shift([10 * np.log10(p + 1e-12) for p in sample])
    gain = np.float32(10 ** (shift / 10))

    total = sum(len(_frame_starts(max(b - a, IMAGE))) for a, b in bounds) * len(plan.windows)
    bar = tqdm(total=total, disable=not progress, unit="frame", desc="annotate")
    boxes: list[Box] = []
    for b0, b1 in bounds:
        length = b1 - b0
        if power is None or power.shape[1] != length:
            power = _block_power(rec, plan, flt, b0, b1, nonfinite, stats)
        if shift:
            power *= gain
        _add_picture(pic_sum, pic_n, power, b0, q)
        floor = _floor(power) if plan.resampled or plan.n_bins < IMAGE else 0.0
        starts = _frame_starts(max(length, IMAGE))
        cover = np.zeros(max(length, IMAGE), dtype=np.float32)
        for s in starts:
            cover[s : s + IMAGE] += 1
        acc = np.zeros((2, plan.n_rows, length), dtype=np.float32)
        images, infos, where = [], [], []
        for w0 in plan.windows:
            img, kept = _window_image(plan, power, w0, floor, rng)
            db = 10.0 * np.log10(img + 1e-12, dtype=np.float32)
            centre = float(plan.row_freq_hz(w0 + IMAGE // 2))
            for s in starts:
                images.append(db[:, s : s + IMAGE])
                infos.append(FrameInfo(b0 + s, centre, plan.row_hz, plan.samples_per_column))
                where.append((w0, s, kept))
        for i in range(0, len(images), batch_size):
            probs = np.asarray(predictor(np.stack(images[i : i + batch_size]), infos[i : i + batch_size]))
            for p, (w0, s, kept) in zip(probs, where[i : i + batch_size]):
                n, rows = min(IMAGE, length - s), w0 + np.flatnonzero(kept) - lo
                acc[:, rows, s : s + n] += weights[kept][None, :, None] * p[1:3, kept, :n]
            bar.update(len(probs))
        acc /= wsum[None, :, None] * cover[None, None, :length]
        full = np.concatenate([np.clip(1.0 - acc.sum(axis=0, keepdims=True), 0.0, 1.0), acc])
        found = carrier_boxes(full, threshold=threshold, min_rows=min_rows, power=power, floor=_floor(power))
        for b in found:  # a carrier must stand above the spectrum beside it (not a model hallucination on noise)
            contrast = _contrast_db(power, b, found)
            if contrast is None or contrast >= min_contrast_db:
                b.col_lo, b.col_hi = b.col_lo + b0, b.col_hi + b0
                boxes.append(b)
        power = None
    bar.close()

    boxes = merge_boxes(boxes)
    min_cols = min_duration_ms * 1e-3 * plan.sample_rate_hz / plan.samples_per_column
    boxes = [b for b in boxes if b.col_hi - b.col_lo >= min_cols - 1e-9 and b.row_hi - b.row_lo + 1 >= min_rows]
    picture = (10 * np.log10(pic_sum / np.maximum(pic_n, 1)[None, :] + 1e-12)).astype(np.float32)
    f_lo, f_hi = plan.row_freq_hz(plan.grid[0] - 0.5), plan.row_freq_hz(plan.grid[1] - 0.5)
    extent = (0.0, n_cols * plan.samples_per_column / plan.sample_rate_hz, float(f_lo), float(f_hi))
    return AnnotateResult(
        _to_annotations(boxes, rec, plan), plan, picture, extent, shift, int(stats.get("repaired", 0))
    )


def _add_picture(pic_sum: np.ndarray, pic_n: np.ndarray, power: np.ndarray, b0: int, q: int) -> None:
    """Accumulate columns of ``power`` (rows, T) starting at column ``b0`` into ``q``-column picture bins."""
    cols = (b0 + np.arange(power.shape[1])) // q
    np.add.at(pic_sum.T, cols, power.T)
    np.add.at(pic_n, cols, 1)


def _to_annotations(boxes: Sequence[Box], rec: Recording, plan: Plan) -> list[Annotation]:
    """Boxes on the global grid -> annotations in recording samples and absolute Hz, split at retunes."""
    fs, n, spc = plan.sample_rate_hz, plan.n_samples, plan.samples_per_column
    caps = sorted(rec.captures, key=lambda c: c.sample_start) or []
    out = []
    for b in boxes:
        start = int(round(b.col_lo * spc))
        stop = n if b.col_hi >= plan.n_columns else int(round(b.col_hi * spc))
        lo = max(float(plan.row_freq_hz(plan.grid[0] + b.row_lo - 0.5)), -fs / 2)  # box rows count from grid[0]
        hi = min(float(plan.row_freq_hz(plan.grid[0] + b.row_hi + 0.5)), fs / 2)
        pieces: list[list] = []  # [start, stop, centre] per run of captures with one centre frequency
        for i, c in enumerate(caps):
            a = max(start, c.sample_start) if pieces else start
            z = min(stop, caps[i + 1].sample_start if i + 1 < len(caps) else n)
            if a >= z:
                continue
            if pieces and pieces[-1][2] == c.center_freq_hz:
                pieces[-1][1] = z
            else:
                pieces.append([a, z, c.center_freq_hz])
        for a, z, fc in pieces or [[start, stop, None]]:
            base = fc or 0.0
            out.append(
                Annotation(
                    sample_start=a,
                    sample_count=z - a,
                    freq_lower_edge_hz=base + lo,
                    freq_upper_edge_hz=base + hi,
                    label=LABELS[b.cls],
                    extra={"radiofm:confidence": round(b.confidence, 4)},
                )
            )
    out.sort(key=lambda a: (a.sample_start, a.freq_lower_edge_hz))
    return out


# ------------------------------------------------------------------------------------------ outputs


def output_paths(prefix: str | Path) -> dict[str, Path]:
    """``PREFIX`` (with or without .sigmf-meta/.sigmf-data/.png) -> {"meta", "data", "png"} paths."""
    p = Path(prefix)
    if p.name.lower().endswith((".sigmf-meta", ".sigmf-data", ".png")):
        p = p.with_suffix("")
    return {
        k: p.with_name(p.name + ext) for k, ext in (("meta", ".sigmf-meta"), ("data", ".sigmf-data"), ("png", ".png"))
    }


def check_outputs(rec: Recording, prefix: str | Path) -> dict[str, Path]:
    """The output paths for ``prefix``; RecordingError when one of them is the input's metadata or data file."""
    paths = output_paths(prefix)
    for out in paths.values():
        for src in (rec.path, rec.data_path):
            if _same_file(out, src) or out.resolve() == Path(src).resolve():
                raise RecordingError(f"output {out} would overwrite the input recording {src}; choose another --out")
    return paths


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def write_annotated(
    rec: Recording, result: AnnotateResult, prefix: str | Path, *, model: str | None = None
) -> dict[str, Path]:
    """Write ``PREFIX.sigmf-meta`` + ``PREFIX.sigmf-data`` (the input's bytes, copied in chunks) + ``PREFIX.png``.

    All three appear together or not at all (temporary names, renamed at the end); the input is only read.
    """
    from sigmf import __specification__

    from radiofm import __version__
    from radiofm.io import atomic_path

    paths = check_outputs(rec, prefix)
    is_npy = rec.path.suffix.lower() == ".npy"
    if is_npy:
        glob = {"core:datatype": rec.datatype, "core:sample_rate": rec.sample_rate_hz}
        caps: list[dict] = [{"core:sample_start": 0}]
        if rec.center_freq_hz is not None:
            caps[0]["core:frequency"] = rec.center_freq_hz
        data_offset, shift = int(np.load(rec.path, mmap_mode="r").offset), 0
    else:
        raw = json.loads(rec.path.read_text(encoding="utf-8"))
        glob, caps = dict(raw["global"]), [dict(c) for c in raw.get("captures", [])]
        offset = int(glob.get("core:offset", 0) or 0)
        first = min((c.get("core:sample_start", 0) for c in caps), default=0)
        data_offset, shift = 0, offset if offset and first == offset else 0
        glob.pop("core:dataset", None)
        glob.setdefault("core:sample_rate", rec.sample_rate_hz)
    old = glob.get("core:description")
    glob["core:description"] = (
        "NR/LTE carriers detected by radiofm annotate"
        + (f" (model {model})" if model else "")
        + f" in {rec.path.name}"
        + (f"; original description: {' '.join(str(old).split())}" if old else "")
    )
    glob["core:version"] = __specification__
    glob["radiofm:annotate"] = {
        "source": str(rec.path),
        "model": model,
        "sample_rate_hz": result.plan.sample_rate_hz,
        "analysis_rate_hz": result.plan.analysis_rate_hz,
        "frequency_windows": len(result.plan.windows),
        "level_shift_db": round(result.level_shift_db, 2),
        "nonfinite_repaired": result.n_repaired,
    }
    exts = [e for e in glob.get("core:extensions", []) if e.get("name") != "radiofm"]
    glob["core:extensions"] = exts + [{"name": "radiofm", "version": __version__, "optional": True}]
    anns = []
    for a in result.annotations:
        d = {
            "core:sample_start": a.sample_start + shift,
            "core:sample_count": a.sample_count,
            "core:freq_lower_edge": float(a.freq_lower_edge_hz),
            "core:freq_upper_edge": float(a.freq_upper_edge_hz),
            "core:label": a.label,
            "core:generator": f"radiofm {__version__} annotate",
            **a.extra,
        }
        if model:
            d["radiofm:model"] = model
        anns.append(d)
    meta = {"global": glob, "captures": caps, "annotations": anns}
    text = json.dumps(meta, indent=2, allow_nan=False)
    _validate(json.loads(text), paths["meta"])
    fig = overlay_figure(rec, result)
    with contextlib.ExitStack() as stack:
        tmp_data = stack.enter_context(atomic_path(paths["data"]))
        with open(rec.data_path, "rb") as src, open(tmp_data, "wb") as dst:
            src.seek(data_offset)
            shutil.copyfileobj(src, dst, length=16 << 20)
        tmp_meta = stack.enter_context(atomic_path(paths["meta"]))
        tmp_meta.write_text(text + "\n", encoding="utf-8")
        tmp_png = stack.enter_context(atomic_path(paths["png"]))
        fig.savefig(tmp_png, format="png", dpi=110)
    return paths


def _validate(meta: dict, where: Path) -> None:
    from sigmf.sigmffile import SigMFFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SigMFFile(metadata=meta).validate()
    except Exception as exc:  # jsonschema / sigmf errors: the input's own metadata does not pass the schema
        msg = " ".join(str(getattr(exc, "message", exc)).split())[:200]
        raise RecordingError(f"{where}: annotated metadata is not valid SigMF ({msg})") from None


def overlay_figure(rec: Recording, result: AnnotateResult):
    """Spectrogram (decimated in time) with the detected carriers drawn as labelled boxes."""
    from radiofm.viz import draw_annotations, new_figure, plot_spectrogram

    fc = rec.center_freq_hz or 0.0
    t0, t1, f0, f1 = result.picture_extent
    unit, scale = ("ms", 1e3) if t1 < 2.0 else ("s", 1.0)
    fig = new_figure((11.0, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    counts = {lab: sum(a.label == lab for a in result.annotations) for lab in LABELS.values()}
    title = f"{rec.path.name}: " + ", ".join(f"{n} {lab}" for lab, n in counts.items())
    plot_spectrogram(ax, result.picture_db, extent=(t0 * scale, t1 * scale, (fc + f0) / 1e6, (fc + f1) / 1e6))
    ax.set_title(title, fontsize=9)
    draw_annotations(ax, result.annotations, sample_rate_hz=rec.sample_rate_hz, center_freq_hz=None, time_unit=unit)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("frequency (MHz)" + ("" if rec.center_freq_hz else ", baseband"))
    return fig
