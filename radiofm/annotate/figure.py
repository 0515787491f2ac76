"""The overlay picture of an annotated recording: its spectrogram with the detected carriers drawn as labelled boxes.

Drawn with Pillow, not matplotlib: matplotlib's import and its figure took ~0.5 s of a 40 ms capture's ~1.9 s
(issue 13's start-up target is 2 s); this picture costs ~0.05 s (``benchmarks/overlay_picture.py``). What it shows
is what the matplotlib figure showed: the spectrogram in dB on a dark-to-bright colour map (5th to 99.9th
percentile), time on x (ms below 2 s, else s), absolute frequency in MHz on y (baseband when the recording has no
centre frequency), each annotation as a box in its label's colour with the label inside its top-left corner (where
the box is wide enough), a legend, a colour bar in dB and a title with the file name and the counts per label.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from radiofm.annotate.run import ANNOTATION_LABELS, AnnotateResult
from radiofm.data.recording import Recording
from radiofm.text import legend_entries, plain_label

SIZE = (1210, 605)  # px: the 11 x 5.5 in, 110 dpi picture the matplotlib figure was
LABEL_COLORS = {"NR": (255, 80, 170), "LTE": (80, 230, 255), "unknown": (255, 255, 255)}
_OTHER_COLORS = ((255, 175, 50), (170, 255, 90), (255, 120, 90), (200, 160, 255), (255, 235, 100), (140, 210, 255))
# the colour map: dark blue through teal and green to pale yellow (position in [0, 1], RGB); ordered by lightness
_CMAP_ANCHORS = (
    (0.0, (18, 10, 52)),
    (0.25, (42, 62, 138)),
    (0.5, (30, 136, 142)),
    (0.75, (92, 196, 96)),
    (1.0, (246, 234, 120)),
)
_TEXT, _AXIS, _WHITE = (20, 20, 20), (60, 60, 60), (255, 255, 255)
_TICK = 5  # tick mark length, px


@dataclass
class Overlay:
    """The picture and where its parts lie (pixel boxes (x0, y0, x1, y1), for tests and callers that crop)."""

    image: Image.Image
    plot: tuple[int, int, int, int]  # the spectrogram's area
    colorbar: tuple[int, int, int, int]
    texts: list[tuple[str, str, tuple[int, int, int, int]]] = field(default_factory=list)  # (role, text, box)

    def save(self, target, *, compress_level: int = 3) -> None:
        """Write the picture as PNG to a path or a binary file (level 3: ~3x faster than 6, ~10 % larger)."""
        self.image.save(target, format="PNG", compress_level=compress_level)


def overlay_figure(rec: Recording, result: AnnotateResult) -> Overlay:
    """The spectrogram (``result.picture_db``, decimated in time) with the detected carriers as labelled boxes."""
    fc = rec.center_freq_hz or 0.0
    t0, t1, f0, f1 = (float(v) for v in result.picture_extent)
    unit, t_scale = ("ms", 1e3) if t1 < 2.0 else ("s", 1.0)
    lo_mhz, hi_mhz = (fc + f0) / 1e6, (fc + f1) / 1e6
    img = Image.new("RGB", SIZE, _WHITE)
    draw = ImageDraw.Draw(img)
    out = Overlay(img, (0, 0, 0, 0), (0, 0, 0, 0))
    spec, vmin, vmax = _normalised(result.picture_db)
    tick_font, label_font = _font(13), _font(15)

    y_ticks, y_dec = nice_ticks(lo_mhz, hi_mhz)
    y_labels = [_fmt(v, y_dec) for v in y_ticks]
    c_ticks, c_dec = nice_ticks(vmin, vmax, target=5)
    c_labels = [_fmt(v, c_dec) for v in c_ticks]
    left = 10 + _height(label_font) + 10 + max((_width(s, tick_font) for s in y_labels), default=0) + _TICK + 4
    right = 14 + 16 + _TICK + 4 + max((_width(s, tick_font) for s in c_labels), default=0) + 10
    right += _height(label_font) + 10
    x0, y0, x1, y1 = left, 34, SIZE[0] - right, SIZE[1] - 52
    out.plot, out.colorbar = (x0, y0, x1, y1), (x1 + 14, y0, x1 + 30, y1)
    img.paste(Image.fromarray(colour_map(np.flipud(spec))).resize((x1 - x0, y1 - y0), Image.NEAREST), (x0, y0))
    _boxes(img, out, result.annotations, rec, (t0, t1, fc + f0, fc + f1))
    draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=_AXIS)

    def y_px(v: float, lo: float, hi: float) -> float:
        return y1 - (v - lo) / max(hi - lo, 1e-12) * (y1 - y0)

    for v, s in zip(y_ticks, y_labels):  # frequency axis
        y = round(y_px(v, lo_mhz, hi_mhz))
        draw.line((x0 - _TICK, y, x0 - 1, y), fill=_AXIS)
        out.texts.append(("ytick", s, _text(draw, (x0 - _TICK - 4, y), s, tick_font, "rm")))
    x_ticks, x_dec = nice_ticks(t0 * t_scale, t1 * t_scale, target=8)
    for v in x_ticks:  # time axis
        x = round(x0 + (v - t0 * t_scale) / max((t1 - t0) * t_scale, 1e-12) * (x1 - x0))
        draw.line((x, y1, x, y1 + _TICK), fill=_AXIS)
        s = _fmt(v, x_dec)
        out.texts.append(("xtick", s, _text(draw, (x, y1 + _TICK + 3), s, tick_font, "mt")))
    cx0, cy0, cx1, cy1 = out.colorbar  # colour bar: bright at the top
    ramp = np.linspace(1.0, 0.0, cy1 - cy0)[:, None].repeat(cx1 - cx0, axis=1)
    img.paste(Image.fromarray(colour_map(ramp)), (cx0, cy0))
    draw.rectangle((cx0 - 1, cy0 - 1, cx1, cy1), outline=_AXIS)
    for v, s in zip(c_ticks, c_labels):
        y = round(y_px(v, vmin, vmax))
        draw.line((cx1, y, cx1 + _TICK, y), fill=_AXIS)
        out.texts.append(("cbtick", s, _text(draw, (cx1 + _TICK + 4, y), s, tick_font, "lm")))
    widest = max((b[2] for r, _, b in out.texts if r == "cbtick"), default=cx1 + _TICK)
    out.texts.append(("cblabel", "power (dB)", _vertical(img, (widest + 10, (y0 + y1) // 2), "power (dB)", label_font)))
    ylabel = "frequency (MHz)" + ("" if rec.center_freq_hz else ", baseband")
    out.texts.append(("ylabel", ylabel, _vertical(img, (10, (y0 + y1) // 2), ylabel, label_font)))
    xlabel = f"time ({unit})"
    out.texts.append(("xlabel", xlabel, _text(draw, ((x0 + x1) // 2, SIZE[1] - 6), xlabel, label_font, "md")))
    counts = {lab: sum(a.label == lab for a in result.annotations) for lab in ANNOTATION_LABELS}
    counted = ", ".join(f"{n} {lab}" for lab, n in counts.items() if n or lab != "unknown")
    title = f"{plain_label(rec.path.name, 60)}: {counted}"  # a long file name is cut, the counts are kept
    out.texts.append(("title", title, _text(draw, ((x0 + x1) // 2, y0 - 10), title, _font(14), "md")))
    return out


def _boxes(img: Image.Image, out: Overlay, annotations, rec: Recording, extent: tuple) -> None:
    """Each annotation's box, its label and the legend, drawn on the plot area only (clipped to it)."""
    if not annotations:
        return
    x0, y0, x1, y1 = out.plot
    t0, t1, lo_hz, hi_hz = extent
    fs, fc = rec.sample_rate_hz, rec.center_freq_hz or 0.0
    area = img.crop(out.plot)
    draw = ImageDraw.Draw(area, "RGBA")
    font = _font(11)
    w, h = area.size
    names = sorted({plain_label(a.label or "(unlabelled)") for a in annotations})
    colors = label_colors(names)
    for a in annotations:
        name = plain_label(a.label or "(unlabelled)")
        lo = a.freq_lower_edge_hz if a.freq_lower_edge_hz is not None else fc - fs / 2
        hi = a.freq_upper_edge_hz if a.freq_upper_edge_hz is not None else fc + fs / 2
        ta, tb = a.sample_start / fs, (a.sample_start + a.sample_count) / fs
        xa, xb = ((t - t0) / max(t1 - t0, 1e-12) * w for t in (ta, tb))
        ya, yb = (h - (f - lo_hz) / max(hi_hz - lo_hz, 1e-12) * h for f in (hi, lo))
        xa, xb, ya, yb = (min(max(v, -4.0), 4.0 + (w if i < 2 else h)) for i, v in enumerate((xa, xb, ya, yb)))
        draw.rectangle((round(xa), round(ya), max(round(xb), round(xa) + 1), max(round(yb), round(ya) + 1)),
                       outline=colors[name], width=2)  # fmt: skip
        box = draw.textbbox((round(xa) + 4, round(ya) + 3), name, font=font)
        if box[2] + 3 > xb:  # a box narrower than its label (bursts of a long capture): the legend's colour says it
            continue
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(255, 255, 255, 200))
        draw.text((round(xa) + 4, round(ya) + 3), name, font=font, fill=_TEXT)
        out.texts.append(("box", name, (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)))
    shown, more = legend_entries(names)
    shown += [more] if more else []
    line = _height(font) + 6
    width = 22 + max(_width(s, font) for s in shown) + 8
    lx, ly = w - width - 6, 6
    draw.rectangle((lx, ly, lx + width, ly + 6 + line * len(shown)), fill=(255, 255, 255, 160), outline=_AXIS)
    for i, s in enumerate(shown):
        y = ly + 6 + i * line
        if s in colors:
            draw.rectangle((lx + 6, y + 1, lx + 16, y + line - 7), outline=_darker(colors[s]), width=2)
        draw.text((lx + 22, y), s, font=font, fill=_TEXT)
        box = draw.textbbox((lx + 22, y), s, font=font)
        out.texts.append(("legend", s, (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)))
    img.paste(area, (x0, y0))


def label_colors(names) -> dict[str, tuple[int, int, int]]:
    """NR, LTE and unknown in fixed colours; any other label (sorted) from a short palette."""
    others = sorted(n for n in set(names) if n not in LABEL_COLORS)
    return {**{n: LABEL_COLORS[n] for n in names if n in LABEL_COLORS},
            **{n: _OTHER_COLORS[i % len(_OTHER_COLORS)] for i, n in enumerate(others)}}  # fmt: skip


def colour_map(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) -> uint8 RGB (..., 3) on the overlay's colour map (NaN: the darkest colour)."""
    idx = np.clip(np.nan_to_num(np.asarray(values, np.float32), nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _lut()[idx]


@functools.cache
def _lut() -> np.ndarray:
    pos = np.array([p for p, _ in _CMAP_ANCHORS])
    rgb = np.array([c for _, c in _CMAP_ANCHORS], float)
    x = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(x, pos, rgb[:, k]) for k in range(3)], axis=-1).round().astype(np.uint8)


def _normalised(picture_db) -> tuple[np.ndarray, float, float]:
    """(picture scaled to [0, 1] between its 5th and 99.9th percentile, that low dB, that high dB)."""
    spec = np.asarray(picture_db, dtype=np.float32)
    finite = spec[np.isfinite(spec)]
    if not finite.size:
        return np.zeros(spec.shape, np.float32), 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, [5, 99.9]))
    hi = hi if hi > lo else lo + 1.0
    scaled = (np.where(np.isfinite(spec), spec, lo) - lo) / (hi - lo)
    return np.clip(scaled, 0.0, 1.0), lo, hi


def nice_ticks(lo: float, hi: float, *, target: int = 6) -> tuple[list[float], int]:
    """Round tick values inside [lo, hi] (steps of 1, 2, 2.5 or 5 x 10^k, about ``target`` of them) and the decimals
    that print them exactly."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else [], 0
    raw = (hi - lo) / (max(target, 1) + 2)  # the smallest round step at least this: target to target + 2 ticks
    exp = math.floor(math.log10(raw))
    step = next(m * 10.0**exp for m in (1, 2, 2.5, 5, 10) if m * 10.0**exp >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(round(step * 10**decimals) - step * 10**decimals) > 1e-6:  # 2.5 x 10^k needs one more
        decimals += 1
    return ticks, decimals


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text  # no "-0.0"


@functools.cache
def _font(size: int):
    """Pillow's built-in scalable font at ``size`` px (its bitmap font where Pillow has no FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # an old Pillow or one built without FreeType
        return ImageFont.load_default()


def _width(text: str, font) -> int:
    box = font.getbbox(text)
    return int(box[2] - box[0])


def _height(font) -> int:
    box = font.getbbox("0123456789ms(Hz)")
    return int(box[3] - box[1])


def _text(draw: ImageDraw.ImageDraw, xy, text: str, font, anchor: str) -> tuple[int, int, int, int]:
    draw.text(xy, text, font=font, fill=_TEXT, anchor=anchor)
    return tuple(int(v) for v in draw.textbbox(xy, text, font=font, anchor=anchor))


def _vertical(img: Image.Image, left_middle: tuple[int, int], text: str, font) -> tuple[int, int, int, int]:
    """``text`` rotated to read upwards, its left edge at x and centred on y; returns its box."""
    box = font.getbbox(text)
    tile = Image.new("L", (int(box[2] - box[0]) + 2, int(box[3]) + 2), 0)
    ImageDraw.Draw(tile).text((1 - box[0], 1), text, font=font, fill=255)
    tile = tile.rotate(90, expand=True)
    x, y = left_middle[0], left_middle[1] - tile.height // 2
    img.paste(Image.new("RGB", tile.size, _TEXT), (x, y), tile)
    return x, y, x + tile.width, y + tile.height


def _darker(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A label's colour dark enough to read on the white label background."""
    return tuple(int(c * 0.55) for c in rgb)
