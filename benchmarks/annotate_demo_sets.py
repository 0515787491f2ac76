"""The demo's ``annotate`` scores (in distribution, held-out regime, alt generator; 8 captures each) under variants
of the receiver repair in :mod:`radiofm.annotate.clean`, with a demo's own segmentation model.

Runs the demo's step ``annotate: test captures`` (:func:`radiofm.reproduce.demo._annotate_test`: the same
captures, seeds and scoring as ``make demo``) once per variant. Variants:

- ``default``: the code as it is;
- ``off``: no repair at all (``REMOVE_LINES`` and ``FIX_IMAGE`` off);
- ``lines-all``: every line found removed, in-range LO leakage too (``DC_TRAINED_DB`` = -inf);
- ``image-all``: every measured I/Q imbalance undone, in-range ones too (``IQ_TRAINED_DB`` = inf).

    PYTHONPATH=. .venv/bin/python benchmarks/annotate_demo_sets.py --demo DEMO --work W [--variants default,off]

DEMO is a ``make demo`` output folder (its ``segmentation`` model is used); writes
``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from _common import print_table, write_results

from radiofm.annotate import clean
from radiofm.reproduce.demo import DemoSettings, _annotate_test

VARIANTS = {
    "default": {},
    "off": {"REMOVE_LINES": False, "FIX_IMAGE": False},
    "lines-all": {"DC_TRAINED_DB": -math.inf},
    "image-all": {"IQ_TRAINED_DB": math.inf},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, required=True, help="a `make demo` output folder (demo-out)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the captures and the scores")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--name", default="annotate_demo_sets")
    args = ap.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if set(variants) - set(VARIANTS):
        ap.error(f"unknown variants {sorted(set(variants) - set(VARIANTS))}; choose from {', '.join(VARIANTS)}")
    model = args.demo / "segmentation"
    if not (model / "config.json").is_file():
        ap.error(f"{model}: no segmentation model there (run `make demo` first)")
    names = sorted({k for v in VARIANTS.values() for k in v})
    default, rows = {k: getattr(clean, k) for k in names}, []
    try:
        for variant in variants:
            for k, v in (default | VARIANTS[variant]).items():
                setattr(clean, k, v)
            out = args.work / variant
            out.mkdir(parents=True, exist_ok=True)
            link = out / "segmentation"
            if not link.exists():
                link.symlink_to(model.resolve(), target_is_directory=True)
            t = time.perf_counter()
            rows.append({"variant": variant, **_annotate_test(out, DemoSettings(), None), "s": time.perf_counter() - t})
    finally:
        for k, v in default.items():
            setattr(clean, k, v)
    print_table(rows)
    write_results(args.name, {"settings": {"demo": str(args.demo), "variants": variants}, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
