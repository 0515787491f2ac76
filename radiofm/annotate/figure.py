"""The overlay picture of an annotated recording: its spectrogram with the detected carriers drawn as boxes."""

from __future__ import annotations

from radiofm.annotate.run import ANNOTATION_LABELS, AnnotateResult
from radiofm.data.recording import Recording

# The 11 x 5.5 in picture's axes, placed by hand (no layout engine: saving then draws once, ~0.1 s less start-up,
# issue 13). Figure fractions: bottom and height leave room for the time axis and the title; the colorbar and its
# label take the right edge; the left margin is the frequency axis label plus the widest tick label (_left).
_SIZE_IN = (11.0, 5.5)
_BOTTOM, _HEIGHT = 0.095, 0.855
_AXES_RIGHT = 0.9
_COLORBAR = (0.915, _BOTTOM, 0.014, _HEIGHT)
_EM_WIDTH = {**dict.fromkeys("0123456789", 0.64), ".": 0.32, "-": 0.84, "\u2212": 0.84}  # DejaVu Sans advance, em


def overlay_figure(rec: Recording, result: AnnotateResult):
    """Spectrogram (decimated in time) with the detected carriers drawn as labelled boxes."""
    from radiofm.viz import draw_annotations, new_figure, plain_label, plot_spectrogram  # matplotlib: only when drawing

    fc = rec.center_freq_hz or 0.0
    t0, t1, f0, f1 = result.picture_extent
    unit, scale = ("ms", 1e3) if t1 < 2.0 else ("s", 1.0)
    fig = new_figure(_SIZE_IN, layout=None)
    ax = fig.add_axes((0.065, _BOTTOM, _AXES_RIGHT - 0.065, _HEIGHT))
    counts = {lab: sum(a.label == lab for a in result.annotations) for lab in ANNOTATION_LABELS}
    counted = ", ".join(f"{n} {lab}" for lab, n in counts.items() if n or lab != "unknown")
    title = f"{plain_label(rec.path.name, 60)}: {counted}"  # a long file name is cut, the counts are kept
    extent = (t0 * scale, t1 * scale, (fc + f0) / 1e6, (fc + f1) / 1e6)
    im = plot_spectrogram(ax, result.picture_db, extent=extent, colorbar=False)
    fig.colorbar(im, cax=fig.add_axes(_COLORBAR), label="power (dB)")
    ax.ticklabel_format(axis="y", useOffset=False)  # absolute MHz on every tick, not "+2.8e4" over offsets
    left = _left(ax)
    ax.set_position((left, _BOTTOM, _AXES_RIGHT - left, _HEIGHT))
    ax.set_title(title, fontsize=9, parse_math=False, usetex=False)  # a file name is not mathtext
    draw_annotations(ax, result.annotations, sample_rate_hz=rec.sample_rate_hz, center_freq_hz=None, time_unit=unit)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("frequency (MHz)" + ("" if rec.center_freq_hz else ", baseband"))
    return fig


def _left(ax) -> float:
    """Left margin (figure fraction) that fits the frequency axis's label and its widest tick label, estimated from
    the tick strings the axis will draw (font metrics without a draw pass)."""
    from matplotlib import rcParams

    labels = ax.yaxis.get_major_formatter().format_ticks(ax.get_yticks())
    em_in = rcParams["ytick.labelsize"] if isinstance(rcParams["ytick.labelsize"], float) else 10.0
    em_in /= 72.0
    widest = max((sum(_EM_WIDTH.get(c, 0.7) for c in lab) for lab in labels), default=4 * 0.64) * em_in
    return min(0.3, (0.38 + widest) / _SIZE_IN[0])  # 0.38 in: axis label, its pad, the ticks and their pad
