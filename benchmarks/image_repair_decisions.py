"""What :func:`radiofm.annotate.clean.image_repair` decides on our own generators' captures, and how far each
capture stays from its thresholds: the check that the I/Q-imbalance repair leaves training-like captures alone.

Generates ``--frames`` captures (40 ms, 61.44 MS/s) of the main generator's test and train splits and of the alt
generator's test split (every traffic regime; seeds 5001-5003), then, on the samples ``annotate`` measures the
imbalance on (:func:`radiofm.annotate.clean.image_samples`: spans spread over the capture since session 38, its
first ~17 ms before; ``--first-ms`` for session 37's measurement):

- the decision: nothing, the constant correction, or the filter;
- the strongest carrier's image height over the noise floor (:func:`radiofm.annotate.clean.image_height_db` of
  the rejection where images show), against ``clean.IMAGE_SEEN_DB`` (2.8 dB);
- the margin of the rejection where images show over the in-range bound ``min(IQ_TRAINED_DB, band - 3 dB)``.

Prints one row per set and writes ``benchmarks/results/<name>.json``.

    PYTHONPATH=. .venv/bin/python benchmarks/image_repair_decisions.py --work W [--frames 40]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from _common import print_table, write_results

from radiofm.annotate import clean
from radiofm.data import find_recordings, open_recording
from radiofm.data.nrlte import generate_dataset
from radiofm.dsp import iq_image

SETS = {
    "main-test": {"split": "test", "seed": 5001},
    "main-train": {"split": "train", "seed": 5002},
    "alt-test": {"split": "test", "seed": 5003, "generator": "alt"},
}


def measure(path: Path) -> dict:
    rec = open_recording(path)
    x = clean.image_samples(rec, "repair")
    w, irr, taps, _ = clean.image_repair(x)
    _, band = clean.band_imbalance(x)  # the band-wide figure the decision uses
    h, power = iq_image.image_filter(x, steps=1, spans=clean.measured_spans(x))
    seen, _ = iq_image.visible_rejection_db(h, power)
    rejection = band if math.isinf(seen) else seen
    return {
        "decision": "filter" if taps is not None else ("constant" if w else "none"),
        "image_height_db": clean.image_height_db(x, power, rejection),
        "margin_db": seen - min(clean.IQ_TRAINED_DB, band - clean.BAND_MARGIN_DB),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for the captures")
    ap.add_argument("--frames", type=int, default=40, help="captures per set")
    ap.add_argument("--name", default="image_repair_decisions")
    ap.add_argument("--first-ms", action="store_true", help="session 37's measurement: the first ~17 ms, the "
                    "band-wide constant with the lines in")  # fmt: skip
    args = ap.parse_args(argv)
    clean.SPREAD_SPANS = clean.LINE_FREE_CONSTANT = not args.first_ms
    rows = []
    for name, kw in SETS.items():
        folder = args.work / name
        if not (folder / "iq").is_dir():
            generate_dataset(folder, n_frames=args.frames, iq=True, workers=2, progress=False, **kw)
        got = [measure(p) for p in find_recordings(folder / "iq")[: args.frames]]
        heights = np.array([g["image_height_db"] for g in got])
        margins = np.array([g["margin_db"] for g in got])
        rows.append({
            "set": name,
            "captures": len(got),
            "none": sum(g["decision"] == "none" for g in got),
            "constant": sum(g["decision"] == "constant" for g in got),
            "filter": sum(g["decision"] == "filter" for g in got),
            "image height max dB": float(heights.max()),
            "threshold dB": clean.IMAGE_SEEN_DB,
            "margin min dB": float(margins[np.isfinite(margins)].min()) if np.isfinite(margins).any() else math.inf,
        })  # fmt: skip
    print_table(rows)
    settings = {"frames": args.frames, "sets": SETS, "first_ms": args.first_ms}
    write_results(args.name, {"settings": settings, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
