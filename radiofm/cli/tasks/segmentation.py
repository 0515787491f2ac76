"""``radiofm finetune segmentation`` and ``radiofm evaluate segmentation`` (NR/LTE, paper B §III-D, paper A §III-D)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    from radiofm.models.finetuned import NORMS, READOUTS
    from radiofm.tasks.segmentation import CLASS_WEIGHTS

    _args.add_finetune_args(p)
    p.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing alpha (default 0.1)")
    p.add_argument(
        "--class-weights",
        choices=CLASS_WEIGHTS,
        default="none",
        help="weight the loss per class: every class equally (inverse-frequency) or NR against LTE only, noise "
        "unweighted (signal-balanced); default none",
    )
    p.add_argument("--norm", choices=NORMS, default="per-sample", help="input normalisation (default per-sample)")
    width, count = _types.positive_int, _types.non_negative_int
    p.add_argument("--head-dim", type=width, default=None, help="head width (default: the backbone's)")
    p.add_argument("--head-depth", type=count, default=2, help="head transformer blocks (default 2, paper B)")
    p.add_argument("--head-heads", type=width, default=None, help="head attention heads (default: the backbone's)")
    p.add_argument(
        "--readout",
        choices=READOUTS,
        default="last",
        help="what the head reads: last = the encoder's output (paper B, default); mix = a learned mix of "
        "every encoder level (better for a frozen encoder; caches depth+1 times the features)",
    )
    p.add_argument("--no-augment", action="store_true", help="no training augmentation")
    p.add_argument("--max-frames", type=_types.positive_int, default=None, help="use only the first N frames of --data")
    p.add_argument(
        "--cache-views",
        type=_types.positive_int,
        default=1,
        help="with cached features: each training frame as is plus N-1 fixed augmented copies (default 1)",
    )


def run_finetune(args: argparse.Namespace) -> int:
    from radiofm.tasks.segmentation import KIND, SegmentationConfig, finetune_segmentation

    config = SegmentationConfig(
        **_args.finetune_fields(args),
        norm=args.norm,
        head_dim=args.head_dim,
        head_depth=args.head_depth,
        head_heads=args.head_heads,
        readout=args.readout,
        augment=not args.no_augment,
        max_frames=args.max_frames,
        cache_views=args.cache_views,
        label_smoothing=args.label_smoothing,
        class_weights=args.class_weights,
    )
    train = _args.train_config(args)
    result = finetune_segmentation(args.data, config, train, args.out, resume=args.resume, log=_args.say)
    _args.print_run(result, f"fine-tuned {KIND} [{args.mode}]", "frames", val_metric="val_pixel_acc")
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="fine-tuned segmentation run folder")
    p.add_argument("--data", required=True, type=Path, help="NR/LTE dataset folder (radiofm generate nrlte)")
    p.add_argument("--out", required=True, type=Path, help="output folder for segmentation.json and PNGs")
    p.add_argument("--max-samples", type=_types.positive_int, default=None, help="evaluate at most N frames")
    p.add_argument("--batch-size", type=_types.positive_int, default=16)
    p.add_argument("--overlays", type=_types.non_negative_int, default=4, help="frames drawn in overlays.png")
    p.add_argument("--device", default="cpu")
    _args.no_bar_flag(p)


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.tasks.segmentation_eval import SegmentationEvalConfig, evaluate_segmentation_run

    config = SegmentationEvalConfig(
        max_samples=args.max_samples, batch_size=args.batch_size, overlays=args.overlays, device=args.device
    )
    report = evaluate_segmentation_run(args.model, args.data, args.out, config)
    print_report(report)
    _args.wrote(args.out / "segmentation.json", args.out / "confusion.png", args.out / "overlays.png")
    return 0


def print_report(report: dict) -> None:
    def f(v):
        return "   -  " if v is None else f"{v:6.3f}"

    print(f"segmentation ({report['samples']} frames, {report['resolution'][0]}x{report['resolution'][1]} pixels)")
    print(f"{'class':>8} {'acc':>6} {'IoU':>6}")
    for c in report["classes"]:
        print(f"{c:>8} {f(report['per_class_accuracy'][c])} {f(report['iou'][c])}")
    print(f"{'mean':>8} {f(report['mean_class_accuracy'])} {f(report['mean_iou'])}")
    b = report["binary"]
    print(
        f"pixel accuracy {f(report['pixel_accuracy']).strip()}; signal vs noise: mean acc "
        f"{f(b['mean_class_accuracy']).strip()}, pixel acc {f(b['pixel_accuracy']).strip()}"
    )
    cl = report.get("carrier_level")
    if not cl:
        return
    print("carrier level (label pooled over each true carrier's box; freq IoU of its predicted band):")
    print(f"{'regime':>8} {'class':>6} {'n':>4} {'label':>6} {'pixel':>6} {'IoU':>6}")
    for regime, block in [("all", cl), *report.get("per_regime", {}).items()]:
        for c, r in block.get("per_class", {}).items():
            print(
                f"{regime:>8} {c:>6} {r['carriers']:>4} {f(r['carrier_accuracy'])} {f(r['pixel_accuracy'])} "
                f"{f(r['freq_iou_mean'])}"
            )
    for name, key in (("numerology", "per_numerology"), ("duplex", "per_duplex")):
        groups = cl.get(key) or {}
        if len(groups) > 1:
            print(
                f"by {name}: "
                + "; ".join(f"{k} {f(r['carrier_accuracy']).strip()} (n {r['carriers']})" for k, r in groups.items())
            )
