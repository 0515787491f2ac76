"""Small plotting helpers on matplotlib's Agg canvas: no display needed, no global backend switch.

Conventions: spectrograms are (F, T) with row 0 the most negative frequency (as :func:`radiofm.dsp.spectrogram`
returns them), drawn with time on x and frequency on y.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from radiofm.errors import OutputError
from radiofm.io import atomic_path
from radiofm.text import legend_entries, plain_label

if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
    import matplotlib

    matplotlib.use("Agg")  # headless by default; an explicit MPLBACKEND (e.g. Jupyter's) wins

_TIME_SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6}


def new_figure(figsize: tuple[float, float] = (10.0, 5.0), *, layout: str | None = "constrained") -> Figure:
    """A figure attached to an Agg canvas (safe in threads and on headless machines).

    ``layout=None``: no layout engine, for a caller that places its axes itself (the constrained engine draws the
    figure twice at save time: ~0.1 s of a 1200 x 600 picture, which matters where start-up is counted)."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def picture_format(path: str | Path) -> str:
    """The picture format of ``path`` from its suffix ("png" without one); OutputError (one line) for a suffix
    matplotlib cannot write (``--out rec.sigmf-meta``), before any work."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    formats = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in formats:
        names = ", ".join("." + f for f in ("png", "pdf", "svg", "jpg") if f in formats)
        raise OutputError(f"cannot write {path}: .{fmt} is not a picture format (use {names}, ...)")
    return fmt


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Render ``fig`` to ``path`` atomically (format from the suffix, e.g. .png/.pdf/.svg) and close it."""
    path = Path(path)
    fmt = picture_format(path)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    try:
        with atomic_path(path) as tmp:
            try:
                fig.savefig(tmp, format=fmt, dpi=dpi)
            except OSError as exc:  # disk full, file too large: one line, nothing left behind
                raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        if "matplotlib.pyplot" in sys.modules:  # only pyplot keeps a reference to release
            sys.modules["matplotlib.pyplot"].close(fig)
    return path


def plot_spectrogram(
    ax: Axes,
    spec_db: np.ndarray,
    *,
    extent: Sequence[float] | None = None,
    title: str | None = None,
    cmap: str = "viridis",
    colorbar: bool = True,
):
    """Draw ``spec_db`` (F, T) in dB; ``extent`` = (t0, t1, f0, f1) in the caller's units. Returns the image."""
    spec_db = np.asarray(spec_db)
    finite = spec_db[np.isfinite(spec_db)]
    vmin, vmax = np.percentile(finite, [5, 99.9]) if finite.size else (None, None)
    im = ax.imshow(
        spec_db,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        extent=None if extent is None else tuple(extent),
        vmin=vmin,
        vmax=vmax,
    )
    if title:
        ax.set_title(plain_label(title, 120), parse_math=False, usetex=False)
    if colorbar and ax.figure is not None:
        ax.figure.colorbar(im, ax=ax, label="power (dB)")
    return im


def label_colors(labels: Iterable[str]) -> dict[str, tuple]:
    """A distinct colour per label (sorted, so the same labels get the same colours in every figure)."""
    from matplotlib import colormaps

    names = sorted(set(labels))
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def draw_annotations(
    ax: Axes,
    annotations: Sequence,
    *,
    sample_rate_hz: float,
    center_freq_hz: float | None,
    time_unit: str = "ms",
    freq_scale: float = 1e-6,
    legend: bool = True,
) -> None:
    """Draw each annotation as a labelled rectangle: time from its samples, frequency from its edges.

    Axes units: time in ``time_unit`` ("s", "ms", "us"), frequency in Hz * ``freq_scale`` (MHz by default),
    absolute when ``center_freq_hz`` is known, else baseband. Annotations without frequency edges span the band.
    """
    if time_unit not in _TIME_SCALE:
        raise ValueError(f"time_unit must be one of {sorted(_TIME_SCALE)}, not {time_unit!r}")
    if not annotations:
        return
    t_scale = _TIME_SCALE[time_unit]
    fc = center_freq_hz or 0.0
    colors = label_colors(plain_label(a.label or "(unlabelled)") for a in annotations)
    for a in annotations:
        label = plain_label(a.label or "(unlabelled)")
        lo = a.freq_lower_edge_hz if a.freq_lower_edge_hz is not None else fc - sample_rate_hz / 2
        hi = a.freq_upper_edge_hz if a.freq_upper_edge_hz is not None else fc + sample_rate_hz / 2
        t0 = a.sample_start / sample_rate_hz * t_scale
        dt = a.sample_count / sample_rate_hz * t_scale
        rect = Rectangle(
            (t0, lo * freq_scale), dt, (hi - lo) * freq_scale, fill=False, edgecolor=colors[label], linewidth=1.2
        )
        ax.add_patch(rect)
        ax.text(
            t0,
            hi * freq_scale,
            label,
            color=colors[label],
            fontsize=7,
            va="top",  # inside the box, so a full-band annotation's label is not clipped
            ha="left",
            clip_on=True,
            parse_math=False,  # user text: "$x^$" is a label, not mathtext
            usetex=False,
            bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 1},
        )
    if legend:
        names = list(colors)
        shown, more = legend_entries(names)
        handles = [Patch(facecolor="none", edgecolor=colors[n], label=n) for n in shown]
        if more:
            handles.append(Patch(facecolor="none", edgecolor="none", label=more))
        leg = ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.6)
        for text in leg.get_texts():
            text.set_parse_math(False)
            text.set_usetex(False)
