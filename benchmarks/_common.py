"""Small helpers shared by the benchmark scripts (``python benchmarks/<name>.py``).

Import them as ``from _common import time_it, print_table, write_results, machine_info`` (the script's folder
is on ``sys.path`` when run as a file).

- ``time_it(fn, *, repeats=5, warmup=1) -> dict``: calls ``fn()`` ``warmup`` times untimed, then ``repeats``
  times; returns ``{"median_s", "min_s", "mean_s", "repeats"}`` (wall clock, ``time.perf_counter``).
  Report the median: the machine may be shared, and the median ignores the odd slow run.
- ``time_many(fns, *, repeats=5, warmup=1) -> dict[name, dict]``: like ``time_it`` for a dict of named
  callables, run round-robin (one call of each per round) so that load from other processes falls on all
  of them alike; use it to compare methods.
- ``print_table(rows)``: prints a list of dicts as an aligned text table (columns in first-seen key order).
- ``write_results(name, payload, directory=None) -> Path``: writes ``benchmarks/results/<name>.json`` (or into
  ``directory``) atomically with
  ``{"benchmark": name, "created_utc": ..., "machine": machine_info(), **payload}``.
- ``machine_info() -> dict``: platform, CPU, core counts, load average and library versions.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def time_it(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Wall-clock seconds of ``fn()``: median, min and mean over ``repeats`` runs after ``warmup`` runs."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "mean_s": statistics.fmean(times),
        "repeats": repeats,
    }


def time_many(
    fns: dict[str, Callable[[], Any]],
    *,
    repeats: int = 5,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, dict[str, float]]:
    """``time_it`` for several callables, interleaved round-robin; returns ``{name: time_it-style dict}``.

    ``clock``: wall time by default; ``time.process_time`` measures this process's CPU time instead.
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {
        name: {"median_s": statistics.median(v), "min_s": min(v), "mean_s": statistics.fmean(v), "repeats": repeats}
        for name, v in times.items()
    }


def print_table(rows: list[dict[str, Any]], *, file=None) -> None:
    """Print ``rows`` (dicts) as an aligned table; floats with 4 significant digits, None as ``-``."""
    file = file or sys.stdout
    if not rows:
        print("(no rows)", file=file)
        return
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[_fmt(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    print("  ".join(col.ljust(w) for col, w in zip(columns, widths)), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in cells:
        print("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths)), file=file)


def scene_arguments(ap, *, captures: int, seed: int) -> None:
    """The options of the benchmarks that annotate generated scenes: ``--model``, ``--work``, ``--captures``,
    ``--seed`` (``ap`` an ``argparse.ArgumentParser``)."""
    ap.add_argument("--model", required=True, help="segmentation run folder (e.g. a demo's segmentation)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the captures and the scores")
    ap.add_argument("--captures", type=int, default=captures)
    ap.add_argument("--seed", type=int, default=seed)


def write_results(name: str, payload: dict[str, Any], directory: Path | None = None) -> Path:
    """Write ``benchmarks/results/<name>.json`` (or ``directory/<name>.json``; atomic) and return its path."""
    from radiofm.io import write_json

    doc = {
        "benchmark": name,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        **payload,
    }
    path = Path(directory or RESULTS_DIR) / f"{name}.json"
    write_json(path, doc)
    return path


def machine_info() -> dict[str, Any]:
    """Where the numbers come from: platform, CPU model, cores, load and library versions."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    for module in ("numpy", "scipy", "torch"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _numeric(text: str) -> bool:
    try:
        float(text.rstrip("x"))
    except ValueError:
        return False
    return True
