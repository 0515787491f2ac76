"""The overlay picture of an annotated recording: its spectrogram with the detected carriers drawn as boxes."""

from __future__ import annotations

from radiofm.annotate.run import ANNOTATION_LABELS, AnnotateResult
from radiofm.data.recording import Recording


def overlay_figure(rec: Recording, result: AnnotateResult):
    """Spectrogram (decimated in time) with the detected carriers drawn as labelled boxes."""
    from radiofm.viz import draw_annotations, new_figure, plot_spectrogram  # matplotlib: only when drawing

    fc = rec.center_freq_hz or 0.0
    t0, t1, f0, f1 = result.picture_extent
    unit, scale = ("ms", 1e3) if t1 < 2.0 else ("s", 1.0)
    fig = new_figure((11.0, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    counts = {lab: sum(a.label == lab for a in result.annotations) for lab in ANNOTATION_LABELS}
    title = f"{rec.path.name}: " + ", ".join(f"{n} {lab}" for lab, n in counts.items() if n or lab != "unknown")
    plot_spectrogram(ax, result.picture_db, extent=(t0 * scale, t1 * scale, (fc + f0) / 1e6, (fc + f1) / 1e6))
    ax.set_title(title, fontsize=9)
    draw_annotations(ax, result.annotations, sample_rate_hz=rec.sample_rate_hz, center_freq_hz=None, time_unit=unit)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("frequency (MHz)" + ("" if rec.center_freq_hz else ", baseband"))
    return fig
