"""``radiofm reproduce table4``: paper B Table IV, CSI activity sensing (:mod:`radiofm.reproduce.table4`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args


def add_args(p: argparse.ArgumentParser) -> None:
    _args.add_reproduce_args(p)
    for action in p._actions:  # this experiment also has a tiny end-to-end preset
        if action.dest == "preset":
            action.choices = ["cpu", "paper", "quick"]
            action.help = "cpu (default), paper (GPU) or quick (a tiny end-to-end check)"
    p.add_argument(
        "--ntufi", type=Path, default=None, help="a real NTU-Fi HAR folder (default: generate the synthetic one)"
    )


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from radiofm.reproduce.table4 import PRESETS, markdown, run_table4

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device"))
    if args.ntufi is not None:
        from radiofm.data.ntufi import open_ntufi

        open_ntufi(args.ntufi, "train"), open_ntufi(args.ntufi, "test")  # a one-line error now, not after pretraining
        settings = dataclasses.replace(settings, ntufi_root=str(args.ntufi))
    report = run_table4(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print("\n" + markdown(report))
    _args.wrote(args.out / "report.json", args.out / "table4.md", args.out / "fig7.png")
    return 0
