"""The overlay picture keeps every label inside the figure whatever the frequency axis reads (its axes are placed by
hand, without a layout engine)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from radiofm.annotate.figure import overlay_figure


def _inputs(center_hz, span_hz, name="capture.sigmf-meta"):
    rec = SimpleNamespace(center_freq_hz=center_hz, sample_rate_hz=span_hz, path=Path(name))
    fc = center_hz or 0.0
    ann = SimpleNamespace(
        label="NR",
        sample_start=0,
        sample_count=1000,
        freq_lower_edge_hz=fc - span_hz / 4,
        freq_upper_edge_hz=fc + span_hz / 4,
    )
    picture = np.random.default_rng(0).normal(-10, 3, size=(64, 80)).astype(np.float32)
    extent = (0.0, 0.04, -span_hz / 2, span_hz / 2)
    result = SimpleNamespace(picture_extent=extent, picture_db=picture, annotations=[ann])
    return rec, result


@pytest.mark.parametrize(
    "center_hz, span_hz",
    [(3.5e9, 61.44e6), (28.0001e9, 1.92e6), (None, 61.44e6), (None, 1.92e6), (140e9, 491.52e6)],
)
def test_every_label_inside_the_figure(center_hz, span_hz):
    rec, result = _inputs(center_hz, span_hz, name="a $b$ " + "x" * 200 + ".sigmf-meta")
    fig = overlay_figure(rec, result)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    ax, cax = fig.axes
    assert ax.yaxis.get_offset_text().get_text() == ""  # absolute MHz on the ticks, not an offset
    width, height = fig.bbox.width, fig.bbox.height
    texts = [ax.yaxis.label, ax.xaxis.label, ax.title, cax.yaxis.label]
    ticks = _drawn_ticks(ax)
    texts += ticks + _drawn_ticks(cax)
    for t in texts:
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, t.get_text()
    ticks_left = min(t.get_window_extent(renderer).x0 for t in ticks)
    assert ax.yaxis.label.get_window_extent(renderer).x1 <= ticks_left  # the axis label clears the tick labels
    assert ax.get_window_extent(renderer).x1 < cax.get_window_extent(renderer).x0  # the colorbar beside the axes


def _drawn_ticks(ax):
    """The y tick labels inside the view (matplotlib also lays out labels of ticks beyond it, undrawn)."""
    lo, hi = sorted(ax.get_ylim())
    return [t for t in ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]
