"""``radiofm reproduce table5``: paper B Table V (:mod:`radiofm.reproduce.table5`)."""

from __future__ import annotations

import argparse

from radiofm.cli import _args


def add_args(p: argparse.ArgumentParser) -> None:
    _args.add_reproduce_args(p)


def run(args: argparse.Namespace) -> int:
    from radiofm.reproduce.table5 import PRESETS, markdown, run_table5

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device"))
    report = run_table5(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print("\n" + markdown(report))
    _args.wrote(args.out / "report.json", args.out / "table5.md")
    return 0
