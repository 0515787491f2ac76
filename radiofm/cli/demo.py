"""``radiofm demo``: the main job end to end on built-in defaults (:mod:`radiofm.reproduce.demo`), with a summary."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on built-in defaults (about 8 min on 2 CPU cores)")
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="demo folder (default demo-out)")
    p.add_argument("--preset", default="full", help="full (default, about 8 min) or quick (seconds)")
    p.add_argument("--force", action="store_true", help="redo every step even when its output exists")
    p.add_argument("--seed", type=_types.seed, default=0)
    p.add_argument("--workers", type=_types.workers, default=None, help="worker processes for generation")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from radiofm.errors import ConfigError
    from radiofm.reproduce.demo import PRESETS, run_demo

    if args.preset not in PRESETS:
        raise ConfigError(f"unknown demo preset {args.preset!r}; valid: {', '.join(sorted(PRESETS))}")
    settings = _args.settings_from_args(PRESETS[args.preset], args)
    summary = run_demo(settings, args.out, preset=args.preset, force=args.force, log=_args.say)
    print_summary(summary["steps"], summary["total_s"], args.out)
    return 0


def print_summary(steps: list[dict], total: float, out: Path) -> None:
    print("\n" + "=" * 78)
    print(f"radiofm demo summary ({total / 60:.1f} min) — outputs in {out}")
    print("=" * 78)
    pictures = []
    for step in steps:
        items = {k: v for k, v in step.items() if k not in ("name", "seconds", "pictures")}
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in items.items())
        print(f"{step['name']:<28} {step['seconds']:>7.1f}s  {shown}")
        pictures += step.get("pictures", [])
    if pictures:
        print("\npictures:")
        for p in pictures:
            print(f"  {p}")


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
