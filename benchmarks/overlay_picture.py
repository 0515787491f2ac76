"""The annotate overlay picture: radiofm's (Pillow, since session 31) against the matplotlib figure it replaced (the
baseline: the same picture through radiofm.viz, the axes placed by hand as in sessions 29-30).

The input is a stand-in for a 40 ms capture's result (a 256 x 256 dB picture, two carriers), so the script needs
neither a model nor a recording. Two parts, each variant measured the same way:

- **import**: a fresh interpreter importing the drawing library the variant adds to annotate (Pillow's modules
  against the matplotlib modules ``radiofm.viz`` imports), minus one importing numpy alone; median of
  ``--imports`` runs, alternating;
- **draw + save**: the picture built and written as PNG to memory, round-robin in one process after both imports.

Prints a table and writes ``benchmarks/results/<name>.json``::

    PYTHONPATH=. .venv/bin/python benchmarks/overlay_picture.py [--repeats 15] [--imports 7] [--name overlay_picture]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository, for radiofm

from _common import print_table, time_many, write_results  # noqa: E402  (this script's folder)


def _inputs():
    rec = SimpleNamespace(center_freq_hz=3.5e9, sample_rate_hz=61.44e6, path=Path("capture-0.04s.sigmf-meta"))
    anns = [
        SimpleNamespace(label="LTE", sample_start=0, sample_count=2_457_600, freq_lower_edge_hz=3.5205e9,
                        freq_upper_edge_hz=3.5295e9),
        SimpleNamespace(label="NR", sample_start=1_228_800, sample_count=1_228_800, freq_lower_edge_hz=3.4705e9,
                        freq_upper_edge_hz=3.5182e9),
    ]  # fmt: skip
    picture = np.random.default_rng(0).normal(-12, 3, size=(256, 256)).astype(np.float32)
    result = SimpleNamespace(picture_extent=(0.0, 0.04, -30.72e6, 30.72e6), picture_db=picture, annotations=anns)
    return rec, result


def matplotlib_overlay(rec, result):
    """The baseline: the overlay as matplotlib drew it until session 30 (hand-placed axes, 11 x 5.5 in)."""
    from radiofm.viz import draw_annotations, new_figure, plot_spectrogram

    fc = rec.center_freq_hz or 0.0
    t0, t1, f0, f1 = result.picture_extent
    fig = new_figure((11.0, 5.5), layout=None)
    ax = fig.add_axes((0.075, 0.095, 0.825, 0.855))
    im = plot_spectrogram(ax, result.picture_db, extent=(t0 * 1e3, t1 * 1e3, (fc + f0) / 1e6, (fc + f1) / 1e6),
                          colorbar=False)  # fmt: skip
    fig.colorbar(im, cax=fig.add_axes((0.915, 0.095, 0.014, 0.855)), label="power (dB)")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_title(f"{rec.path.name}: 1 NR, 1 LTE", fontsize=9, parse_math=False, usetex=False)
    draw_annotations(ax, result.annotations, sample_rate_hz=rec.sample_rate_hz, center_freq_hz=None, time_unit="ms")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("frequency (MHz)")
    return fig


def _import_s(module: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
    return time.perf_counter() - t


def main() -> None:
    from radiofm.annotate.figure import overlay_figure

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--imports", type=int, default=7)
    ap.add_argument("--name", default="overlay_picture")
    args = ap.parse_args()
    rec, result = _inputs()

    pil = "numpy, PIL.Image, PIL.ImageDraw, PIL.ImageFont"
    mpl = "numpy, matplotlib.figure, matplotlib.backends.backend_agg, matplotlib.patches"  # what radiofm.viz imports
    runs = {"numpy": [], pil: [], mpl: []}
    for _ in range(args.imports):
        for module in runs:
            runs[module].append(_import_s(module))
    base = statistics.median(runs["numpy"])
    imports = {m: max(0.0, statistics.median(v) - base) for m, v in runs.items() if m != "numpy"}

    def pillow():
        overlay_figure(rec, result).save(io.BytesIO())

    def matplotlib():
        matplotlib_overlay(rec, result).savefig(io.BytesIO(), format="png", dpi=110)  # as annotate wrote it

    timings = time_many({"pillow (radiofm)": pillow, "matplotlib (baseline)": matplotlib}, repeats=args.repeats,
                        warmup=2)  # fmt: skip
    module = {"pillow (radiofm)": pil, "matplotlib (baseline)": mpl}
    rows = []
    for name, t in timings.items():
        imp = imports[module[name]]
        rows.append(
            {
                "variant": name,
                "import_ms": round(1e3 * imp),
                "draw_save_median_ms": round(1e3 * t["median_s"], 1),
                "draw_save_min_ms": round(1e3 * t["min_s"], 1),
                "total_ms": round(1e3 * (imp + t["median_s"])),
            }
        )
    base_total = rows[1]["total_ms"]
    for row in rows:
        row["vs baseline"] = f"{row['total_ms'] / base_total:.2f}x"
    print_table(rows)
    out = write_results(args.name, {"repeats": args.repeats, "imports": args.imports, "timings": timings, "rows": rows})
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
