"""``radiofm finetune forecasting`` and ``radiofm evaluate forecasting`` (ConvLSTM, paper A §III-C, Fig. 6)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    """Flags of ``radiofm finetune forecasting``: the framework's common ones plus the forecasting window."""
    from radiofm.models.forecaster import TOKEN_READOUTS

    _args.add_finetune_args(p)
    g = p.add_argument_group("forecasting")
    g.add_argument(
        "--context",
        type=_types.positive_int,
        default=None,
        help="input tokens n (default: what the readout sees, 2 for 'first'; 4 for 'last')",
    )
    g.add_argument(
        "--readout",
        choices=list(TOKEN_READOUTS),
        default="first",
        help="Conv3D output token taken as the prediction (paper A: first)",
    )
    g.add_argument("--stride", type=_types.positive_int, default=1, help="tokens between training windows")
    g.add_argument(
        "--split-by",
        choices=["recording", "sentence"],
        default="recording",
        help="split unit when --data is not the pretraining folder (default recording)",
    )
    g.add_argument("--cache-dir", type=Path, default=None, help="where the sentence dataset is cached")
    g.add_argument("--workers", type=_types.workers, default=1, help="processes for building sentences")


def run_finetune(args: argparse.Namespace) -> int:
    from radiofm.tasks.forecasting import ForecastingConfig, finetune_forecasting

    config = ForecastingConfig(
        **_args.finetune_fields(args),
        context=args.context,
        readout=args.readout,
        stride=args.stride,
        split_by=args.split_by,
        cache_dir=args.cache_dir,
        workers=args.workers,
    )
    train = _args.train_config(args)
    result = finetune_forecasting(args.data, config, train, args.out, resume=args.resume, log=_args.say)
    what = f"forecasting [{args.mode}] (context {result.info['context']}, readout {args.readout})"
    _args.print_run(result, what, "windows")
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="forecasting run (radiofm finetune forecasting)")
    p.add_argument("--data", required=True, type=Path, help="folder of recordings (the run's own: its test split)")
    p.add_argument("--out", required=True, type=Path, help="output folder for forecasting.json and PNGs")
    p.add_argument("--baseline", type=Path, default=None, help="second forecasting run to compare (e.g. scratch)")
    p.add_argument(
        "--freq-blocks", type=_types.distinct_int_list, default=None, help="block heights in bins, e.g. 4,8,16,32"
    )
    p.add_argument(
        "--time-blocks", type=_types.distinct_int_list, default=None, help="block widths in columns, e.g. 2,4,8,16"
    )
    p.add_argument("--horizons", type=_types.positive_int, default=4, help="tokens ahead (default 4)")
    p.add_argument("--stride", type=_types.positive_int, default=1, help="tokens between test windows")
    p.add_argument("--max-samples", type=_types.positive_int, default=None, help="evaluate at most N windows")
    p.add_argument("--batch-size", type=_types.positive_int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir", type=Path, default=None)
    _args.no_bar_flag(p)


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.tasks.forecasting import ForecastingEvalConfig, evaluate_forecasting_run

    config = ForecastingEvalConfig(
        baseline=args.baseline,
        freq_blocks=args.freq_blocks,
        time_blocks=args.time_blocks,
        horizons=args.horizons,
        stride=args.stride,
        max_samples=args.max_samples,
        batch_size=args.batch_size,
        device=args.device,
        cache_dir=args.cache_dir,
    )
    report = evaluate_forecasting_run(args.model, args.data, args.out, config)
    print_report(report)
    _args.wrote(args.out / "forecasting.json", args.out / "heatmaps.png", args.out / "tokens.png")
    return 0


def print_report(report: dict) -> None:
    print(f"forecasting on {report['windows']} windows ({report['evaluated_on']}); rates pooled over block sizes")
    print(f"{'model':<26} {'h':>2} {'detection':>10} {'false alarm':>12} {'F1':>6} {'MSE':>8}")
    for name, rows in report["summary"].items():
        for r in rows:
            print(
                f"{report['labels'][name]:<26} {r['horizon']:>2} {_fmt(r['detection_rate']):>10} "
                f"{_fmt(r['false_alarm_rate']):>12} {_fmt(r['f1']):>6} {r['mse']:>8.4f}"
            )


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"
