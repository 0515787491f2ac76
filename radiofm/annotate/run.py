"""Annotating a whole recording: frames through the model, probabilities blended over windows and frames,
carrier boxes, SigMF annotations in recording samples and absolute Hz. See :mod:`radiofm.annotate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from radiofm.annotate.boxes import MIN_CONTRAST_DB, Box, carrier_boxes, contrast_db, edge_alias
from radiofm.annotate.clean import Repair, cleaned, receiver_repair
from radiofm.annotate.decide import MIN_SCORE, PHY_MAX_MS
from radiofm.annotate.engine import standardises_each_image
from radiofm.annotate.frontend import (
    block_power,
    design_filter,
    fill_rolloff,
    frame_starts,
    level_shift,
    limit_range,
    noise_floor,
    undo_gain_steps,
    window_image,
    window_weights,
)
from radiofm.annotate.plan import IMAGE, Plan, plan_analysis
from radiofm.annotate.result import AnnotateResult, finish
from radiofm.annotate.stream import Picture, Prefetch, Settler, block_bounds, merge_strided, strided_frames
from radiofm.annotate.tunings import joined, tuning_name
from radiofm.data.recording import Recording
from radiofm.dsp.threads import usable_cores
from radiofm.errors import ConfigError, RecordingError, check_count, check_number, check_seed
from radiofm.synth.nrlte import CLASSES

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


def model_predictor(
    model,
    info: dict,
    *,
    batch_size: int = 16,
    device: str = "cpu",
    quantize: str | None = None,
    threads: int | None = None,
) -> Predictor:
    """A :data:`Predictor` around a model from :func:`radiofm.tasks.segmentation.load_segmentation_model`.

    ``quantize="int8"``: the transformer blocks' linear layers dynamically quantised to int8 (CPU only; see
    :func:`radiofm.tasks.segmentation.quantize_dynamic`); ``"bf16"``: the model under bfloat16 autocast (matmuls
    and the patch embedding in bf16, norms and softmax in float32; for CPUs with native bf16, see
    :func:`~radiofm.tasks.segmentation.native_bf16`, and CUDA). The predictor's ``level_invariant`` attribute is
    True when the model standardises each image (its output does not depend on a dB offset, so no level shift is
    needed). ``threads``: torch's intra-op threads during each call (restored after it; None: as they are)."""
    import contextlib

    import torch

    from radiofm.tasks.segmentation import predict, quantize_dynamic  # torch: imported only by this engine

    cast = contextlib.nullcontext
    if quantize == "bf16":
        cast = lambda: torch.autocast(torch.device(device).type, dtype=torch.bfloat16)  # noqa: E731
    elif quantize is not None:
        model = quantize_dynamic(model, quantize)

    def run(images: np.ndarray, frames: Sequence[FrameInfo]) -> np.ndarray:
        before = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        try:
            with cast():
                return predict(model, images, info=info, batch_size=batch_size, device=device)
        finally:
            torch.set_num_threads(before)

    run.level_invariant = standardises_each_image(info)
    return run


@dataclass
class Analysis:
    """Everything fixed for one recording's analysis (see :func:`annotate_recording`), and its running state."""

    plan: Plan
    predictor: Predictor
    nonfinite: str
    threshold: float
    min_rows: int  # narrowest box the finder keeps (rows, rounded down: a seed for the physical-layer stages)
    min_bandwidth_hz: float  # narrowest annotation, judged on its final band (annotate.result)
    min_contrast_db: float
    batch_size: int
    block: int  # columns per block
    flt: object
    weights: np.ndarray
    wsum: np.ndarray
    rng: np.random.Generator
    picture: Picture | None
    stats: dict = field(default_factory=dict)
    shift: float = 0.0
    phy: bool = True  # label decision: physical-layer evidence per carrier (annotate.decide)
    phy_max_ms: float = PHY_MAX_MS
    min_score: float = MIN_SCORE
    scan_nr: bool = False  # search the band outside the identified cells for NR SSBs the model missed
    scan_lte: bool = False  # the same for LTE cells (both: annotate_recording's default; not with follow)
    repair: Repair | None = None  # receiver lines / mixer image undone in every read (annotate.clean); None: not yet

    @classmethod
    def create(cls, rec: Recording, predictor: Predictor, **kw) -> Analysis:
        plan = kw.pop("plan")
        max_picture_columns = kw.pop("max_picture_columns")
        weights = window_weights(plan)
        wsum = np.zeros(plan.n_rows, dtype=np.float32)  # blending weights per kept row, summed over windows
        for w0 in plan.windows:
            a = w0 + np.arange(IMAGE)
            kept = (a >= plan.grid[0]) & (a < plan.grid[1])
            wsum[a[kept] - plan.grid[0]] += weights[kept]
        pic = Picture(plan.n_rows, max_picture_columns) if max_picture_columns > 0 else None
        flt = design_filter(plan.up, plan.down) if plan.resampled else None
        min_bandwidth_hz = kw.pop("min_bandwidth_khz") * 1e3
        min_rows = max(1, int(min_bandwidth_hz / plan.row_hz))  # the box finder's (3 rows for 900 kHz: the seeds)
        block = IMAGE * max(1, kw.pop("block_frames") // len(plan.windows))
        rng = np.random.default_rng(kw.pop("seed"))
        return cls(plan, predictor, flt=flt, weights=weights, wsum=wsum, rng=rng, picture=pic, min_rows=min_rows,
                   min_bandwidth_hz=min_bandwidth_hz, block=block, **kw)  # fmt: skip

    def power(self, rec: Recording, c0: int, c1: int, *, workers: int = 1, count: bool = True) -> np.ndarray:
        """Linear power of the kept rows for columns [c0, c1) (the level gain not yet applied), read and transformed
        on ``workers`` threads. ``count=False``: its repaired samples are not added to :attr:`stats` (a read for
        the level only, whose samples the analysis reads and counts again)."""
        stats = self.stats if count else {}
        return block_power(rec, self.plan, self.flt, c0, c1, self.nonfinite, stats, workers=workers)

    def set_level(self, sample: Sequence[np.ndarray]) -> None:
        self.shift = level_shift([10 * np.log10(p + 1e-12) for p in sample])

    def analyse(self, power: np.ndarray, b0: int, bar=None) -> list[Box]:
        """Boxes (global columns) of the block of columns starting at ``b0`` whose power is ``power``."""
        return self.analyse_many([(power, b0)], bar)

    def analyse_many(self, blocks: Sequence[tuple[np.ndarray, int]], bar=None) -> list[Box]:
        """Boxes (global columns) of several blocks ``(power, b0)`` in time order, their images through the model
        in shared batches (with a frame step every block is one frame: batches of one would cost more)."""
        return self.analyse_staged([(self.stage(power, b0), b0) for power, b0 in blocks], bar)

    def analyse_staged(self, blocks: Sequence[tuple[dict, int]], bar=None) -> list[Box]:
        """:meth:`analyse_many` of blocks already through :meth:`stage` (the reader thread stages the next block
        while this one is through the model). Blocks must be staged in time order: staging draws from ``rng``."""
        staged = [st for st, _ in blocks]  # each holds its power, floor limited
        jobs = [(k, *job) for k, st in enumerate(staged) for job in st["jobs"]]
        bs, weights, lo = self.batch_size, self.weights, self.plan.grid[0]
        for i in range(0, len(jobs), bs):
            chunk = jobs[i : i + bs]
            probs = np.asarray(self.predictor(np.stack([j[1] for j in chunk]), [j[2] for j in chunk]))
            for p, (k, _, _, (w0, s, kept)) in zip(probs, chunk):
                acc, length = staged[k]["acc"], staged[k]["length"]
                n, rows = min(IMAGE, length - s), w0 + np.flatnonzero(kept) - lo
                acc[:, rows, s : s + n] += weights[kept][None, :, None] * p[1:3, kept, :n]
            if bar is not None:
                bar.update(len(probs))
        return [b for (_, b0), st in zip(blocks, staged) for b in self._boxes(st["power"], b0, st)]

    def analyse_frames(self, rec: Recording, frames: Sequence[tuple[int, int]], *, prefetch: int = 1, bar=None):
        """Raw boxes (recording columns) of separate ``frames`` [a, b): read a block's worth at a time by the
        reader thread, their images through the model together (a frame step's analysis)."""
        per = max(1, self.block // IMAGE)
        groups = [frames[i : i + per] for i in range(0, len(frames), per)]
        raw: list[Box] = []
        staged = Prefetch(lambda g: [(self.stage(self.power(rec, a, b), a), a) for a, b in g], groups, depth=prefetch)
        for _, blocks in staged:
            raw += self.analyse_staged(blocks, bar)
        return raw

    def stage(self, power: np.ndarray, b0: int) -> dict:
        """One block's model images (level-shifted power, picture updated) and its empty probability sums; draws
        from ``rng`` (noise outside the band and under the range limit), so blocks are staged in time order."""
        plan, length = self.plan, power.shape[1]
        if self.shift:
            power *= np.float32(10 ** (self.shift / 10))
        if self.picture is not None:
            self.picture.add(power, b0)  # the spectrum as recorded; the model and the boxes see its limited range
        power = limit_range(fill_rolloff(undo_gain_steps(power), self.rng), self.rng)
        floor = noise_floor(power) if plan.resampled or plan.n_bins < IMAGE else 0.0
        starts = frame_starts(max(length, IMAGE))
        cover = np.zeros(max(length, IMAGE), dtype=np.float32)
        for s in starts:
            cover[s : s + IMAGE] += 1
        jobs = []
        for w0 in plan.windows:
            img, kept = window_image(plan, power, w0, floor, self.rng)
            db = 10.0 * np.log10(img + 1e-12, dtype=np.float32)
            centre = float(plan.row_freq_hz(w0 + IMAGE // 2))
            for s in starts:
                jobs.append((db[:, s : s + IMAGE], FrameInfo(b0 + s, centre, plan.row_hz, plan.samples_per_column),
                             (w0, s, kept)))  # fmt: skip
        acc = np.zeros((2, plan.n_rows, length), dtype=np.float32)
        return {"jobs": jobs, "acc": acc, "cover": cover, "length": length, "power": power}

    def _boxes(self, power: np.ndarray, b0: int, staged: dict) -> list[Box]:
        acc, length = staged["acc"], staged["length"]
        acc /= self.wsum[None, :, None] * staged["cover"][None, None, :length]
        full = np.concatenate([np.clip(1.0 - acc.sum(axis=0, keepdims=True), 0.0, 1.0), acc])
        found = carrier_boxes(full, threshold=self.threshold, min_rows=self.min_rows, power=power,
                              floor=noise_floor(power))  # fmt: skip
        out = []
        for b in found:  # a carrier must stand above the spectrum beside it (not a model hallucination on noise)
            contrast = contrast_db(power, b, found)  # and not be an alias ramp at the band edge
            if (contrast is None or contrast >= self.min_contrast_db) and not edge_alias(power, b):
                b.col_lo, b.col_hi = b.col_lo + b0, b.col_hi + b0
                out.append(b)
        return out

    def frames_in(self, bounds: Sequence[tuple[int, int]]) -> int:
        return sum(len(frame_starts(max(b - a, IMAGE))) for a, b in bounds) * len(self.plan.windows)


def check_inputs(rec: Recording) -> None:
    if not isinstance(rec, Recording):
        raise ConfigError(f"annotate takes a Recording (radiofm.data.open_recording(path)), got {type(rec).__name__}")
    if not rec.is_complex:
        raise RecordingError(f"{rec.path}: real-valued datatype {rec.datatype}; annotate needs complex IQ")


_RULES: dict[str, Callable[[object, str], object]] = {
    "threshold": lambda v, n: check_number(v, n, low=0.0, high=1.0, open_low=True, open_high=True),
    "min_duration_ms": lambda v, n: check_number(v, n, low=0.0),
    "min_bandwidth_khz": lambda v, n: check_number(v, n, low=0.0),
    "batch_size": lambda v, n: check_count(v, n, high=4096),
    "nonfinite": lambda v, n: _one_of(v, n, ("error", "repair")),
    "level": lambda v, n: _one_of(v, n, ("auto", "none")),
    "block_frames": lambda v, n: check_count(v, n),
    "min_contrast_db": lambda v, n: check_number(v, n),
    "max_picture_columns": lambda v, n: check_count(v, n, low=0),
    "seed": lambda v, n: check_seed(v, n),
    "prefetch": lambda v, n: check_count(v, n, low=0, high=64),
    "phy_max_ms": lambda v, n: check_number(v, n, low=0.0, open_low=True),
    "min_score": lambda v, n: check_number(v, n, low=0.0, high=1.0),
    "frame_step": lambda v, n: check_count(v, n),
}


def _one_of(value: object, name: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be {' or '.join(repr(a) for a in allowed)}, got {value!r}")


def check_options(**options) -> None:
    """ConfigError (one line, naming the argument) for an option of :func:`annotate_recording` that could only
    give a wrong or empty result (a NaN duration, a batch of 0, an unknown ``nonfinite``); names it does not know
    are not its to check."""
    for name, value in options.items():
        if name in _RULES:
            _RULES[name](value, name)


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
    picture: bool = True,
    prefetch: int = 1,
    phy: bool = True,
    phy_max_ms: float = PHY_MAX_MS,
    min_score: float = MIN_SCORE,
    scan_nr: bool = True,
    scan_lte: bool = True,
    frame_step: int = 1,
) -> AnnotateResult:
    """Detect NR/LTE carriers in ``rec`` with ``predictor`` (see :data:`Predictor`); reads ``rec`` only.

    Blocks of ``block_frames`` frames are analysed in turn while a reader thread computes the next ``prefetch``
    blocks' spectrogram (0: no thread); memory does not grow with the recording. ``picture=False``: no overlay
    spectrogram (``picture_db`` None). With ``level="auto"`` a predictor whose ``level_invariant`` attribute is
    True gets no level shift (it would not change its output).

    Each carrier's label is decided over the whole recording (:mod:`radiofm.annotate.decide`): pooled spectrogram
    scores, and with ``phy`` the physical-layer evidence on up to ``phy_max_ms`` of its samples; ``min_score``:
    pooled score the spectrogram alone needs (else "unknown"). ``scan_nr`` / ``scan_lte`` (both by default, with
    ``phy``): also search the band outside the identified cells for NR SSBs / LTE cells the model missed
    (:mod:`radiofm.annotate.blind_scan`; the first 40 ms, ~1.4 / ~2 CPU-s per recording).

    ``frame_step`` K > 1: only every K-th 40 ms frame is read and analysed (a monitoring mode, about K times less
    work): a carrier seen in consecutive analysed frames is one annotation across the frames between them, its
    start and stop are known to within the K - 1 frames skipped, and a carrier on only in skipped frames is missed.

    Raises RecordingError for an unsupported sample rate, a recording under 10 ms, a real-valued datatype, or
    non-finite samples (unless ``nonfinite="repair"``), and ConfigError for an option out of its range
    (:func:`check_options`).
    """
    check_options(**locals())  # the arguments, before anything else is defined
    options = {k: v for k, v in locals().items() if k not in ("rec", "predictor")}
    if not callable(predictor):
        raise ConfigError(f"predictor must be callable (radiofm.annotate.model_predictor(run)), got {predictor!r}")
    check_inputs(rec)
    runs = rec.tunings()
    if len(runs) > 1:  # a retuned recording: each tuning alone (annotate.tunings)
        for a, b in runs:
            plan_analysis(rec.sample_rate_hz, b - a, name=tuning_name(rec, a))
        results = [annotate_recording(rec.span(a, b - a), predictor, **options) for a, b in runs]
        return joined(results, [a for a, _ in runs])
    plan = plan_analysis(rec.sample_rate_hz, rec.n_samples, name=f"recording {rec.path}")
    repair = receiver_repair(rec, nonfinite)
    rec = cleaned(rec, repair)
    an = Analysis.create(rec, predictor, plan=plan, nonfinite=nonfinite, threshold=threshold,
                         min_bandwidth_khz=min_bandwidth_khz, min_contrast_db=min_contrast_db, batch_size=batch_size,
                         block_frames=block_frames, seed=seed,
                         max_picture_columns=max_picture_columns if picture else 0,
                         phy=phy, phy_max_ms=phy_max_ms, min_score=min_score, scan_nr=scan_nr,
                         scan_lte=scan_lte, repair=repair)  # fmt: skip
    n_cols = plan.n_columns
    bounds = block_bounds(n_cols, an.block) if frame_step == 1 else strided_frames(n_cols, frame_step, IMAGE)
    first = None
    if level == "auto" and not getattr(predictor, "level_invariant", False):  # one gain for the whole recording
        if len(bounds) == 1 and frame_step == 1:
            first = an.power(rec, 0, n_cols)
            an.set_level([first])
        else:  # from up to 8 frames spread over it
            picks = np.linspace(0, max(n_cols - IMAGE, 0), 8).astype(int)
            an.set_level([an.power(rec, c, min(c + IMAGE, n_cols), count=False) for c in picks])

    bar = tqdm(total=an.frames_in(bounds), disable=not progress, unit="frame", desc="annotate")
    if frame_step == 1:
        settler = Settler()
        cores = usable_cores()

        def staged_block(b: tuple[int, int]) -> dict:
            """Run by the reader thread ahead of the model: the block read, transformed and staged (the model's
            images); the first block on every core, as the model waits for it (later ones share the cores)."""
            power = first if first is not None else an.power(rec, *b, workers=cores if b == bounds[0] else 1)
            return an.stage(power, b[0])

        for (b0, _), staged in Prefetch(staged_block, bounds, depth=prefetch):
            settler.add(an.analyse_staged([(staged, b0)], bar))
        boxes = settler.rest()
    else:  # frames a step apart, a block's worth at a time through the model; merged across the skipped frames
        boxes = merge_strided(an.analyse_frames(rec, bounds, prefetch=prefetch, bar=bar), bounds)
    bar.close()
    return finish(an, rec, boxes, min_duration_ms=min_duration_ms)
