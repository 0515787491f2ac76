"""NR carriers from their PDSCH DMRS (``radiofm.dsp.nr_cells``): the band found, and what a wrong PCI scores.

For every NR carrier of ``--captures`` test captures per generator (``main``, ``alt``) and traffic regime (the
captures of ``benchmarks/annotate_labels.py``: seeds ``SeedSequence([seed, generator, regime, i])``), on the first
40 ms (what ``annotate``'s NR stage analyses): the SSB is searched over the carrier's true band
(:func:`radiofm.dsp.nr_cellsearch.nr_pss_search`); where it gives the PCI,
:func:`radiofm.dsp.nr_cells.nr_cell_band` runs over the recording's band with that PCI and with ``--wrong`` wrong
PCIs of the same N_ID2 (the same PSS, so the same timing: only the DMRS sequence is wrong). Recorded per carrier:
the DMRS statistic ``z`` of the right PCI (and the pairing lag it was found at), whether the lower edge is within
1 kHz of the true one and the band equal to it (both edges within 1 kHz; the upper edge is the narrowest
bandwidth holding the RBs seen, so it is short when the top RBs were never scheduled), and the largest statistic
over the wrong PCIs, found with the threshold off (over both pairing lags, and at each: ``wrong_z_max_lag1``,
``wrong_z_max_lag2``), and how many of them would pass it.

    PYTHONPATH=. .venv/bin/python benchmarks/nr_cell_bands.py [--captures 4] [--wrong 8] [--seed 0]
        [--name nr_cell_bands]

Prints one row per generator x regime and writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
from _common import print_table, write_results
from _nrlte_cases import FS, carriers_of

from radiofm.dsp import nr_cells
from radiofm.dsp.nr_cellsearch import nr_pss_search

TOLERANCE_HZ = 1e3
EDGE_HZ = 0.5 * FS - 0.5e6


def _z_any(x, spectrum, pci: int, ssb: dict) -> dict[int, float]:
    """The DMRS statistic of ``pci`` at each pairing lag (``nr_cells.LAGS``), the largest over the two configuration
    types and both weightings of the sums, with the threshold and the presence test off (the search itself stops
    at the first that passes)."""
    threshold, presence, patterns = nr_cells.DMRS_THRESHOLD, nr_cells._rb_presence, nr_cells.DMRS_PATTERNS
    weightings, lags = nr_cells.WEIGHTINGS, nr_cells.LAGS
    nr_cells.DMRS_THRESHOLD = -1.0
    nr_cells._rb_presence = lambda *a, **k: {"rb_present": np.zeros(1, bool), "rb_z": None, "top_rb": 0}
    z = dict.fromkeys(lags, 0.0)
    try:
        for lag in lags:
            nr_cells.LAGS = (lag,)
            for weighting in weightings:
                nr_cells.WEIGHTINGS = (weighting,)
                for config in patterns:
                    nr_cells.DMRS_PATTERNS = {config: patterns[config]}
                    out = _band(x, spectrum, pci, ssb)
                    z[lag] = max(z[lag], float(out["z"]) if out else 0.0)
    finally:
        nr_cells.DMRS_THRESHOLD, nr_cells._rb_presence, nr_cells.DMRS_PATTERNS = threshold, presence, patterns
        nr_cells.WEIGHTINGS, nr_cells.LAGS = weightings, lags
    return z


def _band(x, spectrum, pci: int, ssb: dict):
    return nr_cells.nr_cell_band(x, FS, pci=pci, scs_hz=ssb["scs_hz"], ssb_center_hz=ssb["ssb_center_hz"],
                                 ssb_grid_shift_hz=float(ssb.get("ssb_grid_shift_hz") or 0.0), lower_hz=-EDGE_HZ,
                                 upper_hz=EDGE_HZ, spectrum=spectrum)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--captures", type=int, default=4, help="captures per generator and regime")
    ap.add_argument("--wrong", type=int, default=8, help="wrong PCIs tried per carrier")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="nr_cell_bands")
    args = ap.parse_args()
    counts: dict = defaultdict(lambda: defaultdict(float))
    carriers, wrong_max = [], []
    for gen, regime, i, x, spectrum, c, pci in carriers_of("NR", args.captures, args.seed, span_ms=40):
        lo, hi = c["lower_edge_hz"], c["upper_edge_hz"]
        key = counts[(gen, regime)]
        key["n"] += 1
        ssb = nr_pss_search(x, FS, lower_hz=max(lo, -EDGE_HZ), upper_hz=min(hi, EDGE_HZ))
        row = {"generator": gen, "regime": regime, "capture": i, "snr_db": round(float(c["snr_db"]), 1),
               "bandwidth_hz": c["bandwidth_hz"], "pci": pci, "ssb_pci": ssb.get("pci")}  # fmt: skip
        if ssb.get("pci") != pci:
            carriers.append(row)
            continue
        key["ssb_found"] += 1
        t0 = time.process_time()
        band = _band(x, spectrum, pci, ssb)
        row["cpu_s"] = round(time.process_time() - t0, 3)
        wrong = [(pci + 3 * k) % 1008 for k in range(1, args.wrong + 1)]
        by_lag = [_z_any(x, spectrum, p, ssb) for p in wrong]
        zw = [max(z.values()) for z in by_lag]
        passed = sum(_band(x, spectrum, p, ssb) is not None for p in wrong)
        wrong_max.append(max(zw))
        row |= {"z": round(band["z"], 1) if band else None, "lag": band.get("lag") if band else None,
                "wrong_z_max": round(max(zw), 1), "wrong_found": passed}  # fmt: skip
        row |= {f"wrong_z_max_lag{lag}": round(max(z[lag] for z in by_lag), 1) for lag in nr_cells.LAGS}
        if band is not None:
            key["dmrs_found"] += 1
            low_ok = abs(band["lower_hz"] - lo) <= TOLERANCE_HZ
            key["lower_edge_right"] += low_ok
            key["band_right"] += low_ok and abs(band["upper_hz"] - hi) <= TOLERANCE_HZ
            row |= {"lower_hz": round(band["lower_hz"]), "upper_hz": round(band["upper_hz"]),
                    "true_hz": [round(lo), round(hi)]}  # fmt: skip
        key["wrong_found"] += passed
        carriers.append(row)
    rows = []
    for (gen, regime), k in counts.items():
        seen = [c for c in carriers if c["generator"] == gen and c["regime"] == regime and "z" in c]
        zs = [c["wrong_z_max"] for c in seen]
        by_lag = {f"wrong_z_max_lag{lag}": max((c[f"wrong_z_max_lag{lag}"] for c in seen), default=0.0)
                  for lag in nr_cells.LAGS}  # fmt: skip
        rows.append({"generator": gen, "regime": regime, "nr_carriers": int(k["n"]), "ssb_found": int(k["ssb_found"]),
                     "dmrs_found": int(k["dmrs_found"]), "lower_edge_right": int(k["lower_edge_right"]),
                     "band_right": int(k["band_right"]), "wrong_pci_z_max": max(zs, default=0.0),
                     "wrong_pci_found": int(k["wrong_found"])} | by_lag)  # fmt: skip
    print_table(rows)
    total = {key: int(sum(k[key] for k in counts.values())) for key in
             ("n", "ssb_found", "dmrs_found", "lower_edge_right", "band_right", "wrong_found")}  # fmt: skip
    total |= {"wrong_pci_searches": len(wrong_max) * args.wrong, "wrong_pci_z_max": round(max(wrong_max, default=0), 1),
              "wrong_pci_z_mean_of_max": round(float(np.mean(wrong_max)), 1) if wrong_max else None,
              "threshold": nr_cells.DMRS_THRESHOLD}  # fmt: skip
    print(total)
    path = write_results(args.name, {"captures_per_regime": args.captures, "seed": args.seed, "rows": rows,
                                     "total": total, "carriers": carriers})  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
