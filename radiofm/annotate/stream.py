"""Streaming mechanics of annotate: blocks of columns, a reader thread, the decimated picture, and the boxes that
are final while the stream goes on. Nothing here grows with the recording's duration except the list of boxes
(a few hundred bytes per detected carrier span). See :mod:`radiofm.annotate`.

- :func:`block_bounds`: the blocks of columns a recording of ``n_cols`` columns is analysed in; block ``i`` is the
  same for every length that makes it a non-final block, so a growing file can be analysed block by block
  (:func:`ready_blocks`) and end with exactly the blocks of a one-shot run on the finished file.
- :class:`Prefetch`: computes the next blocks' power (read + front end: numpy/scipy, which release the GIL) in a
  thread while the model runs on the current one; at most ``depth`` blocks wait.
- :class:`Picture`: the overlay's spectrogram, columns averaged in bins of ``q`` (a power of two, doubled whenever
  more than ``max_columns`` bins would be needed): memory and cost bounded whatever the duration.
- :class:`Settler`: raw per-block boxes -> the merged boxes no later block can change (:meth:`Settler.settle`),
  removed from what is kept, so a follow run can emit carriers as they end.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from radiofm.annotate.boxes import GAP_COLUMNS, Box, merge_boxes


def block_bounds(n_cols: int, block: int) -> list[tuple[int, int]]:
    """Blocks [a, b) of ``block`` columns; the last one takes the remainder (between 1 and 2 blocks long)."""
    n_blocks = max(1, n_cols // block)
    return [(i * block, (i + 1) * block if i < n_blocks - 1 else n_cols) for i in range(n_blocks)]


def strided_frames(n_cols: int, step: int, frame: int) -> list[tuple[int, int]]:
    """Frames [a, a + ``frame``) starting at every ``step``-th frame of a recording of ``n_cols`` columns, and a
    last one flush with its end where it overlaps none of them, so that the end is analysed too (one frame of all
    columns when the recording is shorter than a frame)."""
    if n_cols < frame:
        return [(0, n_cols)]
    out = strided_grid(n_cols, step, frame)
    if out[-1][1] <= n_cols - frame:
        out.append((n_cols - frame, n_cols))
    return out


def merge_strided(boxes: Sequence[Box], frames: Sequence[tuple[int, int]]) -> list[Box]:
    """:func:`merge_boxes` (``same_class=False``) of raw boxes found in the analysed ``frames`` (in time order, not
    overlapping) as if those frames were contiguous: a gap between two boxes counts only its analysed columns, so a
    carrier is bridged across skipped frames exactly when it would be inside one frame (on at the end of one
    analysed frame and at the start of the next), and a carrier off for a whole analysed frame is two annotations.
    The merged boxes come back in recording columns (spanning the skipped frames they bridge)."""
    return expand_boxes(merge_boxes(squeeze_boxes(boxes, frames), same_class=False), frames)


def _frame_map(frames: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    starts = np.array([a for a, _ in frames])
    return starts, np.cumsum([0] + [b - a for a, b in frames[:-1]])  # analysed columns before each frame


def squeeze_boxes(boxes: Sequence[Box], frames: Sequence[tuple[int, int]]) -> list[Box]:
    """Copies of ``boxes`` (in recording columns, each inside one of ``frames``) in analysed columns: the
    ``frames`` laid end to end (see :func:`merge_strided`)."""
    starts, offsets = _frame_map(frames)
    out = []
    for b in boxes:
        s = Box(**vars(b))
        for attr, end in (("col_lo", 0), ("col_hi", 1)):
            c = getattr(b, attr)
            j = int(np.searchsorted(starts, c - end, side="right")) - 1
            setattr(s, attr, int(offsets[j] + c - starts[j]))
        out.append(s)
    return out


def expand_boxes(boxes: Sequence[Box], frames: Sequence[tuple[int, int]]) -> list[Box]:
    """The inverse of :func:`squeeze_boxes`, in place: boxes in analysed columns -> recording columns."""
    starts, offsets = _frame_map(frames)
    for b in boxes:
        for attr, end in (("col_lo", 0), ("col_hi", 1)):
            c = getattr(b, attr)
            j = int(np.searchsorted(offsets, c - end, side="right")) - 1
            setattr(b, attr, int(starts[j] + c - offsets[j]))
    return list(boxes)


def strided_grid(n_cols: int, step: int, frame: int) -> list[tuple[int, int]]:
    """The frames of :func:`strided_frames` that a longer recording would analyse too (every ``step``-th whole
    frame; not the last one flush with the end): those a follow run can analyse as soon as they are complete."""
    return [(a, a + frame) for a in range(0, n_cols - frame + 1, step * frame)]


def ready_blocks(n_cols: int, block: int, done: int) -> list[tuple[int, int]]:
    """The blocks after the first ``done`` that are final for any length >= ``n_cols`` (all but the last, which may
    still grow): those a follow run can analyse now."""
    return block_bounds(n_cols, block)[done:-1]


class Prefetch:
    """Iterate ``fn(bound)`` for ``bounds`` computed ``depth`` ahead in one background thread (exceptions are
    raised in the consumer, at the block that failed). ``depth=0`` computes in the caller's thread."""

    def __init__(self, fn: Callable, bounds: Iterable, *, depth: int = 1):
        self._fn, self._bounds, self._depth = fn, list(bounds), depth
        self._stop = threading.Event()

    def __iter__(self) -> Iterator:
        if self._depth <= 0:
            for b in self._bounds:
                yield b, self._fn(b)
            return
        q: queue.Queue = queue.Queue(maxsize=self._depth)

        def work() -> None:
            for b in self._bounds:
                if self._stop.is_set():
                    return
                try:
                    item = (b, self._fn(b), None)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
                    item = (b, None, exc)
                while not self._stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if item[2] is not None:
                    return

        t = threading.Thread(target=work, name="annotate-reader", daemon=True)
        t.start()
        try:
            for _ in self._bounds:
                b, value, exc = q.get()
                if exc is not None:
                    raise exc
                yield b, value
        finally:
            self._stop.set()
            t.join()


class Picture:
    """Decimated spectrogram (linear power averaged over bins of ``q`` columns) of the kept rows."""

    def __init__(self, n_rows: int, max_columns: int):
        self.max_columns = max(1, int(max_columns))
        self.q = 1
        self._sum = np.zeros((n_rows, self.max_columns), dtype=np.float64)
        self._n = np.zeros(self.max_columns, dtype=np.int64)
        self.n_cols = 0

    def add(self, power: np.ndarray, b0: int) -> None:
        """Columns [b0, b0 + T) of ``power`` (rows, T); blocks arrive in order."""
        end = b0 + power.shape[1]
        while -(-end // self.q) > self.max_columns:  # merge bin pairs: q doubles
            half = (len(self._n) + 1) // 2
            s, n = self._sum, self._n
            m = len(n) // 2
            s[:, :m] = s[:, 0 : 2 * m : 2] + s[:, 1 : 2 * m : 2]
            n[:m] = n[0 : 2 * m : 2] + n[1 : 2 * m : 2]
            if len(n) % 2:
                s[:, m], n[m] = s[:, -1], n[-1]
            s[:, half:], n[half:] = 0.0, 0
            self.q *= 2
        cols = np.arange(b0, end) // self.q
        starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
        bins = cols[starts]
        self._sum[:, bins] += np.add.reduceat(power, starts, axis=1, dtype=np.float64)
        self._n[bins] += np.diff(np.r_[starts, len(cols)])
        self.n_cols = max(self.n_cols, end)

    def db(self) -> np.ndarray:
        """float32 (rows, bins) in dB over the columns added so far; NaN in bins no column was added to (frames
        an analysis with a frame step skipped)."""
        nb = -(-self.n_cols // self.q)
        n = self._n[:nb]
        out = (10 * np.log10(self._sum[:, :nb] / np.maximum(n, 1)[None, :] + 1e-12)).astype(np.float32)
        out[:, n == 0] = np.nan
        return out


def _overlap(a: Box, b: Box) -> bool:
    return a.row_lo <= b.row_hi and b.row_lo <= a.row_hi and a.col_lo < b.col_hi and b.col_lo < a.col_hi


def _inside(b: Box, m: Box) -> bool:
    return m.row_lo <= b.row_lo and b.row_hi <= m.row_hi and m.col_lo <= b.col_lo and b.col_hi <= m.col_hi


class Settler:
    """Raw boxes of the blocks analysed so far; :meth:`settle` hands out the merged boxes that are final."""

    def __init__(self) -> None:
        self.pending: list[Box] = []

    def add(self, boxes: Iterable[Box]) -> None:
        self.pending.extend(boxes)

    def settle(self, horizon: int) -> list[Box]:
        """Merged boxes that no raw box starting at column >= ``horizon`` can join, removed from ``pending``.

        :func:`merge_boxes` adds boxes in time order and joins one that starts at most ``GAP_COLUMNS`` after a
        merged box ends, so a merged box ending before ``horizon - GAP_COLUMNS`` is final, and dropping it with
        its raw boxes changes no other merge. Only boxes overlapping no other merged box are handed out (so its raw
        boxes are those inside it); the rest wait. ``merge_boxes(pending)`` at the end, plus everything settled
        before, equals ``merge_boxes`` of all raw boxes."""
        merged = merge_boxes(self.pending, same_class=False)
        safe = [
            m
            for m in merged
            if m.col_hi + GAP_COLUMNS < horizon and not any(o is not m and _overlap(m, o) for o in merged)
        ]
        if safe:
            self.pending = [b for b in self.pending if not any(_inside(b, m) for m in safe)]
        return safe

    def rest(self) -> list[Box]:
        """Merged boxes of everything not settled (call at the end of the stream)."""
        return merge_boxes(self.pending, same_class=False)
