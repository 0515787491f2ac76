"""Annotating a whole recording: frames through the model, probabilities blended over windows and frames,
carrier boxes, SigMF annotations in recording samples and absolute Hz. See :mod:`radiofm.annotate`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from radiofm.annotate.boxes import MIN_CONTRAST_DB, Box, carrier_boxes, contrast_db, edge_alias, merge_boxes
from radiofm.annotate.decide import MIN_SCORE, PHY_MAX_MS, Decision, annotation_extra, decide_carriers
from radiofm.annotate.frontend import (
    block_power,
    design_filter,
    frame_starts,
    level_shift,
    noise_floor,
    window_image,
    window_weights,
)
from radiofm.annotate.plan import IMAGE, Plan, plan_analysis
from radiofm.data.recording import Annotation, Recording
from radiofm.errors import RecordingError
from radiofm.synth.nrlte import CLASSES
from radiofm.tasks.segmentation import predict

BLOCK_FRAMES = 32
LABELS = {1: CLASSES[1], 2: CLASSES[2]}  # class index -> "NR" / "LTE"
ANNOTATION_LABELS = (CLASSES[1], CLASSES[2], "unknown")  # what core:label may say (annotate.decide)


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

    def run(images: np.ndarray, frames: Sequence[FrameInfo]) -> np.ndarray:
        return predict(model, images, info=info, batch_size=batch_size, device=device)

    return run


@dataclass
class AnnotateResult:
    """Annotations plus what the overlay picture and the report need."""

    annotations: list[Annotation]
    plan: Plan
    picture_db: np.ndarray  # (rows, P) decimated spectrogram on the kept rows, row 0 lowest frequency
    picture_extent: tuple[float, float, float, float]  # (t0_s, t1_s, f_lo_hz, f_hi_hz) relative frequencies
    level_shift_db: float = 0.0  # added to every image (level="auto")
    n_repaired: int = 0
    phy: dict | None = None  # the physical-layer stage's settings and cost (None: off)


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
    phy: bool = True,
    phy_max_ms: float = PHY_MAX_MS,
    min_score: float = MIN_SCORE,
) -> AnnotateResult:
    """Detect NR/LTE carriers in ``rec`` with ``predictor`` (see :data:`Predictor`); reads ``rec`` only.

    Each carrier's label is decided over the whole recording (:mod:`radiofm.annotate.decide`): pooled spectrogram
    scores, and with ``phy`` the physical-layer evidence on up to ``phy_max_ms`` of its samples; ``min_score``:
    pooled score the spectrogram alone needs (else "unknown").

    Raises RecordingError for an unsupported sample rate, a recording under 10 ms, a real-valued datatype, or
    non-finite samples (unless ``nonfinite="repair"``).
    """
    if not rec.is_complex:
        raise RecordingError(f"{rec.path}: real-valued datatype {rec.datatype}; annotate needs complex IQ")
    if level not in ("auto", "none"):
        raise ValueError(f"level must be 'auto' or 'none', not {level!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    plan = plan_analysis(rec.sample_rate_hz, rec.n_samples, name=f"recording {rec.path}")
    flt = design_filter(plan.up, plan.down) if plan.resampled else None
    weights = window_weights(plan)
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
            power = block_power(rec, plan, flt, 0, n_cols, nonfinite, stats)
            sample = [power]
        else:
            picks = np.linspace(0, n_cols - IMAGE, 8).astype(int)
            sample = [block_power(rec, plan, flt, c, c + IMAGE, nonfinite, stats) for c in picks]
        shift = level_shift([10 * np.log10(p + 1e-12) for p in sample])
    gain = np.float32(10 ** (shift / 10))

    total = sum(len(frame_starts(max(b - a, IMAGE))) for a, b in bounds) * len(plan.windows)
    bar = tqdm(total=total, disable=not progress, unit="frame", desc="annotate")
    boxes: list[Box] = []
    for b0, b1 in bounds:
        length = b1 - b0
        if power is None or power.shape[1] != length:
            power = block_power(rec, plan, flt, b0, b1, nonfinite, stats)
        if shift:
            power *= gain
        _add_picture(pic_sum, pic_n, power, b0, q)
        floor = noise_floor(power) if plan.resampled or plan.n_bins < IMAGE else 0.0
        starts = frame_starts(max(length, IMAGE))
        cover = np.zeros(max(length, IMAGE), dtype=np.float32)
        for s in starts:
            cover[s : s + IMAGE] += 1
        acc = np.zeros((2, plan.n_rows, length), dtype=np.float32)
        images, infos, where = [], [], []
        for w0 in plan.windows:
            img, kept = window_image(plan, power, w0, floor, rng)
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
        found = carrier_boxes(full, threshold=threshold, min_rows=min_rows, power=power, floor=noise_floor(power))
        for b in found:  # a carrier must stand above the spectrum beside it (not a model hallucination on noise)
            contrast = contrast_db(power, b, found)  # and not be an alias ramp at the band edge
            if (contrast is None or contrast >= min_contrast_db) and not edge_alias(power, b):
                b.col_lo, b.col_hi = b.col_lo + b0, b.col_hi + b0
                boxes.append(b)
        power = None
    bar.close()

    boxes = merge_boxes(boxes, same_class=False)  # a carrier is one box whatever class each frame gave it
    min_cols = min_duration_ms * 1e-3 * plan.sample_rate_hz / plan.samples_per_column
    boxes = [b for b in boxes if b.col_hi - b.col_lo >= min_cols - 1e-9 and b.row_hi - b.row_lo + 1 >= min_rows]
    nonfin = "repair" if stats.get("repaired") or nonfinite == "repair" else "error"
    t_phy = time.process_time()
    decisions = decide_carriers(boxes, rec, plan, phy=phy, phy_max_ms=phy_max_ms, min_score=min_score, nonfinite=nonfin)
    n_carriers = len({id(d) for d in decisions})
    phy_info = {"max_ms": phy_max_ms, "carriers": n_carriers, "cpu_s": round(time.process_time() - t_phy, 3)}
    picture = (10 * np.log10(pic_sum / np.maximum(pic_n, 1)[None, :] + 1e-12)).astype(np.float32)
    f_lo, f_hi = plan.row_freq_hz(plan.grid[0] - 0.5), plan.row_freq_hz(plan.grid[1] - 0.5)
    extent = (0.0, n_cols * plan.samples_per_column / plan.sample_rate_hz, float(f_lo), float(f_hi))
    return AnnotateResult(
        _to_annotations(boxes, decisions, rec, plan),
        plan,
        picture,
        extent,
        shift,
        int(stats.get("repaired", 0)),
        phy_info if phy else None,
    )


def _add_picture(pic_sum: np.ndarray, pic_n: np.ndarray, power: np.ndarray, b0: int, q: int) -> None:
    """Accumulate columns of ``power`` (rows, T) starting at column ``b0`` into ``q``-column picture bins."""
    cols = (b0 + np.arange(power.shape[1])) // q
    np.add.at(pic_sum.T, cols, power.T)
    np.add.at(pic_n, cols, 1)


def _to_annotations(
    boxes: Sequence[Box], decisions: Sequence[Decision], rec: Recording, plan: Plan
) -> list[Annotation]:
    """Boxes on the global grid and their carriers' decisions -> annotations in recording samples and absolute
    Hz, split at retunes."""
    fs, n, spc = plan.sample_rate_hz, plan.n_samples, plan.samples_per_column
    caps = sorted(rec.captures, key=lambda c: c.sample_start) or []
    out = []
    for b, d in zip(boxes, decisions, strict=True):
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
                    label=d.label,
                    extra=annotation_extra(d),
                )
            )
    out.sort(key=lambda a: (a.sample_start, a.freq_lower_edge_hz))
    return out
