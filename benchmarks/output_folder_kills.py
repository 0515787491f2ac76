"""Kill every generator mid-rewrite and check its output folder (session 54: output folders keep what radiofm did
not write).

For each generator: write a complete output (seed 1), put a user's file ``mine.txt`` in it, then rewrite it
``--kills`` times with new seeds, killing the command's process group with SIGKILL at a random moment of each
rewrite. After every kill the folder must be whole (its manifest has one of the seeds written so far, never a mix
or nothing) and still hold ``mine.txt``. A last rewrite runs to completion; nothing may be left beside the folder
(no temporary or set-aside name). Baseline: the same check on the folder as it was before the rewrite.

    python benchmarks/output_folder_kills.py [--kills 6] [--seed 54] [--work DIR] [--only nrlte ism ...] [--name STEM]

Prints one row per generator and writes ``benchmarks/results/output_folder_kills.json``. POSIX only (process
groups and SIGKILL).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table, write_results

GENERATORS = {  # small sizes: each run takes a few seconds on 2 cores
    "nrlte": (["nrlte", "--frames", "24", "--workers", "2"], "manifest.json"),
    "ism": (["ism", "--recordings", "12", "--workers", "2"], "corpus.json"),
    "beams": (["beams", "--front-ends", "2", "--frames", "2", "--codebook", "12", "--workers", "2"], "manifest.json"),
    "signals": (
        ["signals", "--per-class", "2", "--duration", "0.05", "--classes", "fm,ais,vor", "--workers", "2"],
        "manifest.json",
    ),  # fmt: skip
    "sensing": (
        ["sensing", "--train-per-class", "3", "--test-per-class", "1", "--workers", "2"],
        "radiofm-synthetic.json",
    ),  # fmt: skip
    "positioning": (["positioning", "--train", "400", "--test", "100"], "scene.json"),
}


def _generate(name: str, out: Path, seed: int) -> list[str]:
    args, _ = GENERATORS[name]
    return [sys.executable, "-m", "radiofm", "generate", *args, "--no-progress", "--out", str(out), "--seed", str(seed)]


def _seed_of(out: Path, manifest: str):
    try:
        return json.loads((out / manifest).read_text()).get("seed")
    except (OSError, ValueError) as exc:
        return f"unreadable: {type(exc).__name__}"


def check_generator(name: str, work: Path, kills: int, rng: random.Random, env: dict) -> dict:
    base = work / name
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    out, manifest = base / "out", GENERATORS[name][1]
    t0 = time.perf_counter()
    subprocess.run(_generate(name, out, 1), check=True, env=env, capture_output=True)
    full_s = time.perf_counter() - t0
    (out / "mine.txt").write_text("keep")
    whole = _seed_of(out, manifest) == 1 and (out / "mine.txt").is_file()  # the baseline: before any kill
    killed = finished = 0
    for k in range(kills):
        seed = 2 + k
        proc = subprocess.Popen(_generate(name, out, seed), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        time.sleep(rng.uniform(0.3, 1.1 * full_s))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and its workers, as a terminal's kill would
            killed += 1
        else:
            finished += 1
        proc.wait()
        time.sleep(0.3)
        whole &= _seed_of(out, manifest) in range(1, seed + 1) and (out / "mine.txt").read_text() == "keep"
    subprocess.run(_generate(name, out, 99), check=True, env=env, capture_output=True)
    left = sorted(p.name for p in base.iterdir() if p.name != "out")
    return {
        "generator": name,
        "run_s": round(full_s, 1),
        "killed": killed,
        "finished_first": finished,
        "whole_after_each": whole,
        "user_file_kept": (out / "mine.txt").read_text() == "keep",
        "left_beside": ",".join(left) or "-",
        "final_seed": _seed_of(out, manifest),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=6, help="rewrites killed per generator (default 6)")
    ap.add_argument("--seed", type=int, default=54, help="seed of the kill moments (default 54)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--only", nargs="+", choices=sorted(GENERATORS), default=None, help="these generators only")
    ap.add_argument("--name", default="output_folder_kills", help="results file stem (default output_folder_kills)")
    args = ap.parse_args()
    if os.name != "posix":
        print("output_folder_kills: needs POSIX process groups", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="radiofm-kills-"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rng = random.Random(args.seed)
    rows = [check_generator(n, work, args.kills, rng, env) for n in (args.only or GENERATORS)]
    print_table(rows)
    path = write_results(args.name, {"kills_per_generator": args.kills, "seed": args.seed, "rows": rows})
    print(f"wrote {path}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    ok = all(r["whole_after_each"] and r["user_file_kept"] and r["left_beside"] == "-" for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
