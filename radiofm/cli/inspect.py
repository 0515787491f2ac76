"""``radiofm inspect REC [--out X.png]``: print a recording's metadata and plot its spectrogram with annotations.

Long recordings are not read whole: when the shown span holds more than ``--max-frames`` STFT frames, that many
frames are taken at evenly spaced positions across it (each one memory-mapped window), so a 2 GB file renders in
about the time of a short one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from radiofm.cli._types import positive_float
from radiofm.errors import ConfigError

N_TABLE = 20


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "inspect",
        help="print a recording's metadata and plot its spectrogram with annotations",
        description="Print a recording's metadata (SigMF or complex .npy) and render its spectrogram with the "
        "annotations drawn as labelled rectangles.",
    )
    p.add_argument("recording", metavar="REC", help=".sigmf-meta, .sigmf-data, their base name, or a complex .npy")
    p.add_argument("--out", type=Path, default=None, help="image to write (e.g. rec.png); omit to print only")
    p.add_argument("--max-seconds", type=float, default=None, help="show only the first S seconds")
    p.add_argument("--fft-size", type=int, default=1024, help="FFT size; window and hop are half of it (1024)")
    p.add_argument("--max-frames", type=int, default=2000, help="most STFT frames drawn; longer spans are strided")
    p.add_argument(
        "--sample-rate",
        dest="sample_rate_hz",
        type=positive_float,
        default=None,
        metavar="HZ",
        help="sample rate for a recording that gives none (a .npy without .json sidecar); overrides the file's",
    )
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from radiofm.data import open_recording

    if args.fft_size < 8:
        raise ConfigError(f"--fft-size must be at least 8, got {args.fft_size}")
    if args.max_seconds is not None and not 0 < args.max_seconds < float("inf"):
        raise ConfigError(f"--max-seconds must be positive and finite, got {args.max_seconds}")
    if args.max_frames < 1:
        raise ConfigError(f"--max-frames must be at least 1, got {args.max_frames}")
    if args.out is not None:
        from radiofm.viz import picture_format

        picture_format(args.out)  # a suffix no picture has (--out REC.sigmf-meta): refused before any work
    rec = open_recording(args.recording, sample_rate_hz=args.sample_rate_hz)
    print(describe(rec))
    if args.out is not None:
        render(rec, args.out, fft_size=args.fft_size, max_seconds=args.max_seconds, max_frames=args.max_frames)
        print(f"wrote {args.out}")
    return 0


def describe(rec, *, n_table: int = N_TABLE) -> str:
    """The recording's metadata as a few aligned lines, with a table of the first ``n_table`` annotations."""
    fs = rec.sample_rate_hz
    lines = [
        f"path         {rec.path}",
        f"datatype     {rec.datatype} ({'complex' if rec.is_complex else 'real, read with zero imaginary part'})",
        f"sample rate  {fs / 1e6:.6g} MHz",
        f"samples      {rec.n_samples} ({rec.duration_s * 1e3:.3f} ms)",
    ]
    desc = rec.global_meta.get("core:description")
    if desc:
        lines.append(f"description  {_short(desc, 300)}")
    lines.append(f"captures     {len(rec.captures)}")
    for c in rec.captures:
        fc = "unknown" if c.center_freq_hz is None else f"{c.center_freq_hz / 1e6:.6f} MHz"
        lines.append(f"  from sample {c.sample_start} ({c.sample_start / fs * 1e3:.3f} ms): centre {fc}")
    lines.append(f"annotations  {len(rec.annotations)}")
    if rec.annotations:
        lines.append(f"  {'start_ms':>10} {'dur_ms':>9} {'f_lo_MHz':>12} {'f_hi_MHz':>12}  label")
        for a in rec.annotations[:n_table]:
            lo = "-" if a.freq_lower_edge_hz is None else f"{a.freq_lower_edge_hz / 1e6:.3f}"
            hi = "-" if a.freq_upper_edge_hz is None else f"{a.freq_upper_edge_hz / 1e6:.3f}"
            start, dur = a.sample_start / fs * 1e3, a.sample_count / fs * 1e3
            lines.append(f"  {start:10.3f} {dur:9.3f} {lo:>12} {hi:>12}  {_short(a.label)}")
        if len(rec.annotations) > n_table:
            lines.append(f"  ... and {len(rec.annotations) - n_table} more")
    return "\n".join(lines)


def _short(text: object, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def frame_spans(n_samples: int, win: int, max_frames: int) -> np.ndarray:
    """Start sample of each drawn frame: every ``win`` samples, or ``max_frames`` evenly spaced when more."""
    n_frames = (n_samples - win) // win + 1
    if n_frames <= max_frames:
        return np.arange(n_frames, dtype=np.int64) * win
    return np.linspace(0, n_samples - win, max_frames).astype(np.int64)


def read_frames(rec, starts: np.ndarray, win: int) -> tuple[np.ndarray, int]:
    """Concatenated windows at ``starts`` (complex64, len(starts)*win) and the number of repaired samples."""
    counts: dict = {}
    if len(starts) < 2 or bool(np.all(np.diff(starts) == win)):  # contiguous: one read
        iq = rec.read(int(starts[0]), len(starts) * win, nonfinite="repair", counts=counts)
    else:
        iq = np.concatenate([rec.read(int(s), win, nonfinite="repair", counts=counts) for s in starts])
    return iq, int(counts.get("repaired", 0))


def render(rec, out: Path, *, fft_size: int = 1024, max_seconds: float | None = None, max_frames: int = 2000) -> Path:
    """Spectrogram (time in ms, frequency in MHz, absolute when the centre is known) with annotations, to ``out``."""
    from radiofm.dsp import spectrogram
    from radiofm.viz import draw_annotations, new_figure, plot_spectrogram, save_figure

    win = fft_size // 2
    fs = rec.sample_rate_hz
    n_show = rec.n_samples if max_seconds is None else min(rec.n_samples, int(max_seconds * fs))
    tunings = rec.tunings()
    if len(tunings) > 1 and n_show > tunings[0][1]:  # one frequency axis: the first tuning's samples only
        print(f"note: the recording retunes at sample {tunings[0][1]} ({len(tunings)} tunings); the picture shows "
              "the first tuning")  # fmt: skip
        n_show = tunings[0][1]
    rec.require_samples(win)
    n_show = max(n_show, win)
    starts = frame_spans(n_show, win, max_frames)
    iq, repaired = read_frames(rec, starts, win)
    if repaired:
        print(f"note: drew {repaired} non-finite (NaN/Inf) samples as zeros")
    spec = spectrogram(iq, fft_size=fft_size, win_length=win, hop=win, log=True)  # (F, len(starts))

    fc = rec.center_freq_hz or 0.0
    t1_ms = (int(starts[-1]) + win) / fs * 1e3
    extent = (0.0, t1_ms, (fc - fs / 2) / 1e6, (fc + fs / 2) / 1e6)
    strided = len(starts) > 1 and int(starts[1] - starts[0]) != win
    title = f"{Path(rec.path).name}  ({len(starts)} frames{', strided' if strided else ''})"
    fig = new_figure((11.0, 5.5))
    ax = fig.add_subplot()
    plot_spectrogram(ax, spec, extent=extent, title=title)
    shown = [a for a in rec.annotations if a.sample_start < n_show]
    draw_annotations(ax, shown, sample_rate_hz=fs, center_freq_hz=rec.center_freq_hz, time_unit="ms")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")  # absolute MHz, not "+2.45e3"
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("frequency (MHz)" if rec.center_freq_hz is not None else "baseband frequency (MHz)")
    return save_figure(fig, out)
