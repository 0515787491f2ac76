"""``radiofm finetune positioning`` and ``radiofm evaluate positioning`` (5G NR positioning, slides Task 3)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    _args.add_finetune_args(p)
    g = p.add_argument_group("positioning")
    g.add_argument(
        "--head-hidden",
        type=_hidden,
        default=(256,),
        help="comma list of hidden widths of the regression MLP, or 'none' for a linear probe (default 256)",
    )
    g.add_argument("--head-dropout", type=float, default=0.0, help="dropout before the head's linear layers")
    g.add_argument(
        "--adapt",
        choices=("separate", "mean"),
        default="separate",
        help="how the 1-channel encoder takes the 4 base stations: 'separate' encodes each station's image on its "
        "own with shared weights (default), 'mean' widens the patch embedding (the stations' mean image)",
    )


def _hidden(text: str) -> tuple[int, ...]:
    return () if text.strip().lower() in ("", "none") else tuple(_types.int_list(text))


def run_finetune(args: argparse.Namespace) -> int:
    from radiofm.tasks.positioning import KIND, PositioningConfig, finetune_positioning

    config = PositioningConfig(
        **_args.finetune_fields(args),
        head_hidden=tuple(args.head_hidden),
        head_dropout=args.head_dropout,
        adapt=args.adapt,
    )
    train = _args.train_config(args)
    result = finetune_positioning(args.data, config, train, args.out, resume=args.resume, log=_args.say)
    _args.print_run(result, f"fine-tuned {KIND} [{args.mode}]", "UEs", val_metric="val_err_m")
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="fine-tuned positioning run folder")
    p.add_argument("--data", required=True, type=Path, help="test file (.mat v7.3), or a folder with test.mat")
    p.add_argument("--out", required=True, type=Path, help="output folder for positioning.json and PNGs")
    p.add_argument("--batch-size", type=_types.positive_int, default=32)
    p.add_argument("--device", default="cpu")
    _args.no_bar_flag(p)


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.tasks.positioning import evaluate_positioning_run

    r = evaluate_positioning_run(args.model, args.data, args.out, batch_size=args.batch_size, device=args.device)
    test_file = r["split"] == "test file"
    if not test_file:
        print(f"{r['data']} is the run's training file: scoring its {r['split']}")
    print(
        f"positioning ({r['samples']} {'test' if test_file else 'held-out'} UEs, mode {r['mode']}): mean "
        f"{r['mean_error_m']:.2f} m, median {r['median_error_m']:.2f} m, 90th percentile {r['p90_error_m']:.2f} m"
    )
    _args.wrote(args.out / "positioning.json", args.out / "error_cdf.png", args.out / "error_map.png")
    return 0
