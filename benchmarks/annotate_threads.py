"""Where ``radiofm annotate``'s CPU goes: each thread's CPU time on a long and a short capture, and the difference.

Each capture is annotated in a fresh process (``--child``) that runs ``radiofm.cli.main`` with every
``threading.Thread`` wrapped to add up its ``time.thread_time()`` under its name (the digits of a pool's workers
dropped: ``radiofm-engine_0`` and ``radiofm-engine_1`` are ``radiofm-engine``). The short capture is the baseline:
its per-thread CPU (start-up, imports, the model's load, the first 40 ms's physical layer) is subtracted from the
long capture's, which leaves what each second of capture costs. The captures are those of
``benchmarks/annotate_rtf.py`` (the generator's 40 ms frames tiled), annotated with the defaults and
``--no-picture``.

    PYTHONPATH=. .venv/bin/python benchmarks/annotate_threads.py --work W [--model DEMO/segmentation]

Prints one row per thread and writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _annotate_setup import demo_model, generator_frames, tiled_capture
from _common import print_table, write_results


def child(capture: str, model: str, out: str) -> None:
    """Annotate ``capture`` in this process and print {thread name: CPU s} as JSON on the last line."""
    cpu: collections.Counter = collections.Counter()
    run = threading.Thread.run

    def counted(self):
        try:
            run(self)
        finally:
            cpu[self.name.rstrip("0123456789").rstrip("_")] += time.thread_time()

    threading.Thread.run = counted
    from radiofm.cli.main import main

    code = main(["annotate", capture, "--model", model, "--out", out, "--no-progress", "--no-picture"])
    cpu["MainThread"] += time.thread_time()
    print(json.dumps({"code": code, "cpu": dict(cpu)}))


def measure(capture: Path, model: Path, work: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(capture), str(model), str(Path(tmp) / "out")],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"annotate failed on {capture}: {proc.stderr.strip().splitlines()[-1:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        sys.exit(f"annotate exited {result['code']} on {capture}")
    return result["cpu"]


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "radiofm-annotate-rtf")
    p.add_argument("--short-s", type=float, default=0.04)
    p.add_argument("--long-s", type=float, default=4.0)
    p.add_argument("--frames", type=int, default=1, help="generator frames the captures repeat")
    p.add_argument("--model", type=Path, default=None, help="segmentation run (default: the demo's architecture)")
    p.add_argument("--name", default="annotate_threads")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    frames = generator_frames(args.work, args.frames)
    model = args.model or demo_model(args.work / "seg")
    short, long_ = (tiled_capture(args.work / f"capture-{s:g}s", s, frames) for s in (args.short_s, args.long_s))
    base, cpu = measure(short, model, args.work), measure(long_, model, args.work)
    extra_s = args.long_s - args.short_s
    rows = [
        {"thread": name, "cpu_short_s": round(base.get(name, 0.0), 2), "cpu_long_s": round(cpu.get(name, 0.0), 2),
         "extra_cpu_s": round(cpu.get(name, 0.0) - base.get(name, 0.0), 2),
         "per_capture_s": round((cpu.get(name, 0.0) - base.get(name, 0.0)) / extra_s, 3)}
        for name in sorted(set(base) | set(cpu), key=lambda n: -cpu.get(n, 0.0))
    ]  # fmt: skip
    print_table(rows)
    total = sum(r["extra_cpu_s"] for r in rows)
    print(f"extra CPU for {extra_s:g} s of capture: {total:.2f} s ({total / extra_s:.2f} CPU-s per second)")
    settings = {"short_s": args.short_s, "long_s": args.long_s, "frames": args.frames, "model": str(model)}
    print(f"wrote {write_results(args.name, {'settings': settings, 'rows': rows, 'extra_cpu_s': total})}")


if __name__ == "__main__":
    main()
