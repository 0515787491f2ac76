"""``radiofm reproduce table4``: paper B Table IV, CSI activity sensing (:mod:`radiofm.reproduce.table4`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_args(p: argparse.ArgumentParser) -> None:
    _args.add_reproduce_args(p)
    for action in p._actions:  # this experiment also has a tiny end-to-end preset
        if action.dest == "preset":
            action.choices = ["cpu", "paper", "quick"]
            action.help = "cpu (default), paper (GPU) or quick (a tiny end-to-end check)"
    p.add_argument(
        "--per-class",
        type=_types.int_list,
        default=None,
        metavar="TRAIN,TEST",
        help="synthetic NTU-Fi files per class (default: the preset's; cpu/paper: the official 156,44)",
    )
    p.add_argument(
        "--pretrain-epochs", type=_types.positive_int, default=None, help="MAE pretraining epochs (default: preset)"
    )
    p.add_argument(
        "--ntufi", type=Path, default=None, help="a real NTU-Fi HAR folder (default: generate the synthetic one)"
    )


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from radiofm.errors import ConfigError
    from radiofm.reproduce.table4 import PRESETS, markdown, run_table4

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device"))
    if args.ntufi is not None:
        from radiofm.data.ntufi import check_ntufi

        check_ntufi(args.ntufi)  # every file's header and the classes: a one-line error now, not after pretraining
        settings = dataclasses.replace(settings, ntufi_root=str(args.ntufi))
    if args.per_class is not None:
        if len(args.per_class) != 2:
            raise ConfigError(f"--per-class takes TRAIN,TEST (two numbers), got {args.per_class}")
        settings = dataclasses.replace(settings, train_per_class=args.per_class[0], test_per_class=args.per_class[1])
    if args.pretrain_epochs is not None:
        settings = dataclasses.replace(settings, pretrain_epochs=args.pretrain_epochs)
    report = run_table4(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print("\n" + markdown(report))
    _args.wrote(args.out / "report.json", args.out / "table4.md", args.out / "fig7.png")
    return 0
