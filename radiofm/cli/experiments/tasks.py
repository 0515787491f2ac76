"""``radiofm reproduce tasks``: sensing / signals / positioning x every fine-tuning mode, plus the label-efficiency
curve (:mod:`radiofm.reproduce.tasks`). Presets cpu, paper (GPU) and quick (seconds, for tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_args(p: argparse.ArgumentParser) -> None:
    from radiofm.reproduce.tasks import PRESETS

    for action in p._actions:  # this experiment has a third preset besides the shared cpu / paper
        if action.dest == "preset":
            action.choices = tuple(PRESETS)
            action.help = "cpu (default), paper (GPU) or quick (seconds, for tests)"
    _args.add_reproduce_args(p)
    p.add_argument("--init", type=Path, default=None, help="reuse this pretrained MAE checkpoint (skip pretraining)")
    p.add_argument(
        "--pretrain-epochs", type=_types.positive_int, default=None, help="MAE pretraining epochs (default: preset)"
    )
    p.add_argument(
        "--tasks", default=None, metavar="NAMES", help="comma list of sensing, signals, positioning (default: all)"
    )
    p.add_argument(
        "--backbones", default=None, metavar="NAMES",
        help="comma list of ism (pretrained on the ISM corpus, the default) and own (one per task, pretrained on the "
        "task's own training inputs, labels unused): rows of the table; the curve uses the first",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from radiofm.reproduce.tasks import PRESETS, run_tasks
    from radiofm.reproduce.tasks_report import BACKBONES, TASKS, markdown

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device"))
    if args.init is not None:
        from radiofm.models.finetuned import read_init

        read_init(args.init)  # a pretrained backbone, or a one-line error now rather than after the data steps
        settings = dataclasses.replace(settings, init=str(args.init))
    if args.pretrain_epochs is not None:
        settings = dataclasses.replace(settings, pretrain_epochs=args.pretrain_epochs)
    if args.tasks is not None:
        settings = dataclasses.replace(settings, tasks=_args.name_list(args.tasks, TASKS, "--tasks", "task"))
    if args.backbones:
        settings = dataclasses.replace(
            settings, backbones=_args.name_list(args.backbones, BACKBONES, "--backbones", "backbone")
        )
    report = run_tasks(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print("\n" + markdown(report))
    _args.wrote(args.out / "report.json", args.out / "tasks.md", args.out / "label_efficiency.png")
    return 0
