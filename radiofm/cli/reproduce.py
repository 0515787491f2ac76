"""``radiofm reproduce EXPERIMENT --preset cpu|paper``: rerun a paper's table or figures end to end."""

from __future__ import annotations

from radiofm.cli import _args


def add_parser(sub) -> None:
    from radiofm.reproduce import EXPERIMENTS

    p = sub.add_parser("reproduce", help="reproduce a paper's table or figures (cpu or paper preset)")
    _args.add_plugin_parsers(p, "experiment", "EXPERIMENT", EXPERIMENTS, add_args="add_args", run="run", common=_preset)


def _preset(p) -> None:
    p.add_argument("--preset", choices=["cpu", "paper"], default="cpu", help="cpu (default) or paper (GPU)")
