"""Real-time factor, start-up and peak memory of ``radiofm annotate`` at 61.44 MS/s with the demo's model.

Each configuration annotates a short and a long capture (default 40 ms and 4 s, ci16) as a fresh ``radiofm``
process (its CPU time and peak RSS from the kernel's rusage, ``os.wait4``); the runs are interleaved (round-robin
over configurations) so that load from other processes falls on all of them alike. Figures per configuration:

- RTF = (long - short capture duration) / (long - short wall time): start-up cancels (issue 13's definition);
- ``cpu_rtf_2core`` = the same with the process's CPU time (user + sys) spread over 2 cores: what an idle 2-core
  machine would give at best; on a shared machine the wall-clock RTF is lower by the load;
- start-up = short wall time - short duration / RTF (the fixed cost: imports, model load, outputs), and the wall
  time of ``radiofm annotate --help`` (imports of the CLI alone). Every run uses radiofm's compiled bytecode (written
  before the first timed run), as an installed package does; ``--no-bytecode`` removes it and compiles it at every
  start instead, as the development sandbox (PYTHONDONTWRITEBYTECODE=1) did for every figure before session 52;
- peak RSS of each run (``ru_maxrss``).

Configurations: ``baseline`` is the code before this benchmark's changes (``--baseline-src``: a folder holding that
``radiofm`` package; by default ``git archive`` of ``--baseline-rev`` into a temporary folder), with its defaults;
``stream`` the current defaults (reader thread, bounded picture); ``int8`` adds ``--quantize int8 --no-picture``;
``fast`` also ``--threads 1`` (the reader thread and one model thread: no OpenMP spinning on a loaded machine);
``torch`` and ``numpy`` set ``--engine`` (and ``--no-picture``): the model on torch, or on the numpy engine that
never imports torch (the default "auto" picks it on a CPU-only machine); ``bf16`` runs torch under bfloat16 autocast
(``--quantize bf16``; ``bf16-1t`` with ``--threads 1``: the reader thread keeps the other core); ``numpy-copy``
is ``numpy`` with ``--copy-data`` (the output's data copied instead of hard-linked, as every run did before
session 26); ``*-stepK`` adds ``--frame-step K`` (every K-th 40 ms frame
analysed: a monitoring mode; its annotations differ from every-frame analysis by design, see ``same_as_first``).
``--model RUN`` times a trained model (its carriers decide the physical-layer stage's work) instead of the demo
architecture with random weights.
``--memory-seconds S`` also annotates an S-second capture (written in chunks, never held in memory) with the
current code and reports its peak RSS (issue 13: <= 1 GB for >= 60 s).
Results: ``benchmarks/results/annotate_rtf.json``.

    nice -n 10 python benchmarks/annotate_rtf.py --work /tmp/annrtf [--memory-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _annotate_setup import FS, demo_model, generator_frames, tiled_capture
from _common import print_table, write_results

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "baseline": [],
    "stream": [],
    "int8": ["--quantize", "int8", "--no-picture"],
    "fast": ["--quantize", "int8", "--no-picture", "--threads", "1"],  # reader thread + one model thread
    "torch": ["--engine", "torch", "--no-picture"],  # the model on torch (fp32, its default threads)
    "torch-nophy": ["--engine", "torch", "--no-picture", "--no-phy"],  # the model and boxes alone (gpu_check dry run)
    "numpy": ["--engine", "numpy", "--no-picture"],  # the model on the numpy engine: no torch import
    "bf16": ["--quantize", "bf16", "--no-picture"],  # torch under bfloat16 autocast (CPUs with AVX512-BF16/AMX)
    "bf16-1t": ["--quantize", "bf16", "--no-picture", "--threads", "1"],  # bf16, the model on one thread
    "numpy-copy": ["--engine", "numpy", "--no-picture", "--copy-data"],  # the data copied, as before session 26
    "numpy-step2": ["--engine", "numpy", "--no-picture", "--frame-step", "2"],  # every 2nd frame analysed
    "numpy-step4": ["--engine", "numpy", "--no-picture", "--frame-step", "4"],  # every 4th frame analysed
    "bf16-step2": ["--quantize", "bf16", "--no-picture", "--frame-step", "2"],
    "picture-step4": ["--frame-step", "4"],  # the defaults (numpy engine, overlay picture) at every 4th frame
}


def _time(cmd: list[str], env: dict, cwd: Path) -> dict:
    """Wall time, CPU time (user + sys) and peak RSS of ``cmd``, read from the kernel's rusage of that one child
    (``os.wait4``: no ``/usr/bin/time`` needed, which a bare accelerator machine may lack). ``cwd``: a folder
    without a ``radiofm`` package (see :func:`_annotate`)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()[-2000:]}")
        stdout = out.read()
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": rss_mb, "out": stdout}


def _env(src: Path | None, threads: int | None, bytecode: bool = True) -> dict:
    """The environment of a run: ``src`` first on the path; ``bytecode``: the modules' compiled bytecode is used (and
    written where missing), as an installed package runs; otherwise none is written (PYTHONDONTWRITEBYTECODE=1, as
    this sandbox sets: with radiofm's removed first, see ``main``, every start compiles its modules from source)."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if src is not None:  # first on the path; what the caller put there (e.g. a folder of extra packages) stays
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _annotate(name: str, rec: Path, model: Path, out: Path, args: argparse.Namespace, base: Path | None) -> dict:
    src = base if name == "baseline" else ROOT
    cmd = [sys.executable, "-m", "radiofm.cli.main", "annotate", str(rec), "--model", str(model)]
    cmd += ["--out", str(out / f"{name}-{rec.stem}"), "--no-progress", *CONFIGS[name]]
    # run from the work folder: ``python -m`` puts the current folder first on sys.path, ahead of PYTHONPATH, so a
    # benchmark started from the repository root ran the current radiofm in its baseline rows too (session 29's
    # overlay A/B was one: docs/RESULTS.md, session 31)
    r = _time(cmd, _env(src, args.threads, not args.no_bytecode), cwd=args.work)
    meta = json.loads((out / f"{name}-{rec.stem}.sigmf-meta").read_text())
    r["annotations"] = [{k: v for k, v in a.items() if k != "core:generator"} for a in meta["annotations"]]
    for p in out.glob(f"{name}-{rec.stem}.*"):
        p.unlink()  # the data copy of a long capture is large
    return r


def _baseline_src(args: argparse.Namespace, work: Path) -> Path:
    if args.baseline_src:
        return Path(args.baseline_src)
    dest = work / f"baseline-{args.baseline_rev}"
    if not (dest / "radiofm").exists():
        dest.mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_rev, "radiofm"], capture_output=True,
                             check=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "radiofm-annotate-rtf")
    p.add_argument("--short-s", type=float, default=0.04)
    p.add_argument("--long-s", type=float, default=4.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the runs (default: unset)")
    p.add_argument("--baseline-rev", default="a677bad", help="git revision of the baseline code")
    p.add_argument("--baseline-src", default=None, help="folder holding the baseline radiofm package")
    p.add_argument("--memory-seconds", type=float, default=0.0, help="also measure peak RSS on this long a capture")
    p.add_argument("--memory-config", default="int8", choices=list(CONFIGS), help="configuration of that run")
    p.add_argument("--name", default="annotate_rtf", help="results file benchmarks/results/NAME.json")
    p.add_argument("--results-dir", type=Path, default=None, help="write NAME.json here instead")
    p.add_argument("--no-bytecode", action="store_true", help="compile radiofm from source at every start (its "
                   "__pycache__ folders removed, PYTHONDONTWRITEBYTECODE=1) as this sandbox does")  # fmt: skip
    p.add_argument("--keep-memory-capture", action="store_true", help="do not delete the long capture afterwards")
    p.add_argument("--frames", type=int, default=8, help="generator frames the captures repeat")
    p.add_argument("--model", type=Path, default=None, help="segmentation run to use (default: the demo's "
                   "architecture with random weights, written to WORK/seg)")  # fmt: skip
    args = p.parse_args()
    args.work = work = args.work.resolve()
    args.model = args.model.resolve() if args.model else None
    work.mkdir(parents=True, exist_ok=True)
    frames = generator_frames(work, args.frames)
    model = args.model or demo_model(work / "seg")
    caps = {s: tiled_capture(work / f"capture-{s:g}s", s, frames) for s in (args.short_s, args.long_s)}
    names = [c for c in args.configs.split(",") if c]
    base = _baseline_src(args, work) if "baseline" in names or args.memory_config == "baseline" else None
    out = work / "out"
    out.mkdir(exist_ok=True)

    timed = names + ([args.memory_config] if args.memory_seconds else [])
    for src in {base if n == "baseline" else ROOT for n in timed}:
        if args.no_bytecode:  # radiofm's bytecode removed (never in git): each start compiles it, as in this sandbox
            for cache in (src / "radiofm").rglob("__pycache__"):
                shutil.rmtree(cache)
        else:  # each tree's bytecode written before any timed run (the first start would compile)
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "radiofm")], env=_env(src, None),
                           check=True, cwd=work, stdout=subprocess.DEVNULL)  # fmt: skip
    help_wall = {}
    for name in names:
        src = base if name == "baseline" else ROOT
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "radiofm.cli.main", "annotate", "--help"],
                       env=_env(src, None, not args.no_bytecode),
                       capture_output=True, check=True, cwd=work)  # fmt: skip
        help_wall[name] = time.perf_counter() - t0

    runs: dict = {n: {s: [] for s in caps} for n in names}
    for _ in range(args.repeats):
        for s, rec in caps.items():
            for name in names:
                r = _annotate(name, rec, model, out, args, base)
                runs[name][s].append(r)
                line = f"{name:9s} {s:g} s: wall {r['wall_s']:.1f} s, cpu {r['cpu_s']:.1f} s, "
                print(line + f"peak RSS {r['peak_rss_mb']:.0f} MB, {len(r['annotations'])} annotations", flush=True)

    rows, ref = [], None
    d = args.long_s - args.short_s
    for name in names:
        short, long_ = (min(runs[name][s], key=lambda r: r["wall_s"]) for s in (args.short_s, args.long_s))
        rtf = d / max(long_["wall_s"] - short["wall_s"], 1e-9)
        cpu_rtf = d / max((long_["cpu_s"] - short["cpu_s"]) / 2, 1e-9)
        if ref is None:
            ref = long_["annotations"]
        rows.append({
            "config": name,
            "wall_short_s": round(short["wall_s"], 2),
            "wall_long_s": round(long_["wall_s"], 2),
            "rtf": round(rtf, 3),
            "cpu_long_s": round(long_["cpu_s"], 1),
            "cpu_rtf_2core": round(cpu_rtf, 3),
            "startup_s": round(short["wall_s"] - args.short_s / rtf, 2),
            "help_s": round(help_wall[name], 2),
            "peak_rss_long_mb": round(long_["peak_rss_mb"]),
            "annotations_long": len(long_["annotations"]),
            "same_as_first": long_["annotations"] == ref,
        })  # fmt: skip
    if rows:
        print_table(rows)
    memory = None
    if args.memory_seconds:
        name = args.memory_config
        rec = tiled_capture(work / f"capture-{args.memory_seconds:g}s", args.memory_seconds, frames)
        r = _annotate(name, rec, model, out, args, base)
        memory = {"seconds": args.memory_seconds, "config": name, "annotations": len(r["annotations"])}
        memory.update({k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")})
        print(
            f"memory: {args.memory_seconds:g} s, {name}: peak RSS {r['peak_rss_mb']:.0f} MB, wall {r['wall_s']:.0f} s"
        )
        if not args.keep_memory_capture:
            for ext in (".sigmf-data", ".sigmf-meta"):
                Path(str(work / f"capture-{args.memory_seconds:g}s") + ext).unlink(missing_ok=True)
    payload = {
        "sample_rate_hz": FS,
        "short_s": args.short_s,
        "long_s": args.long_s,
        "model": str(args.model)
        if args.model
        else "demo architecture: vit-tiny MAE 224x224, frozen, mix readout, transformer head (random weights)",
        "load_before": os.getloadavg(),
        "bytecode": not args.no_bytecode,
        "rows": rows,
        "runs": {
            n: {
                str(s): [{k: v for k, v in r.items() if k not in ("out", "annotations")} for r in rs]
                for s, rs in v.items()
            }
            for n, v in runs.items()
        },  # fmt: skip
        "memory": memory,
    }
    print(f"wrote {write_results(args.name, payload, args.results_dir)}")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
