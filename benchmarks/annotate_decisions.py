"""Which rule of ``radiofm annotate`` decides each label, and how often it is right (docs/RESULTS.md, session 39).

Annotates every SigMF recording under the given folders with ``--model`` and matches each annotation to the true
carrier it overlaps most (none: a false box). Counts annotations by (``radiofm:decision``: "phy", "spectrogram",
"undecided", "both cells", "no OFDM", "NR unconfirmed"; what the CP correlation said: "15" kHz, "30" kHz or
"?"; the true class; the label). The recordings must carry their truth as annotations, as the generators and the
receivers benchmark write them.

    PYTHONPATH=. .venv/bin/python benchmarks/annotate_decisions.py --model DEMO/segmentation --name N FOLDER...
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from _common import print_table, write_results


def cp_numerology(evidence: dict) -> str:
    """What the CP correlation showed, from the evidence's reasons: "30", "15" (kHz) or "?"."""
    items = " | ".join(evidence.get("items", []))
    return "30" if "shows 30 kHz" in items else "15" if "shows 15 kHz" in items else "?"


def cp_rhos(evidence: dict) -> dict[str, float | None]:
    """The CP correlations at 15 and 30 kHz that the evidence carries (``cp_rho``; None for a cell stage's)."""
    rho = evidence.get("cp_rho") or {}
    return {"rho_15k": rho.get("15k"), "rho_30k": rho.get("30k")}


def main() -> None:
    import radiofm.annotate as A
    from radiofm.annotate.evaluate import AnnotateConfig, analysis_kwargs, load_predictor
    from radiofm.data import open_recording

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="segmentation run folder (e.g. a demo's segmentation)")
    ap.add_argument("--name", default="annotate_decisions")
    ap.add_argument("--results-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/results)")
    ap.add_argument("folders", nargs="+", type=Path, help="folders of recordings with their true annotations")
    args = ap.parse_args()
    cfg = AnnotateConfig()
    predictor = load_predictor(args.model, cfg)
    kw = analysis_kwargs(cfg) | {"picture": False}
    records = []
    for root in args.folders:
        for meta in sorted(root.rglob("*.sigmf-meta")):
            rec = open_recording(meta)
            truth = [(a.freq_lower_edge_hz, a.freq_upper_edge_hz, a.label) for a in rec.annotations]
            for a in A.annotate_recording(rec, predictor, **kw).annotations:
                overlaps = [
                    max(0.0, min(a.freq_upper_edge_hz, hi) - max(a.freq_lower_edge_hz, lo)) for lo, hi, _ in truth
                ]
                best = max(range(len(truth)), key=overlaps.__getitem__) if truth and max(overlaps) > 0 else None
                extra = a.extra or {}
                records.append(
                    {
                        "recording": str(meta),
                        "label": a.label,
                        "decision": extra.get("radiofm:decision"),
                        "cp_khz": cp_numerology(extra.get("radiofm:evidence") or {}),
                        **cp_rhos(extra.get("radiofm:evidence") or {}),
                        "truth": truth[best][2] if best is not None else "none",
                        "scores": extra.get("radiofm:scores"),
                    }
                )
    counts = collections.Counter((r["decision"], r["cp_khz"], r["truth"], r["label"]) for r in records)
    rows = [
        {"decision": d, "CP kHz": cp, "truth": t, "label": lab, "annotations": n}
        for (d, cp, t, lab), n in sorted(counts.items(), key=lambda kv: tuple(map(str, kv[0])))
    ]
    print_table(rows)
    path = write_results(
        args.name,
        {"model": args.model, "folders": [str(f) for f in args.folders], "rows": rows, "records": records},
        args.results_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
