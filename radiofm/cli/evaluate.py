"""``radiofm evaluate``: score a trained model; writes JSON and pictures into an output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args

# evaluation name -> (module, help); each module has add_eval_args(p) and run_eval(args)
EVALUATIONS = {
    "reconstruction": ("radiofm.cli.evaluate", "MAE reconstruction accuracy per mask ratio (paper B Fig. 4/6)"),
    "segmentation": ("radiofm.tasks.segmentation", "NR/LTE segmentation confusion matrices (paper A/B)"),
    "forecasting": ("radiofm.tasks.forecasting", "resource-block forecasting metric (paper A Fig. 6)"),
}


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model (reconstruction, segmentation, forecasting)")
    _args.add_plugin_parsers(p, "evaluation", "EVALUATION", EVALUATIONS, add_args="add_eval_args", run="run_eval")


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="pretrained MAE run folder")
    p.add_argument("--data", required=True, type=Path, help="folder of recordings (or a built dataset)")
    p.add_argument("--out", required=True, type=Path, help="output folder for JSON and PNGs")
    p.add_argument("--mask-ratios", type=_args.ratio_list, default=[0.5, 0.75, 0.9], help="e.g. 0.5,0.75,0.9")
    p.add_argument("--block", type=_args.size2, default=(4, 4), help="resource-block size in pixels (F x T)")
    p.add_argument("--max-samples", type=_args.positive_int, default=None, help="evaluate at most N spectrograms")
    p.add_argument("--batch-size", type=_args.positive_int, default=32)
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation masks")
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir", type=Path, default=None)


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.data.spectrograms import SpectrogramDataset, SpectrogramParams, build_spectrogram_dataset
    from radiofm.io import atomic_path, write_json
    from radiofm.models import load_checkpoint
    from radiofm.tasks.reconstruction import evaluate_reconstruction, plot_accuracy, plot_gallery

    model, info = load_checkpoint(args.model, expect_kind="mae")
    data_info = info.get("extra", {}).get("data", {})
    params = (
        SpectrogramParams(**data_info["params"])
        if "params" in data_info
        else SpectrogramParams(image_size=tuple(model.config.img_size))
    )
    ds = build_spectrogram_dataset(args.data, args.cache_dir, params, progress=True)
    if "stats" in data_info:  # the model's own normalisation, so inputs look like its pretraining data
        ds = SpectrogramDataset(ds.folder, stats=data_info["stats"])
    report = evaluate_reconstruction(
        model,
        ds,
        mask_ratios=args.mask_ratios,
        block=args.block,
        batch_size=args.batch_size,
        seed=args.seed,
        max_samples=args.max_samples,
        device=args.device,
    )
    report.update(model=str(args.model), data=str(args.data))
    with atomic_path(args.out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "reconstruction.json", report)
        plot_accuracy(report, tmp / "accuracy_vs_mask_ratio.png")
        plot_gallery(model, ds, tmp / "gallery.png", mask_ratios=args.mask_ratios, seed=args.seed, device=args.device)
    print_report(report)
    print(
        f"wrote {args.out / 'reconstruction.json'}, {args.out / 'accuracy_vs_mask_ratio.png'}, "
        f"{args.out / 'gallery.png'}"
    )
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
