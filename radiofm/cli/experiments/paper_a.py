"""``radiofm reproduce paper-a``: paper A's experiments (:mod:`radiofm.reproduce.paper_a`)."""

from __future__ import annotations

import argparse

from radiofm.cli import _args, _types


def add_args(p: argparse.ArgumentParser) -> None:
    _args.add_reproduce_args(p)
    p.add_argument("--threads", type=_types.threads, default=None, help="torch CPU threads (cpu preset: 1)")


def run(args: argparse.Namespace) -> int:
    from radiofm.reproduce.paper_a import PRESETS, run_paper_a
    from radiofm.reproduce.paper_a_report import markdown

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device", "threads"))
    report = run_paper_a(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print("\n" + markdown(report))
    out = args.out
    _args.wrote(out / "report.json", out / "paper_a.md", out / "heatmaps.png", out / "segmentation_matrices.png")
    return 0
