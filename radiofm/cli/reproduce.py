"""``radiofm reproduce EXPERIMENT --preset cpu|paper``: rerun a paper's table or figures end to end."""

from __future__ import annotations

import importlib


def add_parser(sub) -> None:
    from radiofm.reproduce import EXPERIMENTS

    p = sub.add_parser("reproduce", help="reproduce a paper's table or figures (cpu or paper preset)")
    rsub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", parser_class=type(p))
    rsub.required = True
    for name, (modname, help_) in EXPERIMENTS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        rp = rsub.add_parser(name, help=help_, description=help_)
        rp.add_argument("--preset", choices=["cpu", "paper"], default="cpu", help="cpu (default) or paper (GPU)")
        mod.add_args(rp)
        rp.set_defaults(run=mod.run)
