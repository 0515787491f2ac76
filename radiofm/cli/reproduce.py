"""``radiofm reproduce EXPERIMENT --preset cpu|paper``: rerun a paper's table or figures end to end.

Experiments plug in through :data:`EXPERIMENTS`: name -> (module, help); the module (in
``radiofm.cli.experiments``) has ``add_args(p)`` and ``run(args) -> int``, which parse flags into the
experiment's settings dataclass and call ``radiofm.reproduce.<experiment>.run_<experiment>``.
"""

from __future__ import annotations

import argparse

from radiofm.cli import _args

EXPERIMENTS = {
    "table4": ("radiofm.cli.experiments.table4", "paper B Table IV: CSI activity sensing, mask ratios x sizes+scratch"),
    "table5": ("radiofm.cli.experiments.table5", "paper B Table V: NR/LTE segmentation, mask ratios x sizes + scratch"),
    "paper-a": ("radiofm.cli.experiments.paper_a", "paper A: ConvLSTM forecasting heatmaps and segmentation matrices"),
    "protobeam": ("radiofm.cli.experiments.protobeam", "slides Table I: ProtoBeam TTSA/TOTA, baselines, ProtoAoA"),
    "tasks": ("radiofm.cli.experiments.tasks", "sensing, signals, positioning x every mode + label efficiency"),
    "generalisation": (
        "radiofm.cli.experiments.generalisation",
        "NR/LTE leave-one-regime-out: train without a traffic regime, test on it (main and alt generator)",
    ),
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "reproduce",
        help="reproduce a paper's table or figures (--preset: cpu everywhere; quick or paper where --help lists them)",
    )
    _args.add_plugin_parsers(p, "experiment", "EXPERIMENT", EXPERIMENTS, add_args="add_args", run="run", common=_preset)


def _preset(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=["cpu", "paper"], default="cpu", help="cpu (default) or paper (GPU)")
