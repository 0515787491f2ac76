"""How often the segmentation model's own carrier label is right when it says NR or LTE, by numerology
(docs/RESULTS.md, session 40: why ``annotate`` does not take the model's "NR" for a 15 kHz carrier without a sync
signal).

Reads the reports of ``radiofm evaluate segmentation`` (``segmentation.json``: its ``carrier_level.records`` hold
each true carrier's numerology, its pooled scores over the true box and the label they give) and counts, for each
report, numerology and label the model gives with a pooled score of at least ``--min-score`` (``annotate``'s
default 0.75), how many of those carriers truly are that standard.

    .venv/bin/radiofm evaluate segmentation --model DEMO/segmentation --data SET --out EVAL
    PYTHONPATH=. .venv/bin/python benchmarks/carrier_label_precision.py --name N EVAL/segmentation.json...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import print_table, write_results


def precision_rows(report: dict, min_score: float) -> list[dict]:
    """One row per (numerology, label said): carriers said, of them right."""
    records = report["carrier_level"]["records"]
    rows = []
    for scs in sorted({r["scs_hz"] for r in records if r.get("scs_hz")}):
        for label in ("NR", "LTE"):
            said = [
                r
                for r in records
                if r.get("scs_hz") == scs and r["predicted"] == label and max(r["scores"].values()) >= min_score
            ]
            right = sum(r["type"] == label for r in said)
            rows.append({"SCS kHz": int(scs / 1e3), "model says": label, "said": len(said), "right": right,
                         "precision": right / len(said) if said else None})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", type=Path, help="segmentation.json files of `radiofm evaluate segmentation`")
    ap.add_argument("--min-score", type=float, default=0.75, help="pooled score the label needs (annotate: 0.75)")
    ap.add_argument("--name", default="carrier_label_precision")
    ap.add_argument("--results-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/results)")
    args = ap.parse_args()
    rows = []
    for path in args.reports:
        try:
            report = json.loads(path.read_text())
            rows += [{"report": str(path.parent.name), **r} for r in precision_rows(report, args.min_score)]
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit(f"{path}: not a readable `radiofm evaluate segmentation` report ({e})") from None
    print_table(rows)
    out = write_results(args.name, {"min_score": args.min_score, "reports": [str(p) for p in args.reports],
                                    "rows": rows}, args.results_dir)  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
