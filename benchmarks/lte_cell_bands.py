"""LTE cells and their bands: the CRS scan (``radiofm.dsp.lte_cells``) against the spectrum-step band at the DC.

For every LTE carrier of ``--captures`` test captures per generator (``main``, ``alt``) and traffic regime (the
captures of ``benchmarks/annotate_labels.py``: seeds ``SeedSequence([seed, generator, regime, i])``), on the first
20 ms (what ``annotate`` analyses):

- ``scan``: :func:`radiofm.dsp.lte_cells.scan_lte_cells` over the carrier's band +- 2 MHz; right when a cell with
  the carrier's PCI comes back with both edges within 1 kHz of the true ones; any other cell is a wrong one;
- ``steps`` (the baseline, what ``annotate`` used before): :func:`radiofm.dsp.bandwidth.lte_band_at_centre` given
  the *true* DC (the spectrum's steps at the six possible 36.101 bands); right when both edges are within 1 kHz.

    PYTHONPATH=. .venv/bin/python benchmarks/lte_cell_bands.py [--captures 6] [--seed 0] [--name lte_cell_bands]

Prints one row per generator x regime (LTE carriers, right with each method, wrong cells of the scan, the
scan's CPU seconds per carrier) and writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from _common import print_table, write_results
from _nrlte_cases import FS, carriers_of

from radiofm.dsp import lte_cells
from radiofm.dsp.bandwidth import lte_band_at_centre

TOLERANCE_HZ = 1e3


def _same_band(band: dict | None, lo: float, hi: float) -> bool:
    if band is None:
        return False
    return bool(abs(band["lower_hz"] - lo) <= TOLERANCE_HZ and abs(band["upper_hz"] - hi) <= TOLERANCE_HZ)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--captures", type=int, default=6, help="captures per generator and regime")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="lte_cell_bands")
    args = ap.parse_args()
    counts: dict = defaultdict(lambda: defaultdict(float))
    carriers = []
    for gen, regime, i, x, spectrum, c, pci in carriers_of("LTE", args.captures, args.seed, span_ms=20):
        lo, hi = c["lower_edge_hz"], c["upper_edge_hz"]
        t0 = time.process_time()
        cells = lte_cells.scan_lte_cells(x, FS, lower_hz=lo - 2e6, upper_hz=hi + 2e6, spectrum=spectrum)
        cpu = time.process_time() - t0
        scan_right = any(k["pci"] == pci and _same_band(k, lo, hi) for k in cells)
        wrong = sum(not (k["pci"] == pci and _same_band(k, lo, hi)) for k in cells)
        steps = lte_band_at_centre(x, FS, 0.5 * (lo + hi), spectrum=spectrum)
        key = counts[(gen, regime)]
        key["n"] += 1
        key["scan_right"] += scan_right
        key["scan_wrong_cells"] += wrong
        key["steps_right"] += _same_band(steps, lo, hi)
        key["scan_cpu_s"] += cpu
        carriers.append(
            {"generator": gen, "regime": regime, "capture": i, "snr_db": round(float(c["snr_db"]), 1),
             "bandwidth_hz": c.get("bandwidth_hz"), "scan_right": scan_right, "scan_wrong_cells": wrong,
             "steps_right": _same_band(steps, lo, hi), "scan_cpu_s": round(cpu, 3)}
        )  # fmt: skip
    rows = [
        {"generator": g, "regime": r, "lte_carriers": int(k["n"]), "scan_right": int(k["scan_right"]),
         "steps_right (true DC given)": int(k["steps_right"]), "scan_wrong_cells": int(k["scan_wrong_cells"]),
         "scan_cpu_s_per_carrier": round(k["scan_cpu_s"] / k["n"], 3)}
        for (g, r), k in counts.items()
    ]  # fmt: skip
    total = {f: int(sum(k[f] for k in counts.values())) for f in ("n", "scan_right", "steps_right", "scan_wrong_cells")}
    print_table(rows)
    print(total)
    path = write_results(
        args.name,
        {
            "captures_per_regime": args.captures,
            "seed": args.seed,
            "rows": rows,
            "total": total,
            "carriers": carriers,
        },  # fmt: skip
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
