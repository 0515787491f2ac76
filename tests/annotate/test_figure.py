"""The overlay picture (drawn with Pillow): every text inside the picture whatever the frequency axis reads, axes
that read the recording's absolute frequencies, boxes where the annotations are, no plotting library imported."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from radiofm.annotate.figure import LABEL_COLORS, SIZE, colour_map, nice_ticks, overlay_figure


def _inputs(center_hz, span_hz, name="capture.sigmf-meta", duration_s=0.04, picture=None):
    rec = SimpleNamespace(center_freq_hz=center_hz, sample_rate_hz=span_hz, path=Path(name))
    fc = center_hz or 0.0
    ann = SimpleNamespace(
        label="NR",
        sample_start=0,
        sample_count=int(duration_s * span_hz / 2),  # the first half of the capture
        freq_lower_edge_hz=fc - span_hz / 4,
        freq_upper_edge_hz=fc + span_hz / 4,
    )
    if picture is None:
        picture = np.random.default_rng(0).normal(-10, 3, size=(64, 80)).astype(np.float32)
    extent = (0.0, duration_s, -span_hz / 2, span_hz / 2)
    result = SimpleNamespace(picture_extent=extent, picture_db=picture, annotations=[ann])
    return rec, result


@pytest.mark.parametrize(
    "center_hz, span_hz",
    [(3.5e9, 61.44e6), (28.0001e9, 1.92e6), (None, 61.44e6), (None, 1.92e6), (140e9, 491.52e6)],
)
def test_every_text_inside_the_picture_and_apart(center_hz, span_hz):
    rec, result = _inputs(center_hz, span_hz, name="a $b$ " + "x" * 200 + ".sigmf-meta")
    ov = overlay_figure(rec, result)
    assert ov.image.size == SIZE
    roles = {role for role, _, _ in ov.texts}
    assert {"title", "xlabel", "ylabel", "ytick", "xtick", "cbtick", "cblabel", "box", "legend"} <= roles
    for role, text, (x0, y0, x1, y1) in ov.texts:
        assert 0 <= x0 < x1 <= SIZE[0] and 0 <= y0 < y1 <= SIZE[1], (role, text)
    boxes = {role: [b for r, _, b in ov.texts if r == role] for role in roles}
    left_of_ticks = min(b[0] for b in boxes["ytick"])
    assert boxes["ylabel"][0][2] < left_of_ticks  # the axis label clears the tick labels
    assert max(b[2] for b in boxes["ytick"]) < ov.plot[0]  # the tick labels clear the plot
    assert ov.plot[2] < ov.colorbar[0]  # the colour bar beside the plot
    assert boxes["cblabel"][0][0] > max(b[2] for b in boxes["cbtick"])
    title = next(t for r, t, _ in ov.texts if r == "title")
    assert title.startswith("a $b$ xx") and title.endswith(": 1 NR, 0 LTE") and len(title) < 80


@pytest.mark.parametrize("center_hz, span_hz", [(3.5e9, 61.44e6), (28.0001e9, 1.92e6), (None, 1.92e6)])
def test_frequency_ticks_are_absolute_and_in_place(center_hz, span_hz):
    rec, result = _inputs(center_hz, span_hz)
    ov = overlay_figure(rec, result)
    lo = ((center_hz or 0.0) - span_hz / 2) / 1e6
    hi = ((center_hz or 0.0) + span_hz / 2) / 1e6
    ticks = [(float(t), b) for r, t, b in ov.texts if r == "ytick"]
    assert len(ticks) >= 4
    x0, y0, x1, y1 = ov.plot
    for value, (_, ty0, _, ty1) in ticks:
        assert lo - 1e-9 <= value <= hi + 1e-9
        expected = y1 - (value - lo) / (hi - lo) * (y1 - y0)  # frequency grows upwards
        assert abs((ty0 + ty1) / 2 - expected) <= 2


def test_the_box_is_drawn_where_the_annotation_lies():
    flat = np.zeros((64, 80), np.float32)  # a uniform picture: only the box's edges differ from it
    rec, result = _inputs(3.5e9, 61.44e6, picture=flat)
    ov = overlay_figure(rec, result)
    px = np.asarray(ov.image)
    x0, y0, x1, y1 = ov.plot
    h = y1 - y0
    top, bottom = y0 + round(h / 4), y0 + round(3 * h / 4)  # the band's middle half
    right = x0 + round((x1 - x0) / 2)  # the first half of the capture
    nr = np.array(LABEL_COLORS["NR"])
    for y in (top, bottom):
        assert (np.abs(px[y, x0 + 60 : right - 5].astype(int) - nr).max(axis=1) <= 1).mean() > 0.95
    column = px[top + 20 : bottom - 20, right].astype(int)
    assert (np.abs(column - nr).max(axis=1) <= 1).mean() > 0.95
    background = px[y0 + 5, right + 50].astype(int)  # outside the box: the colour map's colour of the flat picture
    assert np.abs(background - nr).max() > 50


def test_nonfinite_pictures_and_no_annotations_draw():
    rec, result = _inputs(None, 1.92e6, picture=np.full((8, 8), np.nan, np.float32))
    result.annotations = []
    ov = overlay_figure(rec, result)
    buf = io.BytesIO()
    ov.save(buf)
    assert Image.open(io.BytesIO(buf.getvalue())).size == SIZE
    assert not any(r in ("box", "legend") for r, _, _ in ov.texts)
    rec, result = _inputs(3.5e9, 61.44e6, picture=np.array([[-np.inf, 1.0], [np.nan, 2.0]], np.float32))
    overlay_figure(rec, result)


def test_nice_ticks_and_the_colour_map():
    assert nice_ticks(3469.28, 3530.72) == ([3470.0 + 10 * k for k in range(7)], 0)
    ticks, dec = nice_ticks(-0.96, 0.96)
    assert dec == 2 and ticks[0] == -0.75 and ticks[-1] == 0.75
    assert nice_ticks(5.0, 5.0) == ([5.0], 0)
    lut = colour_map(np.linspace(0, 1, 256))
    assert lut.dtype == np.uint8 and lut.shape == (256, 3)
    lightness = lut.astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(lightness) >= -1e-9)  # dark to bright: low power reads as dark
    assert (colour_map(np.array([np.nan])) == lut[0]).all()


def test_drawing_the_overlay_imports_no_plotting_library():
    """Importing was already free of matplotlib; now drawing is too (its import was ~0.25 s of start-up)."""
    code = (
        "import io, sys; sys.path.insert(0, sys.argv[1]); import test_figure as t\n"
        "rec, res = t._inputs(3.5e9, 61.44e6); t.overlay_figure(rec, res).save(io.BytesIO())\n"
        "print('matplotlib' in sys.modules)"
    )
    here = str(Path(__file__).parent)
    out = subprocess.run([sys.executable, "-c", code, here], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_boxes_narrower_than_their_label_go_without_it():
    rec, result = _inputs(3.5e9, 61.44e6, duration_s=4.0)
    wide = result.annotations[0]  # the first half of 4 s
    bursts = [
        SimpleNamespace(label="LTE", sample_start=int(k * 0.04 * 61.44e6), sample_count=int(0.01 * 61.44e6),
                        freq_lower_edge_hz=3.51e9, freq_upper_edge_hz=3.52e9)
        for k in range(50, 100)
    ]  # fmt: skip
    result.annotations = [wide, *bursts]
    ov = overlay_figure(rec, result)
    labels = [t for r, t, _ in ov.texts if r == "box"]
    assert labels == ["NR"]  # 10 ms bursts in a 4 s picture are ~3 px wide: no label, the legend names them
    assert sorted(t for r, t, _ in ov.texts if r == "legend") == ["LTE", "NR"]
