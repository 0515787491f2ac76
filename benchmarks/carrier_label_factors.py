"""Which generator knob goes with the model's wrong NR/LTE labels? Carrier label accuracy by manifest field.

`radiofm evaluate segmentation` keeps one record per true carrier (``carrier_level.records``, in the order of the
dataset manifest's ``frames[*].carriers``). This script joins each record with its manifest carrier and counts how
often the model's pooled label is right for each value of a knob (bandwidth, SNR in 5 dB bins, CFI, CRS ports,
channel, ...), per standard. A knob whose accuracy swings with its value, where the standard does not depend on
it, is a cue the model learned from our generator's draws.

    PYTHONPATH=. .venv/bin/python benchmarks/carrier_label_factors.py EVAL/segmentation.json DATA [...pairs]

Each pair is a report and the dataset folder it scored. Prints one table per pair and standard, and writes
``benchmarks/results/<--name>.json``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from _common import print_table, write_results

KNOBS = ("bandwidth_hz", "scs_hz", "snr_db", "cfi", "crs_ports", "crs_boost_db", "matlab_rc", "channel", "profile")


def knob_value(carrier: dict, knob: str) -> str | None:
    value = carrier.get(knob)
    if value is None:
        return None
    if knob == "snr_db":  # 5 dB bins
        low = int(float(value) // 5 * 5)
        return f"{low:+d}..{low + 5:+d}"
    if knob in ("bandwidth_hz", "scs_hz"):
        return f"{float(value) / (1e6 if knob == 'bandwidth_hz' else 1e3):g}"
    return str(value)


def order(value: str) -> tuple:
    """Numbers (and SNR bins by their lower edge) in numeric order, then the rest by name."""
    try:
        return (0, float(value.split("..")[0]), value)
    except ValueError:
        return (1, 0.0, value)


def factors(report: dict, manifest: dict) -> dict[str, dict[str, dict[str, list[int]]]]:
    """{standard: {knob: {value: [right, n]}}} over the report's carrier records joined with the manifest."""
    records = report.get("carrier_level", {}).get("records")
    carriers = [c for f in manifest.get("frames", []) for c in f.get("carriers", [])]
    if not records or [r["type"] for r in records] != [c["type"] for c in carriers]:
        raise SystemExit("the report's carrier records do not match the manifest's carriers (another dataset?)")
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))
    for r, c in zip(records, carriers):
        for knob in KNOBS:
            if (value := knob_value(c, knob)) is not None:
                cell = out[c["type"]][knob][value]
                cell[0] += int(r["predicted"] == c["type"])
                cell[1] += 1
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pairs", nargs="+", help="REPORT DATA pairs: segmentation.json and the dataset folder it scored")
    p.add_argument("--name", default="carrier_label_factors")
    args = p.parse_args()
    if len(args.pairs) % 2:
        raise SystemExit("give REPORT DATA pairs")
    results = {}
    for report_path, data in zip(args.pairs[::2], args.pairs[1::2]):
        try:
            report = json.loads(Path(report_path).read_text())
            manifest = json.loads((Path(data) / "manifest.json").read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f"{report_path} / {data}: not a readable report and dataset folder ({e})") from None
        table = factors(report, manifest)
        results[report_path] = table
        for standard, knobs in sorted(table.items()):
            print(f"\n{report_path}: {standard}")
            rows = []
            for knob, values in knobs.items():
                cells = [f"{v}: {right}/{n}" for v, (right, n) in sorted(values.items(), key=lambda kv: order(kv[0]))]
                rows.append({"knob": knob, "label right by value": ", ".join(cells)})
            print_table(rows)
    write_results(args.name, {"reports": results})


if __name__ == "__main__":
    main()
