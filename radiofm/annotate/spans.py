"""Spans of a recording for the physical-layer stages: a box's own samples (:func:`box_span`), a read that repairs
non-finite samples without a warning on any thread (:func:`read_span`), and the last span read with its spectrum,
shared by a stage's searches (:class:`LastSpan`). Split from :mod:`radiofm.annotate.decide` (session 52).
"""

from __future__ import annotations

import numpy as np

from radiofm.annotate.boxes import Box
from radiofm.annotate.plan import Plan
from radiofm.data.recording import Recording
from radiofm.dsp import ofdm_rx


def box_span(box: Box, plan: Plan, max_ms: float) -> tuple[int, int]:
    """(start, count) in recording samples of ``box``'s own columns, at most ``max_ms`` of them."""
    start = int(round(box.col_lo * plan.samples_per_column))
    count = min(int(round((box.col_hi - box.col_lo) * plan.samples_per_column)), plan.n_samples - start)
    return start, min(count, int(max_ms * 1e-3 * plan.sample_rate_hz))


def read_span(rec: Recording, start: int, count: int, nonfinite: str) -> np.ndarray:
    """Samples [start, start + count) of ``rec``; ``nonfinite="repair"`` zeroes NaN/inf samples without a warning
    (counted into a dict no one reads: the front end has counted them; no warning filter, so any thread may read)."""
    if nonfinite == "repair":
        return rec.read(start, count, nonfinite="repair", counts={})
    return rec.read(start, count)


class LastSpan:
    """Spans of ``rec`` for a stage's searches, each with its spectrum (:func:`~radiofm.dsp.ofdm_rx.span_spectrum`)
    and, when asked, its noise floor. The last span is kept, so searches over the same samples (every carrier of a
    40 ms capture) share one read and one FFT."""

    def __init__(self, rec: Recording, nonfinite: str):
        self._rec, self._nonfinite = rec, nonfinite
        self._at: tuple[int, int] | None = None
        self._span: tuple[np.ndarray, np.ndarray] | None = None
        self._floor: float | None = None

    def read(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(samples [start, start + count), their spectrum), read afresh and not kept: for reads on several threads."""
        x = read_span(self._rec, start, count, self._nonfinite)
        return x, ofdm_rx.span_spectrum(x)

    def __call__(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(samples [start, start + count), their spectrum)."""
        if self._at != (start, count):
            self._at, self._span, self._floor = (start, count), self.read(start, count), None
        return self._span

    def floor(self) -> float:
        """:func:`~radiofm.dsp.ofdm_rx.noise_floor` of the last span's spectrum (once per span: it costs more than
        the FFT)."""
        if self._floor is None:
            self._floor = ofdm_rx.noise_floor(self._span[1], self._rec.sample_rate_hz)
        return self._floor
