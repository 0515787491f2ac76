"""``radiofm evaluate reconstruction``: MAE reconstruction accuracy per mask ratio (paper B Fig. 4/6)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="pretrained MAE run folder")
    p.add_argument("--data", required=True, type=Path, help="folder of recordings (or a built dataset)")
    p.add_argument("--out", required=True, type=Path, help="output folder for JSON and PNGs")
    p.add_argument("--mask-ratios", type=_types.ratio_list, default=[0.5, 0.75, 0.9], help="e.g. 0.5,0.75,0.9")
    p.add_argument("--block", type=_types.size2, default=(4, 4), help="resource-block size in pixels (F x T)")
    p.add_argument("--max-samples", type=_types.positive_int, default=None, help="evaluate at most N spectrograms")
    p.add_argument("--batch-size", type=_types.positive_int, default=32)
    p.add_argument("--seed", type=_types.seed, default=0, help="seed of the evaluation masks")
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--no-progress", action="store_true", help="no progress bar while the dataset is built")


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.tasks.reconstruction import ReconstructionEvalConfig, evaluate_reconstruction_run

    config = ReconstructionEvalConfig(
        mask_ratios=args.mask_ratios,
        block=args.block,
        max_samples=args.max_samples,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
    )
    report = evaluate_reconstruction_run(args.model, args.data, args.out, config)
    print_report(report)
    _args.wrote(args.out / "reconstruction.json", args.out / "accuracy_vs_mask_ratio.png", args.out / "gallery.png")
    return 0


def print_report(report: dict) -> None:
    print(
        f"reconstruction accuracy ({report['samples']} spectrograms, blocks {report['block'][0]}x{report['block'][1]},"
        f" threshold {report['threshold']})"
    )
    print(f"{'mask':>6} {'grid acc':>9} {'masked acc':>11} {'noise-fill':>10} {'noise-fill masked':>18}")
    for r in report["results"]:
        print(
            f"{r['mask_ratio']:>6.0%} {r['accuracy_all']:>9.3f} {r['accuracy_masked']:>11.3f} "
            f"{r['baseline_accuracy_all']:>10.3f} {r['baseline_accuracy_masked']:>18.3f}"
        )
