"""CPU time of the physical-layer evidence functions on one core (40 ms at 61.44 MS/s unless stated).

The target of issue 8: the NR search over a 60 MHz-wide, 40 ms span costs <= ~0.3 s. scipy FFTs run with
``workers=1``; times are this process's CPU time (``time.process_time``), median of ``--repeats`` round-robin
runs (``_common.time_many``), so load from other processes inflates them less than wall time would (but still
does through shared caches and memory bandwidth: quote the load average printed with them).

    .venv/bin/python benchmarks/cellsearch_timing.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _common import print_table, time_many, write_results

from radiofm.dsp import carrier_evidence, dc_null_score, lte_pss_search, nr_pss_search
from radiofm.synth.nrlte.carrier import single_carrier
from radiofm.synth.nrlte.ofdm import FRAME_SAMPLES, SAMPLE_RATE_HZ
from radiofm.synth.nrlte.scene import complex_noise

FS = SAMPLE_RATE_HZ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    nr50, m50 = single_carrier("NR", rng, bandwidth_mhz=50, scs_hz=30e3, snr_db=10)
    nr50_15, m50_15 = single_carrier("NR", rng, bandwidth_mhz=50, scs_hz=15e3, snr_db=10)
    nr20, m20 = single_carrier("NR", rng, bandwidth_mhz=20, scs_hz=30e3, snr_db=10)
    lte20, l20 = single_carrier("LTE", rng, bandwidth_mhz=20, snr_db=10)
    noise = complex_noise(rng, FRAME_SAMPLES, 1.0).copy()
    half = 30e6
    cases = {
        "nr_pss_search 60 MHz band, NR 50 MHz 30 kHz": lambda: nr_pss_search(nr50, FS, lower_hz=-half, upper_hz=half),
        "nr_pss_search 60 MHz band, NR 50 MHz 15 kHz": lambda: nr_pss_search(
            nr50_15, FS, lower_hz=-half, upper_hz=half
        ),
        "nr_pss_search 60 MHz band, noise (both SCS)": lambda: nr_pss_search(noise, FS, lower_hz=-half, upper_hz=half),
        "nr_pss_search 60 MHz band, noise, 20 ms": lambda: nr_pss_search(
            noise[: FRAME_SAMPLES // 2], FS, lower_hz=-half, upper_hz=half
        ),
        "nr_pss_search 60 MHz band, noise, 10 ms": lambda: nr_pss_search(
            noise[: FRAME_SAMPLES // 4], FS, lower_hz=-half, upper_hz=half
        ),
        "nr_pss_search NR 20 MHz 30 kHz": lambda: nr_pss_search(
            nr20, FS, lower_hz=m20["lower_edge_hz"], upper_hz=m20["upper_edge_hz"]
        ),
        "lte_pss_search LTE 20 MHz": lambda: lte_pss_search(lte20, FS, center_offset_hz=l20["centre_offset_hz"]),
        "dc_null_score LTE 20 MHz": lambda: dc_null_score(lte20, FS, center_offset_hz=l20["centre_offset_hz"]),
        "carrier_evidence LTE 20 MHz": lambda: carrier_evidence(
            lte20, FS, lower_hz=l20["lower_edge_hz"], upper_hz=l20["upper_edge_hz"]
        ),
        "carrier_evidence NR 20 MHz 30 kHz": lambda: carrier_evidence(
            nr20, FS, lower_hz=m20["lower_edge_hz"], upper_hz=m20["upper_edge_hz"]
        ),
        "carrier_evidence NR 50 MHz 15 kHz": lambda: carrier_evidence(
            nr50_15, FS, lower_hz=m50_15["lower_edge_hz"], upper_hz=m50_15["upper_edge_hz"]
        ),
        "carrier_evidence noise 58 MHz band": lambda: carrier_evidence(noise, FS, lower_hz=-29e6, upper_hz=29e6),
    }
    timings = time_many(cases, repeats=args.repeats, warmup=1, clock=time.process_time)
    rows = [{"case": k, "cpu_median_s": v["median_s"], "cpu_min_s": v["min_s"]} for k, v in timings.items()]
    print_table(rows)
    print(f"load average (1 min) after the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    path = write_results("cellsearch_timing", {"repeats": args.repeats, "rows": rows})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
