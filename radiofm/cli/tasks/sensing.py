"""``radiofm finetune sensing`` and ``radiofm evaluate sensing`` (CSI activity sensing, NTU-Fi HAR, paper B §III-C)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    _args.add_finetune_args(p)
    g = p.add_argument_group("sensing")
    g.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing alpha (default 0.1)")
    g.add_argument(
        "--head-hidden",
        type=_types.int_list,
        default=(),
        help="comma list of hidden widths of the head (default none: a linear head, paper B)",
    )
    g.add_argument("--head-dropout", type=float, default=0.0, help="dropout before the head's linear layers")
    g.add_argument(
        "--adapt",
        choices=("mean", "separate"),
        default="mean",
        help="how the 1-channel encoder takes the 3 antennas: 'mean' widens its patch embedding (the channel mean, "
        "paper B; default), 'separate' encodes each antenna on its own with shared weights",
    )


def run_finetune(args: argparse.Namespace) -> int:
    from radiofm.tasks.sensing import KIND, SensingConfig, finetune_sensing

    config = SensingConfig(
        **_args.finetune_fields(args),
        head_hidden=tuple(args.head_hidden),
        head_dropout=args.head_dropout,
        label_smoothing=args.label_smoothing,
        adapt=args.adapt,
    )
    train = _args.train_config(args)
    result = finetune_sensing(args.data, config, train, args.out, resume=args.resume, log=_args.say)
    _args.print_run(result, f"fine-tuned {KIND} [{args.mode}]", "recordings", val_metric="val_acc")
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="fine-tuned sensing run folder")
    p.add_argument("--data", required=True, type=Path, help="NTU-Fi HAR folder (its test_amp/ split is scored)")
    p.add_argument("--out", required=True, type=Path, help="output folder for sensing.json and confusion.png")
    p.add_argument("--batch-size", type=_types.positive_int, default=32)
    p.add_argument("--device", default="cpu")
    _args.no_bar_flag(p)


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.tasks.sensing import evaluate_sensing_run

    report = evaluate_sensing_run(args.model, args.data, args.out, batch_size=args.batch_size, device=args.device)
    n, mode, acc = report["samples"], report["mode"], report["accuracy"]
    print(f"CSI sensing ({n} test recordings, mode {mode}): accuracy {acc:.3f}")
    for c, acc in report["per_class"].items():
        print(f"{c:>8} {'   -' if acc is None else f'{acc:.3f}'}")
    _args.wrote(args.out / "sensing.json", args.out / "confusion.png")
    return 0
