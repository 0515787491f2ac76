"""``radiofm reproduce protobeam``: the seminar slides' Table I and ProtoAoA (:mod:`radiofm.reproduce.protobeam`)."""

from __future__ import annotations

import argparse

from radiofm.cli import _args


def add_args(p: argparse.ArgumentParser) -> None:
    _args.add_reproduce_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from radiofm.reproduce.protobeam import PRESETS, markdown, run_protobeam

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device"))
    report = run_protobeam(
        settings, args.out, preset=args.preset, force=args.force, log=_args.say, progress=not args.no_progress
    )
    print("\n" + markdown(report))
    _args.wrote(args.out / "report.json", args.out / "table1.md", args.out / "accuracy_vs_shots.png")
    return 0
