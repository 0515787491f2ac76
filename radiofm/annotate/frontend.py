"""The annotate front end: a recording's samples -> linear power on the model's grid, noise floor, level shift,
and the 256 x 256 model images (noise-filled outside the band, padded when short). See :mod:`radiofm.annotate`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft

from radiofm.annotate.plan import IMAGE, POOL, Plan
from radiofm.data.recording import Recording
from radiofm.dsp.stft import shifted_window
from radiofm.errors import RecordingError

# carrier level of our training frames (see level_shift): 12.4..23.3 dB over 50 train/test frames
TRAIN_LEVEL_DB = (12.0, 24.0)
# carrier level above the noise floor the model is shown at most (see limit_range). Our training frames reach 31 dB
# (the demo's 400 train and 100 test frames: median 14, 99th percentile 28); 35-60 dB were compared on noise-free
# and +30 dB captures of the alt generator (docs/RESULTS.md, session 32) and 50 scored best
MAX_RANGE_DB = 50.0
# share of the rows at each band edge searched for a receiver filter's roll-off (fill_rolloff): 0.15 left the inner
# part of a wider one (a 100 MHz front end at 122.88 MS/s, a recording resampled 2x) as a dim band, boxed as a
# carrier ("unknown", no OFDM) beside it (session 60's review); on the seven 24-capture sets 0.3 changed nothing
EDGE_SHARE = 0.3
FILL_ROLLOFF = True  # fill_rolloff on (the module switch benchmarks turn off to compare)
UNDO_GAIN_STEPS = True  # undo_gain_steps on (likewise)
# share of rows whose power may stay within 1 dB across a gain step (carriers that faded by just the step): over
# it, something else than a gain moved the band (a carrier switching on leaves the rows beside it unmoved)
GAIN_STEP_UNMOVED = 0.02
_GAMMA20 = 0.8650867  # 20th percentile of Gamma(40, 1/40): a 40-frame average of noise power, per unit mean
_CHUNK_SAMPLES = 5_000_000  # analysis samples per read


@dataclass
class _Filter:
    taps: np.ndarray  # float32 low-pass for resample_poly
    pad: int  # input samples read beyond each side of a chunk


def design_filter(up: int, down: int) -> _Filter:
    from scipy.signal import firwin  # imported here: scipy.signal costs ~0.5 s of start-up, resampling is rare

    rate = max(up, down)
    half = 24 * rate
    taps = firwin(2 * half + 1, 1.0 / rate, window=("kaiser", 8.0)).astype(np.float32)
    return _Filter(taps, int(math.ceil(half / up)) + 2)


def window_weights(plan: Plan) -> np.ndarray:
    """(256,) blending weight of a window's rows: triangular (sums to ~1 over half-overlapping windows)."""
    if len(plan.windows) == 1:
        return np.ones(IMAGE, dtype=np.float32)
    d = np.abs(np.arange(IMAGE) - (IMAGE - 1) / 2) / (IMAGE / 2)
    return np.clip(1.0 - d, 0.02, 1.0).astype(np.float32)


def _read(rec: Recording, start: int, count: int, nonfinite: str, stats: dict) -> np.ndarray:
    """Samples [start, start+count) as complex64; the recording's memory map is released afterwards, so the pages
    read never accumulate in the resident set (they did: peak RSS grew with the recording's size)."""
    try:
        return _read_mapped(rec, start, count, nonfinite, stats)
    finally:
        rec.close()


def read_samples(rec: Recording, start: int, count: int, nonfinite: str) -> np.ndarray:
    """Samples [start, start+count) as the analysis reads them (the same non-finite handling and error), without
    counting repaired samples."""
    return _read(rec, start, count, nonfinite, {})


def _read_mapped(rec: Recording, start: int, count: int, nonfinite: str, stats: dict) -> np.ndarray:
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
    return rec.read(start, count, nonfinite="repair", counts=stats)  # counted, not warned: safe on any thread


_COUNTED_LOCK = threading.Lock()
_COUNTED: dict[tuple, int | None] = {}  # recordings being read by block_power's threads -> their count, once made


def _count_key(rec: Recording) -> tuple:
    return (id(rec), str(rec.path), rec.n_samples)


def _count_nonfinite(rec: Recording, chunk: int = 1 << 22) -> int:
    """Non-finite samples in the whole of ``rec``, for the error message. While block_power reads ``rec`` on
    several threads, counted once: the reads that fail at once wait for the first count instead of each scanning
    the recording."""

    def count() -> int:
        counted: dict = {}
        for start in range(0, rec.n_samples, chunk):
            _read(rec, start, min(chunk, rec.n_samples - start), "repair", counted)
        return int(counted.get("repaired", 0))

    key = _count_key(rec)
    if key not in _COUNTED:
        return count()
    with _COUNTED_LOCK:
        if _COUNTED.get(key) is None:
            _COUNTED[key] = count()
        return _COUNTED[key]


def _columns_power(rec: Recording, plan: Plan, flt: _Filter | None, c0: int, c1: int, nonfinite, stats) -> np.ndarray:
    """Linear power of analysis columns [c0, c1): float32 (n_bins, c1 - c0), on the 61.44 MS/s power scale."""
    a0, a1 = c0 * plan.analysis_per_column, c1 * plan.analysis_per_column  # analysis samples
    # a plain recording (not one read through a repair) of small integers: no complex64 copy of the span
    ints = rec.read_integers(a0, a1 - a0) if flt is None and isinstance(rec, Recording) else None
    if ints is not None:
        rec.close()  # as _read: no mapped pages kept
        x, scale = ints
    elif flt is None:
        x, scale = _read(rec, a0, a1 - a0, nonfinite, stats), None
    else:
        up, down = plan.up, plan.down
        k0 = max(0, (a0 * down // up - flt.pad) // down)  # start on a multiple of down: output stays on the grid
        i0, i1 = k0 * down, min(rec.n_samples, -(-a1 * down // up) + flt.pad)
        from scipy.signal import resample_poly  # only for rates that are not a multiple of 3.84 MHz

        x = resample_poly(_read(rec, i0, i1 - i0, nonfinite, stats), up, down, window=flt.taps)
        j0 = a0 - k0 * up
        x, scale = x[j0 : j0 + a1 - a0], None
    power = pooled_power(x, plan.n_bins, plan.win_length, POOL, scale=scale)
    if plan.n_bins != IMAGE:  # same PSD -> same dB as at 61.44 MS/s: |X|^2 grows with (rate x window length)
        power *= np.float32((IMAGE / plan.n_bins) ** 2)
    return power


def pooled_power(
    x: np.ndarray, fft_size: int, win_length: int, pool: int, *, chunk: int = 16, scale: float | None = None
) -> np.ndarray:
    """Column powers float32 (fft_size, C) of complex64 ``x`` holding C whole columns of ``pool`` frames: each the
    mean of ``pool`` consecutive periodic-Hann |FFT|^2 frames (window = hop = ``win_length``, zero-padded to
    ``fft_size``, DC-centred). Bit-identical to :func:`radiofm.dsp.stft.spectrogram` (log=False) followed by
    the mean over each column's frames, in ~half the CPU time: ``chunk`` columns at a time through buffers that
    stay in cache, and no full-resolution (fft_size, C x pool) spectrogram in memory.

    ``x`` may instead be a recording's stored integers, (N, 2) int8/int16 I/Q pairs, with the power of two
    ``scale`` that makes them samples (:meth:`~radiofm.data.recording.Recording.read_integers`). The scale then
    rides on the window, exactly (a power of two), and the same bits come out without a complex64 copy of
    ``x`` ever being written."""
    per_col = win_length * pool
    n_cols = len(x) // per_col
    out = np.empty((fft_size, n_cols), dtype=np.float32)
    if n_cols == 0:
        return out
    window = np.asarray(shifted_window(fft_size, win_length))
    pairs = window.dtype == np.float32
    if scale is not None and pairs:  # int pairs times the scaled real window: int -> float32 in the same pass
        frames = x[: n_cols * per_col].reshape(n_cols * pool, 2 * win_length)
        window = np.repeat(window, 2) * np.float32(scale)
    else:
        if scale is not None:  # a complex window (odd fft_size): the samples first, as Recording.read gives them
            x = np.multiply(x, np.float32(scale), dtype=np.float32).view(np.complex64).reshape(-1)
        frames = np.ascontiguousarray(x[: n_cols * per_col], dtype=np.complex64).reshape(n_cols * pool, win_length)
        if pairs:  # complex frames times a real window: multiply as interleaved float32 pairs
            frames, window = frames.view(np.float32), np.repeat(window, 2)
    m = chunk * pool
    buf = np.zeros((m, fft_size), dtype=np.complex64)  # columns >= win_length stay zero (the padding)
    head = buf.view(np.float32)[:, : 2 * win_length] if pairs else buf[:, :win_length]
    power = np.empty((m, fft_size), dtype=np.float32)
    lanes = 8 <= pool <= 128 and pool % 8 == 0  # numpy's pairwise sum of `pool` values: 8 running sums
    if lanes:
        runs = np.empty((chunk, 8, fft_size), dtype=np.float32)
    else:
        power_t = np.empty((fft_size, m), dtype=np.float32)
    for c0 in range(0, n_cols, chunk):
        k = min(chunk, n_cols - c0)
        np.multiply(frames[c0 * pool : (c0 + k) * pool], window, out=head[: k * pool])
        spec = scipy.fft.fft(buf[: k * pool], axis=-1, workers=1)
        p = power[: k * pool]
        np.abs(spec, out=p)
        np.square(p, out=p)
        if lanes:  # the frames' mean in numpy's own summation order, without transposing (k * pool, fft) first
            out[:, c0 : c0 + k] = _lane_mean(p.reshape(k, pool // 8, 8, fft_size), runs[:k]).T
        else:
            pt = power_t[:, : k * pool]
            pt[...] = p.T
            out[:, c0 : c0 + k] = pt.reshape(fft_size, k, pool).mean(axis=2)  # same summation order as before
    return out


def _lane_mean(p: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """(k, G, 8, F) -> (k, F): the mean over the G x 8 values of each (k, F), rounded exactly as numpy's
    ``mean`` over a contiguous axis of 8 <= n <= 128 values (n a multiple of 8) rounds it: numpy's pairwise sum
    keeps 8 running sums (value j + 8 i into sum j), adds them as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), then divides.
    Here the 8 sums run over whole (k, F) planes, which costs a quarter of transposing the power first."""
    np.copyto(runs, p[:, 0])
    for i in range(1, p.shape[1]):
        runs += p[:, i]
    r = [runs[:, j] for j in range(8)]
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    total /= np.float32(p.shape[1] * 8)
    return total


def noise_floor(power: np.ndarray, axis=None) -> np.ndarray:
    """Noise floor (linear) of 40-frame averages: a low percentile over time per row, corrected for its bias."""
    per_row = np.percentile(power, 20, axis=-1) / _GAMMA20
    return per_row if axis is not None else np.percentile(per_row, 10)


def _noise(floor, shape, rng: np.random.Generator) -> np.ndarray:
    return (floor * rng.gamma(float(POOL), 1.0 / POOL, size=shape)).astype(np.float32)


def row_floors_db(power: np.ndarray) -> np.ndarray:
    """(rows,) each row's noise floor (:func:`noise_floor` per row) in dB."""
    return 10 * np.log10(noise_floor(power, axis=1) + 1e-30)


def fill_rolloff(power: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``power`` with the band edges a receiver's anti-alias filter rolled off raised to the noise floor inside.

    A radio's filter lowers the noise (and everything else) over the outer part of the band, while the model only
    saw flat noise floors: the darker edge rows stretch the image's statistics and the model then calls the noise
    inside the band a carrier (a gated carrier became one lasting the whole capture, docs/RESULTS.md, session 32).
    At each band edge, within the outer ``EDGE_SHARE`` of the rows, the roll-off is the run of rows ending at the
    edge whose floors all lie 1.5 dB or more under the reference (the 10th percentile of the inner rows' floors),
    falling towards the edge (correlation with the distance from the edge <= -0.6) and reaching 6 dB or more under
    it in the outermost rows: a ramp, not the flat noise beside a wide carrier. Those rows get noise added (seeded
    40-frame statistics) up to the reference. Unchanged, and ``rng`` not drawn from, when no edge has a ramp."""
    n = power.shape[0]
    k = int(n * EDGE_SHARE)
    if not FILL_ROLLOFF or k < 4:
        return power
    floors = row_floors_db(power)
    ref = float(np.percentile(floors[k : n - k], 10))
    out = power
    for rows in (np.arange(k - 1, -1, -1), np.arange(n - k, n)):  # each edge region, from its inner end outwards
        below = floors[rows] < ref - 1.5
        if not below[-1]:
            continue
        start = len(below) - int(np.argmin(below[::-1])) if not below.all() else 0  # the run that ends at the edge
        run = rows[start:]
        if len(run) < 4 or floors[run[-3:]].mean() > ref - 6.0:
            continue
        if np.ptp(floors[run]) > 0 and np.corrcoef(np.arange(len(run)), floors[run])[0, 1] > -0.6:
            continue  # (a run of equal floors, e.g. zeroed edge rows, has no correlation and is filled)
        if out is power:
            out = power.copy()
        add = 10 ** (ref / 10) - 10 ** (floors[run] / 10)
        out[run] += _noise(add[:, None], (len(run), power.shape[1]), rng)
    return out


def undo_gain_steps(power: np.ndarray) -> np.ndarray:
    """``power`` with a receiver's gain change inside the block undone: the columns at the other gain scaled back.

    A gain step (an AGC, a retune of the gain) moves every row's power by the same factor, noise and carriers alike;
    the model only saw constant gains and called the louder columns' noise a carrier (docs/RESULTS.md, session
    32). Each column's floor (10th percentile over rows, smoothed over 8 columns) is split at the mid-point of its
    25th and 75th percentiles; when the two groups differ by 3 dB or more, and each row's median moved between them
    by that much within 2 dB for 90 % of the quietest 30 % of the rows (the noise), the louder group is scaled down
    by it, provided the rest of the band agrees: 75 % of all rows moved by the step too, or under
    :data:`GAIN_STEP_UNMOVED` of them stayed where they were (within 1 dB). A carrier switching on moves its own
    rows, not the noise beside it, and is left alone: the rows it does not cover stay put. Faded carriers over
    half the band move by other amounts than the step, but a gain moves them all (docs/RESULTS.md, session 43).
    Unchanged when there is no step."""
    n_rows, n_cols = power.shape
    if not UNDO_GAIN_STEPS or n_cols < 32 or n_rows < 16:
        return power
    col = np.percentile(power, 10, axis=0)
    k = n_cols // 8
    smooth = np.repeat(np.median(col[: k * 8].reshape(k, 8), axis=1), 8)
    smooth = np.concatenate([smooth, np.full(n_cols - k * 8, smooth[-1])])
    f = 10 * np.log10(smooth + 1e-30)
    lo, hi = np.percentile(f, [25, 75])
    if hi - lo < 3.0:
        return power
    loud = f >= (lo + hi) / 2
    step = float(np.median(f[loud]) - np.median(f[~loud]))
    quiet_rows = np.median(power[:, ~loud], axis=1) + 1e-30
    per_row = 10 * np.log10((np.median(power[:, loud], axis=1) + 1e-30) / quiet_rows)
    moved = np.abs(per_row - step) < 2.0
    floor_rows = quiet_rows <= np.percentile(quiet_rows, 30)  # the noise: it moves with a gain, not with a carrier
    unmoved = float(np.mean(np.abs(per_row) < 1.0))
    if step < 3.0 or moved[floor_rows].mean() < 0.9 or (moved.mean() < 0.75 and unmoved > GAIN_STEP_UNMOVED):
        return power
    out = power.copy()
    out[:, loud] *= np.float32(10 ** (-step / 10))
    return out


def limit_range(power: np.ndarray, rng: np.random.Generator, max_range_db: float | None = None) -> np.ndarray:
    """``power`` with its noise floor raised to ``max_range_db`` below the carrier level when it lies lower, as
    receiver noise would raise it: 40-frame-average noise (seeded by ``rng``) added to every cell. The model never
    saw a spectrum without noise: on a noise-free simulation (floor 100+ dB down) it boxes the carriers' spectral
    skirts and the filters' leakage as carriers. Within the range (every recording with receiver noise and
    carriers less than ``max_range_db`` above it) ``power`` is returned unchanged and ``rng`` is not drawn from.
    Carrier level: the 98th percentile over rows of each row's 80th percentile over time (as :func:`level_shift`).
    ``max_range_db`` None: the module's :data:`MAX_RANGE_DB` at call time (inf turns the limit off)."""
    max_range_db = MAX_RANGE_DB if max_range_db is None else max_range_db
    floor = float(noise_floor(power))
    top = float(np.percentile(np.percentile(power, 80, axis=1), 98))
    target = top * 10 ** (-max_range_db / 10)
    if not (math.isfinite(top) and top > 0) or floor >= target:
        return power
    return power + _noise(target - floor, power.shape, rng)


def level_shift(dbs: Sequence[np.ndarray]) -> float:
    """dB to add so the carrier level falls in TRAIN_LEVEL_DB (0 when inside): the 98th percentile over rows of
    each row's 80th percentile over time, which follows carriers active at least a fifth of the time."""
    level = float(np.percentile(np.concatenate([np.percentile(d, 80, axis=1) for d in dbs]), 98))
    lo, hi = TRAIN_LEVEL_DB
    return lo - level if level < lo else (hi - level if level > hi else 0.0)


def block_power(rec, plan, flt, c0, c1, nonfinite, stats, *, workers: int = 1) -> np.ndarray:
    """Linear power of the kept rows (grid) for columns [c0, c1): float32 (n_rows, c1 - c0). ``workers`` > 1:
    its reads of :data:`_CHUNK_SAMPLES` on that many threads (numpy and the FFT free the GIL), the same result;
    each read counts its repaired samples in its own dict, added up after."""
    step = max(1, _CHUNK_SAMPLES // plan.analysis_per_column)
    spans = [(c, min(c + step, c1)) for c in range(c0, c1, step)]
    counts = [{} for _ in spans]  # each span's own counts (repaired samples), added up after
    work = lambda k: _columns_power(rec, plan, flt, *spans[k], nonfinite, counts[k])  # noqa: E731
    if workers > 1 and len(spans) > 1:
        from concurrent.futures import ThreadPoolExecutor

        key = _count_key(rec)
        _COUNTED[key] = None  # these reads share one count of the recording's non-finite samples, if they fail
        try:
            with ThreadPoolExecutor(min(workers, len(spans)), thread_name_prefix="annotate-power") as pool:
                parts = list(pool.map(work, range(len(spans))))
        finally:
            _COUNTED.pop(key, None)  # only these reads: the file may change before the next
    else:
        parts = [work(k) for k in range(len(spans))]
    for c in counts:
        for key, n in c.items():
            stats[key] = stats.get(key, 0) + n
    return np.concatenate(parts, axis=1)[plan.grid[0] : plan.grid[1]]


def window_image(plan: Plan, power: np.ndarray, start: int, floor: float, rng) -> tuple[np.ndarray, np.ndarray]:
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
        img = np.concatenate([img, _noise(noise_floor(img, axis=1)[:, None], (IMAGE, IMAGE - t), rng)], axis=1)
    return img, kept


def frame_starts(n_cols: int) -> list[int]:
    starts = list(range(0, max(n_cols - IMAGE, 0) + 1, IMAGE))
    if n_cols > IMAGE and starts[-1] + IMAGE < n_cols:
        starts.append(n_cols - IMAGE)
    return starts
