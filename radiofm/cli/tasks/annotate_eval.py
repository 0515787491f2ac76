"""``radiofm evaluate annotate``: run annotate over labelled recordings and score its output (carriers, pixels)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", required=True, type=Path, help="segmentation model folder (radiofm finetune segmentation)"
    )
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        help="folder of recordings whose annotations labelled NR/LTE are the truth (radiofm generate nrlte --iq)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder for annotate_score.json")
    p.add_argument("--max-recordings", type=_types.positive_int, default=None, help="score at most N recordings")
    p.add_argument("--scan-all", action="store_true", help="annotate --scan-all (the default; kept for old commands)")
    p.add_argument("--no-scan-nr", action="store_true", help="annotate --no-scan-nr")
    p.add_argument("--no-scan-lte", action="store_true", help="annotate --no-scan-lte")
    p.add_argument("--no-phy", action="store_true", help="annotate --no-phy (spectrogram scores only)")
    p.add_argument("--repair-nonfinite", action="store_true", help="annotate --repair-nonfinite (NaN/Inf set to 0)")
    p.add_argument("--threshold", type=_types.ratio, default=0.5, metavar="P", help="annotate --threshold (0.5)")
    p.add_argument("--group-key", default="radiofm:traffic", help="annotation key to report carriers by")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    p.add_argument("--engine", choices=_args.ENGINES, default="auto", help="annotate --engine")
    p.add_argument("--quantize", choices=("none", "int8", "bf16"), default="none", help="annotate --quantize")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.annotate import AnnotateConfig
    from radiofm.annotate.evaluate import evaluate_annotate
    from radiofm.errors import ConfigError
    from radiofm.heap import retain_freed_memory

    if args.scan_all and (args.no_phy or args.no_scan_nr or args.no_scan_lte):
        raise ConfigError(
            "--scan-all needs the physical-layer stage and both searches (not with --no-phy, --no-scan-*)"
        )
    config = AnnotateConfig(
        threshold=args.threshold,
        phy=not args.no_phy,
        scan_nr=not args.no_scan_nr,
        scan_lte=not args.no_scan_lte,
        device=args.device,
        engine=args.engine,
        quantize=None if args.quantize == "none" else args.quantize,
        picture=False,
        repair_nonfinite=args.repair_nonfinite,
    )
    retain_freed_memory()  # annotate's churn of large arrays, once per recording (radiofm.heap)
    report = evaluate_annotate(args.model, args.data, args.out, config, max_recordings=args.max_recordings,
                               group_key=args.group_key, progress=not args.no_progress)  # fmt: skip
    print_report(report)
    _args.wrote(args.out / "annotate_score.json")
    return 0


def _f(v) -> str:
    return "   -  " if v is None else f"{v:6.3f}"


def print_report(report: dict) -> None:
    px = report["pixel"]
    print(f"annotate output scored on {report['recordings']} recordings")
    print("pixels (boxes painted on a 256x256 grid): " + ", ".join(
        f"{c} {_f(px['per_class_accuracy'][c]).strip()}" for c in px["classes"]
    ) + f"; mean {_f(px['mean_class_accuracy']).strip()}")  # fmt: skip
    print(
        f"{'group':>10} {'class':>5} {'n':>4} {'right':>5} {'wrong':>5} {'unkn':>5} {'miss':>5} {'acc':>6} {'IoU':>6}"
    )
    groups = report.get("per_group") or {}
    for group, block in [("all", report["carriers"]), *groups.items()]:
        for c, r in block.items():
            print(
                f"{group:>10} {c:>5} {r['n']:>4} {r['right']:>5} {r['wrong']:>5} {r['unknown']:>5} {r['missed']:>5} "
                f"{_f(r['accuracy'])} {_f(r['freq_iou_mean'])}"
            )
    print(f"false boxes: {report['false_boxes']}")
    if not groups and report.get("group_key"):  # a misspelt --group-key gave no rows without a word
        print(f"note: no true carrier carries {report['group_key']}: no per-group rows")
    if report.get("per_decision"):
        print(f"{'decided by':>16} {'found':>5} {'right':>5} {'wrong':>5} {'unkn':>5} {'false boxes':>11}")
        for d, r in report["per_decision"].items():
            counts = " ".join(f"{r[k]:>5}" for k in ("carriers", "right", "wrong", "unknown"))
            print(f"{d:>16} {counts} {r['false_boxes']:>11}")
