"""``radiofm finetune signals`` and ``radiofm evaluate signals`` (signal identification, 20 CommRad RF classes)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    _args.add_finetune_args(p)
    p.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing alpha (default 0.1)")
    p.add_argument("--head-hidden", type=_types.positive_int, default=256, help="MLP head hidden width (default 256)")
    p.add_argument("--head-dropout", type=float, default=0.1, help="MLP head dropout (default 0.1)")
    p.add_argument("--no-augment", action="store_true", help="no circular time shifts in training")
    p.add_argument("--fft-size", type=_types.positive_int, default=1024, help="SigMF front end: FFT length (1024)")
    p.add_argument("--hop", type=_types.positive_int, default=1024, help="SigMF front end: frame advance (1024)")
    p.add_argument(
        "--zoom-rows",
        type=_types.non_negative_int,
        default=None,
        help="SigMF front end: image rows showing one FFT bin each around the strongest emission "
        "(default: half the image height; 0: the whole band only)",
    )
    p.add_argument(
        "--fine-rows",
        type=_types.non_negative_int,
        default=0,
        help="SigMF front end: image rows showing bins of a --fine-fft-size FFT around that emission, below the "
        "zoom (default 0: none; narrowband classes such as RTTY gain, wideband ones lose the band rows it takes)",
    )
    p.add_argument(
        "--fine-fft-size",
        type=_types.positive_int,
        default=16384,
        help="SigMF front end: FFT length of the fine zoom (default 16384: 125 Hz bins at 2.048 MS/s)",
    )


def run_finetune(args: argparse.Namespace) -> int:
    from radiofm.tasks.signals import KIND, SignalsConfig, finetune_signals

    config = SignalsConfig(
        **_args.finetune_fields(args),
        head_hidden=args.head_hidden,
        head_dropout=args.head_dropout,
        label_smoothing=args.label_smoothing,
        augment=not args.no_augment,
        fft_size=args.fft_size,
        hop=args.hop,
        zoom_rows=args.zoom_rows,
        fine_rows=args.fine_rows,
        fine_fft_size=args.fine_fft_size,
    )
    train = _args.train_config(args)
    result = finetune_signals(args.data, config, train, args.out, resume=args.resume, log=_args.say)
    _args.print_run(result, f"fine-tuned {KIND} [{args.mode}]", "items", val_metric="val_acc")
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="fine-tuned signals run folder")
    p.add_argument("--data", required=True, type=Path, help="labelled SigMF folder or PNG image folder (test set)")
    p.add_argument("--out", required=True, type=Path, help="output folder for signals.json and confusion.png")
    p.add_argument("--batch-size", type=_types.positive_int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.tasks.signals_eval import SignalsEvalConfig, evaluate_signals_run

    config = SignalsEvalConfig(batch_size=args.batch_size, device=args.device, progress=not args.no_progress)
    report = evaluate_signals_run(args.model, args.data, args.out, config)
    print_report(report)
    _args.wrote(args.out / "signals.json", args.out / "confusion.png")
    return 0


def print_report(report: dict) -> None:
    print(f"signal identification ({report['samples']} {report['format']} items, {len(report['classes'])} classes)")
    width = max(len(c) for c in report["classes"])
    for c in report["classes"]:
        acc = report["per_class"][c]
        print(f"  {c:>{width}}  {'   -' if acc is None else f'{100 * acc:5.1f}%'}")
    mean = report["mean_class_accuracy"]
    print(f"accuracy {100 * report['accuracy']:.1f}%, mean per-class accuracy {100 * mean:.1f}%")
