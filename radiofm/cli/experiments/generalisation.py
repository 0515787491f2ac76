"""``radiofm reproduce generalisation``: leave-one-regime-out NR/LTE identification
(:mod:`radiofm.reproduce.generalisation`)."""

from __future__ import annotations

import argparse
import dataclasses

from radiofm.cli import _args, _types

PRESET_CHOICES = ("cpu", "quick")
SIZE_FLAGS = {  # settings field -> help; each overrides the preset's value when given
    "pretrain_epochs": "MAE pretraining epochs (cpu: 12)",
    "train_frames": "training frames per fold (cpu: 400)",
    "test_frames": "held-out-regime test frames of the main generator (cpu: 100)",
    "alt_frames": "held-out-regime test frames of the alt generator (cpu: 100)",
    "seg_epochs": "segmentation head epochs (cpu: 20)",
}


def add_args(p: argparse.ArgumentParser) -> None:
    for action in p._actions:  # the shared --preset (cpu|paper): this experiment has cpu|quick
        if action.dest == "preset":
            action.choices = list(PRESET_CHOICES)
            action.help = "cpu (default: all five regimes; ≈ 20 min on 2 idle cores) or quick (seconds)"
    _args.add_reproduce_args(p)
    p.add_argument(
        "--held-out",
        default=None,
        metavar="NAMES",
        help="comma list of regimes to hold out, one fold each (default: the preset's; cpu: all five)",
    )
    for flag, what in SIZE_FLAGS.items():
        p.add_argument(f"--{flag.replace('_', '-')}", type=_types.positive_int, default=None, help=what)


def run(args: argparse.Namespace) -> int:
    from radiofm.reproduce.generalisation import PRESETS, markdown, run_generalisation
    from radiofm.synth.nrlte.traffic import REGIMES

    settings = _args.settings_from_args(PRESETS[args.preset], args, ("workers", "device", *SIZE_FLAGS))
    if args.held_out:
        settings = dataclasses.replace(
            settings, held_out=_args.name_list(args.held_out, REGIMES, "--held-out", "traffic regime")
        )
    report = run_generalisation(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print("\n" + markdown(report))
    _args.wrote(args.out / "report.json", args.out / "generalisation.md")
    return 0
