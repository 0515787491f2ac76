"""Resumable pipelines of steps, shared by ``radiofm demo`` and the paper reproductions.

A step runs real CLI commands (:func:`run_cli`) and returns a small summary dict. When its output exists and
its summary was recorded (``OUT/.steps/<name>.json``), a rerun skips it, so an interrupted pipeline resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radiofm.errors import RadioFMError


@dataclass
class Step:
    name: str
    output: str  # path under the pipeline folder whose existence marks the step done
    run: Callable[[Path, Any], dict]  # (folder, settings) -> summary


def run_cli(argv: list[str]) -> None:
    """Run ``radiofm ARGV`` in-process; a non-zero exit becomes a one-line error naming the command."""
    from radiofm.cli.main import main

    code = main(argv)
    if code != 0:
        raise RadioFMError(f"step failed: radiofm {' '.join(argv)} (exit {code})")


def flags(options: dict) -> list[str]:
    """{"--epochs": 3, "--lr": 1e-3} -> ["--epochs", "3", "--lr", "0.001"]."""
    return [str(x) for kv in options.items() for x in kv]


def add_reproduce_args(p: argparse.ArgumentParser) -> None:
    """The flags every ``radiofm reproduce EXPERIMENT`` shares (``--preset`` comes from the ``reproduce`` command)."""
    from radiofm.cli import _args

    p.add_argument("--out", type=Path, required=True, help="output folder (rerunning resumes; --force redoes)")
    p.add_argument("--force", action="store_true", help="redo every step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=_args.positive_int, default=None, help="processes for data generation")
    p.add_argument("--device", default=None, help="auto, cpu, cuda (default auto)")


def settings_from_args(preset: Any, args: argparse.Namespace, overrides: Sequence[str] = ("workers",)) -> Any:
    """The preset's settings dataclass with ``--seed`` and whichever of the ``overrides`` flags were given."""
    given = {name: getattr(args, name) for name in overrides if getattr(args, name, None)}
    return dataclasses.replace(preset, seed=args.seed, **given)


def prepare_folder(out: Path, *, force: bool) -> Path:
    """Create the pipeline folder; ``force`` first removes what an earlier run left in it."""
    if force and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_steps(steps: Sequence[Step], out: Path, settings: Any, *, label: str) -> list[dict]:
    """Run (or skip, when done) each step in order; returns ``[{"name", "seconds", **summary}, ...]``."""
    from radiofm.io import write_json

    done_steps = []
    for i, step in enumerate(steps, 1):
        marker = out / ".steps" / (step.name.replace(" ", "_").replace("/", "_").replace(":", "") + ".json")
        done = (out / step.output).exists() and marker.exists()
        print(f"\n[{label} {i}/{len(steps)}] {step.name}" + (" (done, skipped)" if done else ""), flush=True)
        t0 = time.perf_counter()
        if done:
            result = json.loads(marker.read_text())
        else:
            result = {**step.run(out, settings), "seconds": round(time.perf_counter() - t0, 1)}
            write_json(marker, result)
        done_steps.append({"name": step.name, **result})
    return done_steps
