"""Annotating a recording that is still being written (``radiofm annotate --follow``).

The writer creates ``NAME.sigmf-meta`` first and appends samples to ``NAME.sigmf-data``. :func:`follow_recording`
polls the data file, analyses each block of columns as soon as a longer file could no longer change it (all but
the last block: see :func:`radiofm.annotate.stream.ready_blocks`), hands out every carrier as soon as no later
block can extend it, and stops when the stream has delivered ``duration_s`` or has not grown for
``idle_timeout_s``. Memory stays bounded (one block of power plus the boxes found). The final result equals
:func:`radiofm.annotate.annotate_recording` on the finished file (the same blocks, random draws and merges), with
one exception: a level shift for a model that does not standardise its images (``level="auto"`` with a predictor
that is not ``level_invariant``) comes from the first block instead of frames spread over the whole recording.

With ``frame_step`` K > 1 every K-th 40 ms frame is analysed as soon as it is complete, its boxes kept in analysed
columns (:func:`radiofm.annotate.stream.squeeze_boxes`) so that carriers settle exactly as
:func:`~radiofm.annotate.stream.merge_strided` merges them in a one-shot run with the same step.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from radiofm.annotate.boxes import MIN_CONTRAST_DB
from radiofm.annotate.clean import cleaned, measure_window, receiver_repair
from radiofm.annotate.decide import MIN_SCORE, PHY_MAX_MS
from radiofm.annotate.plan import IMAGE, plan_analysis
from radiofm.annotate.result import AnnotateResult, annotations_of, finish
from radiofm.annotate.run import BLOCK_FRAMES, Analysis, Predictor, check_inputs, check_options
from radiofm.annotate.stream import (
    Prefetch,
    Settler,
    block_bounds,
    expand_boxes,
    ready_blocks,
    squeeze_boxes,
    strided_frames,
    strided_grid,
)
from radiofm.data.recording import Annotation, Recording
from radiofm.data.recording_open import open_recording
from radiofm.errors import ConfigError, RecordingError


def _columns(plan, n_samples: int) -> int:
    return int(n_samples * plan.up // (plan.down * plan.analysis_per_column))


def follow_recording(
    path: str | Path,
    predictor: Predictor,
    *,
    duration_s: float | None = None,
    idle_timeout_s: float = 10.0,
    poll_s: float = 0.2,
    on_annotations: Callable[[Sequence[Annotation]], None] | None = None,
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
    picture: bool = True,
    prefetch: int = 1,
    phy: bool = True,
    phy_max_ms: float = PHY_MAX_MS,
    min_score: float = MIN_SCORE,
    frame_step: int = 1,
    sample_rate_hz: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[AnnotateResult, Recording]:
    """Annotate the growing recording at ``path`` (see the module docstring); returns (result, the recording as
    finally read). ``on_annotations`` receives each batch of final annotations as they are decided (in the
    order found). The other arguments are those of :func:`radiofm.annotate.annotate_recording`.

    ``sample_rate_hz`` as in :func:`radiofm.data.open_recording` (for a recording that gives none, or to override
    it). A stream that ends part-way into a sample is annotated up to its last whole sample. Raises RecordingError
    when the recording is unusable, when it changes other than by growing (its data file truncated or replaced,
    its sample rate or datatype rewritten), or when nothing (or under 10 ms) arrived before the idle timeout.
    """
    check_options(**locals())  # the arguments, before anything else is defined
    last_growth, last_n, rec, error = clock(), -1, None, None
    an: Analysis | None = None
    settler, settled, done = Settler(), [], 0
    frames: list[tuple[int, int]] = []  # frame_step > 1: the frames analysed so far
    settled_to = 0  # frame_step > 1: the recording column up to which carriers were last settled
    limit = None
    first = None  # what must not change while the recording grows (see _stream_identity)
    while True:
        try:
            new, error = open_recording(path, sample_rate_hz=sample_rate_hz), None
        except RecordingError as exc:  # meta not yet written, empty data file, a sample half written
            new, error = None, exc
        if new is not None:
            ident = _stream_identity(new)
            first = first or ident
            if ident != first:
                raise RecordingError(f"{new.path}: {_changed(first, ident)} while it was followed; annotate it again "
                                     "once it is written")  # fmt: skip
            if rec is not None and new.n_samples < rec.n_samples:
                raise RecordingError(f"{new.data_path}: the data file shrank while it was followed (truncated?)")
            rec = new
        n = 0
        if rec is not None:
            if limit is None and duration_s is not None:
                limit = _sample_limit(duration_s, rec.sample_rate_hz)
            n = rec.n_samples if limit is None else min(rec.n_samples, limit)
        if n > last_n:
            last_n, last_growth = n, clock()
        # decided on this poll's observation: growth during the analysis below is seen at the next poll
        stop = (limit is not None and n >= limit) or clock() - last_growth > idle_timeout_s
        if an is None and rec is not None:
            check_inputs(rec)
            try:
                plan = plan_analysis(rec.sample_rate_hz, n, name=f"recording {rec.path}")
            except RecordingError:
                plan = None  # under 10 ms so far (an unsupported rate is refused again at the end)
            if plan is not None:
                an = Analysis.create(rec, predictor, plan=plan, nonfinite=nonfinite, threshold=threshold,
                                     min_bandwidth_khz=min_bandwidth_khz, min_contrast_db=min_contrast_db,
                                     batch_size=batch_size, block_frames=block_frames, seed=seed,
                                     max_picture_columns=max_picture_columns if picture else 0,
                                     phy=phy, phy_max_ms=phy_max_ms, min_score=min_score)  # fmt: skip
        if an is not None and an.repair is None and (n >= measure_window(rec.sample_rate_hz) or stop):
            an.repair = receiver_repair(rec, nonfinite, n)  # the same samples as a one-shot run reads
        if an is not None and an.repair is not None:
            src = cleaned(rec, an.repair)
            n_cols = _columns(an.plan, n)
            an.plan = dataclasses.replace(an.plan, n_samples=n, n_columns=n_cols)
            if frame_step == 1:
                ready = ready_blocks(n_cols, an.block, done)
                done += _analyse(an, src, ready, settler, level, predictor, prefetch, first=done == 0)
                horizon = done * an.block
            else:
                ready = strided_grid(n_cols, frame_step, IMAGE)[len(frames) :]
                _analyse_frames(an, src, ready, frames, settler, level, predictor, prefetch)
                horizon = len(frames) * IMAGE  # in analysed columns
                # settle (and decide carriers) once per block of stream, as without a frame step, not per frame:
                # each settling runs the physical-layer stage on the carriers it hands out
                if ready and frames[-1][1] - settled_to < an.block:
                    ready = []
                elif ready:
                    settled_to = frames[-1][1]
            if ready:
                new = settler.settle(horizon)
                if frame_step > 1:
                    new = expand_boxes(new, frames)
                settled.extend(new)
                anns = annotations_of(an, src, new, min_duration_ms)
                if anns and on_annotations is not None:
                    on_annotations(anns)
        if stop:
            break
        sleep(poll_s)

    if rec is None or (error is not None and not _grew_by_a_partial_sample(rec, first)):
        raise error or RecordingError(f"{path}: no recording appeared within {idle_timeout_s:g} s")
    # (a stream that ended mid-sample: its whole samples are annotated, and the output holds exactly those)
    plan = plan_analysis(rec.sample_rate_hz, n, name=f"recording {rec.path}")  # under 10 ms: refused here
    if an is None:  # pragma: no cover - plan_analysis above raised already
        raise RecordingError(f"{rec.path}: nothing to annotate")
    an.plan = plan
    src = cleaned(rec, an.repair)
    if frame_step == 1:
        rest = block_bounds(plan.n_columns, an.block)[done:]
        _analyse(an, src, rest, settler, level, predictor, prefetch, first=done == 0)
        return finish(an, src, settled + settler.rest(), min_duration_ms=min_duration_ms), rec
    rest = strided_frames(plan.n_columns, frame_step, IMAGE)[len(frames) :]
    _analyse_frames(an, src, rest, frames, settler, level, predictor, prefetch)
    boxes = settled + expand_boxes(settler.rest(), frames)
    return finish(an, src, boxes, min_duration_ms=min_duration_ms), rec


def _stream_identity(rec: Recording) -> tuple:
    """What a growing recording keeps: its data file (device, inode), sample rate, datatype and where its samples
    start."""
    st = Path(rec.data_path).stat()
    return (st.st_dev, st.st_ino), rec.sample_rate_hz, rec.datatype, rec.byte_end(0)


def _grew_by_a_partial_sample(rec: Recording, first: tuple) -> bool:
    """True when the recording could not be opened at the end only because its data file, still the same file,
    ends part-way into a sample after the samples read last."""
    try:
        st = Path(rec.data_path).stat()
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == first[0] and st.st_size > rec.byte_end(rec.n_samples)


def _changed(before: tuple, now: tuple) -> str:
    what = ("its data file was replaced", "its sample rate changed", "its datatype changed", "its header changed")
    return next(w for w, a, b in zip(what, before, now, strict=True) if a != b)


def _sample_limit(duration_s: float, rate_hz: float) -> int:
    limit = duration_s * rate_hz
    if not math.isfinite(limit) or limit > 2**62:
        raise ConfigError(f"--duration {duration_s:g} s is longer than any recording can be")
    return int(round(limit))


def _analyse_frames(an, rec, ready, frames, settler, level, predictor, prefetch) -> None:
    """Analyse the frames ``ready`` (after those in ``frames``, which grows by them); their boxes go to ``settler``
    in analysed columns. The level (when needed) is set from the first frame."""
    if not ready:
        return
    if not frames and level == "auto" and not getattr(predictor, "level_invariant", False):
        an.set_level([an.power(rec, *ready[0], count=False)])  # analyse_frames reads (and counts) it again
    raw = an.analyse_frames(rec, ready, prefetch=prefetch)
    frames.extend(ready)
    settler.add(squeeze_boxes(raw, frames))


def _analyse(an, rec, bounds, settler, level, predictor, prefetch, *, first: bool) -> int:
    """Analyse ``bounds`` (the first blocks when ``first``: the level is set from the first of them)."""
    if not bounds:
        return 0
    if first and level == "auto" and not getattr(predictor, "level_invariant", False):
        power = an.power(rec, *bounds[0])
        an.set_level([power])
        settler.add(an.analyse(power, bounds[0][0]))
        bounds = bounds[1:]
        done = 1
    else:
        done = 0
    for (b0, _), power in Prefetch(lambda b: an.power(rec, *b), bounds, depth=prefetch):
        settler.add(an.analyse(power, b0))
        done += 1
    return done
