"""The annotate overlay picture: build + save time with hand-placed axes (radiofm's, since session 29) against the
same figure under matplotlib's constrained layout engine (the baseline: what the overlay used before).

The input is a stand-in for a 40 ms capture's result (a 256 x 256 dB picture, two carriers), so the script needs
neither a model nor a recording. Both variants run round-robin in one process after matplotlib is imported (its
import, ~0.3 s, is the same for both and not timed). Prints a table and writes
``benchmarks/results/<name>.json``::

    PYTHONPATH=. .venv/bin/python benchmarks/overlay_picture.py [--repeats 15] [--name overlay_picture]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for radiofm

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


def main() -> None:
    from radiofm.annotate.figure import overlay_figure

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--name", default="overlay_picture")
    args = ap.parse_args()
    rec, result = _inputs()

    def save(constrained: bool):
        fig = overlay_figure(rec, result)
        if constrained:
            fig.set_layout_engine("constrained")
        fig.savefig(io.BytesIO(), format="png", dpi=110)  # as radiofm.annotate.output writes it

    timings = time_many({"hand-placed": lambda: save(False), "constrained (baseline)": lambda: save(True)},
                        repeats=args.repeats, warmup=2)  # fmt: skip
    base = timings["constrained (baseline)"]["median_s"]
    rows = [{"variant": name, "median_ms": round(1e3 * t["median_s"], 1), "min_ms": round(1e3 * t["min_s"], 1),
             "vs baseline": f"{t['median_s'] / base:.2f}x"} for name, t in timings.items()]  # fmt: skip
    print_table(rows)
    print(f"wrote {write_results(args.name, {'repeats': args.repeats, 'timings': timings})}", file=sys.stderr)


if __name__ == "__main__":
    main()
