"""Null distributions of the cell-search statistics: what the PSS/SSS detectors output when there is no such cell.

Three null sets, 40 ms at 61.44 MS/s each:

- ``noise``: complex white Gaussian noise; a band of random width (1.1 .. 58 MHz) at a random place is searched
  with the LTE search at its centre and the NR search over it (both numerologies).
- ``nr_as_lte``: fully loaded NR carriers from the generator (random bandwidth, SCS, cell, SSB position, fading;
  SNR uniform in [-5, 30] dB, CFO +-300 Hz, random start): the LTE search at the carrier's centre.
- ``lte_as_nr``: fully loaded LTE carriers (same draws): the NR search over the carrier.

For each statistic (LTE z, NR single z, NR burst z, SSS z of the best candidate) it prints the quantiles and
the maximum, and the number of trials above the thresholds in ``radiofm.dsp.cellsearch``; with no exceedance in
n trials the false-alarm probability is below ~3 / n (95 % one-sided Clopper-Pearson bound, also given for k > 0).

    .venv/bin/python benchmarks/cellsearch_null.py [--trials 100] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.stats
from _common import print_table, write_results

from radiofm.dsp import cellsearch, nr_cellsearch
from radiofm.synth.nrlte.carrier import single_carrier
from radiofm.synth.nrlte.ofdm import FRAME_SAMPLES, SAMPLE_RATE_HZ
from radiofm.synth.nrlte.scene import complex_noise

FS = SAMPLE_RATE_HZ
THRESHOLDS = {
    "lte_z": cellsearch.LTE_PSS_Z_THRESHOLD,
    "nr_z": cellsearch.NR_PSS_Z_THRESHOLD,
    "nr_z_burst": cellsearch.NR_BURST_Z_THRESHOLD,
    "lte_sss_z": cellsearch.SSS_Z_THRESHOLD,
    "nr_sss_z": cellsearch.SSS_Z_THRESHOLD,
}


def _random_carrier(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    snr = float(rng.uniform(-5, 30))
    cfo = float(rng.uniform(-300, 300))
    iq, meta = single_carrier(kind, rng, snr_db=snr, cfo_hz=cfo, centre_hz=0.0)
    half = 0.5 * (meta["upper_edge_hz"] - meta["lower_edge_hz"])
    room = max(0.0, FS / 2 - half - 0.5e6)
    shift_hz = float(rng.uniform(-room, room))
    shift_hz = round(shift_hz / meta["scs_hz"]) * meta["scs_hz"]
    iq = (iq * np.exp(2j * np.pi * shift_hz / FS * np.arange(iq.size))).astype(np.complex64)
    for key in ("lower_edge_hz", "upper_edge_hz", "centre_offset_hz"):
        meta[key] += shift_hz
    return iq, meta


def _upper_95(k: int, n: int) -> float:
    """One-sided 95 % Clopper-Pearson upper bound of a rate seen k times in n trials (3 / n for k = 0)."""
    return float(scipy.stats.beta.ppf(0.95, k + 1, n - k)) if k < n else 1.0


def run(trials: int, seed: int) -> dict:
    rows: dict[str, dict[str, list[float]]] = {"noise": {}, "nr_as_lte": {}, "lte_as_nr": {}}

    def add(group: str, key: str, value) -> None:
        if value is not None:
            rows[group].setdefault(key, []).append(float(value))

    for i in range(trials):
        rng = np.random.default_rng([seed, i])
        # noise
        iq = complex_noise(rng, FRAME_SAMPLES, 1.0).copy()
        width = float(rng.choice([1.1e6, 4.5e6, 9e6, 18e6, 38e6, 58e6]))
        centre = float(rng.uniform(-(FS - width) / 2 + 0.2e6, (FS - width) / 2 - 0.2e6))
        lte = cellsearch.lte_pss_search(iq, FS, center_offset_hz=centre)
        nr = nr_cellsearch.nr_pss_search(iq, FS, lower_hz=centre - width / 2, upper_hz=centre + width / 2)
        add("noise", "lte_z", lte["z"])
        add("noise", "lte_sss_z", lte.get("sss_z"))
        add("noise", "nr_z", nr["z"])
        add("noise", "nr_z_burst", nr["z_burst"])
        add("noise", "nr_sss_z", nr.get("sss_z"))
        # NR carrier searched as LTE
        iq, meta = _random_carrier("NR", rng)
        lte = cellsearch.lte_pss_search(iq, FS, center_offset_hz=meta["centre_offset_hz"])
        add("nr_as_lte", "lte_z", lte["z"])
        add("nr_as_lte", "lte_sss_z", lte.get("sss_z"))
        # LTE carrier searched as NR
        iq, meta = _random_carrier("LTE", rng)
        nr = nr_cellsearch.nr_pss_search(iq, FS, lower_hz=meta["lower_edge_hz"], upper_hz=meta["upper_edge_hz"])
        add("lte_as_nr", "nr_z", nr["z"])
        add("lte_as_nr", "nr_z_burst", nr["z_burst"])
        add("lte_as_nr", "nr_sss_z", nr.get("sss_z"))
        print(f"trial {i + 1}/{trials}", flush=True)
    table = []
    for group, stats in rows.items():
        for key, values in stats.items():
            v = np.array(values)
            table.append(
                {
                    "null": group,
                    "statistic": key,
                    "n": v.size,
                    "median": float(np.median(v)),
                    "q99": float(np.quantile(v, 0.99)),
                    "max": float(v.max()),
                    "threshold": THRESHOLDS[key],
                    "above": int((v >= THRESHOLDS[key]).sum()),
                    "fa_upper_95": _upper_95(int((v >= THRESHOLDS[key]).sum()), v.size),
                }
            )
    return {"rows": table, "values": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = run(args.trials, args.seed)
    print_table(result["rows"])
    path = write_results("cellsearch_null", {"trials": args.trials, "seed": args.seed, **result})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
