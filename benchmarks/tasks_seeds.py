"""More fine-tuning seeds for a finished ``radiofm reproduce tasks`` run: the label-efficiency comparison
(the curve's mode from the own or ISM backbone, against scratch) repeated with other training seeds.

The backbone and the data are the run's own: only the fine-tuning seed changes (which images are held out for
validation, which labels a fraction keeps, the head's initialisation, the batch order). Each seed gets a folder
``OUT/seed-<S>`` whose ``data`` and backbone link to the run's, and the preset's own fine-tuning step
(``radiofm.reproduce.tasks._finetune``) runs there, so the settings are the preset's to the letter. Prints a table
and writes ``OUT/tasks_seeds.json``::

    PYTHONPATH=. .venv/bin/python benchmarks/tasks_seeds.py --run TASKS_RUN --out OUT --tasks signals --seeds 1,2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path


def _metric(report: dict) -> float:
    """The task's headline figure: accuracy (sensing, signals) or mean error in metres (positioning)."""
    return report.get("accuracy", report.get("mean_error_m"))


def main() -> None:
    from radiofm.reproduce.tasks import PRESETS, _finetune, backbone_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished reproduce tasks folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--preset", default="cpu", choices=tuple(PRESETS))
    ap.add_argument("--tasks", default="signals")
    ap.add_argument("--backbone", default="own", choices=("own", "ism"))
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--fractions", default="0.01,0.1,1.0")
    args = ap.parse_args()
    if not (args.run / "data").is_dir():
        ap.error(f"{args.run} is not a reproduce tasks folder (no data/ in it)")
    base = PRESETS[args.preset]
    tasks = [t for t in args.tasks.split(",") if t]
    seeds = [int(v) for v in args.seeds.split(",") if v]
    fractions = [float(v) for v in args.fractions.split(",") if v]
    rows = []
    for seed in seeds:
        s = dataclasses.replace(base, seed=seed)
        out = args.out / f"seed-{seed}"
        (out / "runs").mkdir(parents=True, exist_ok=True)
        if not (out / "data").exists():
            (out / "data").symlink_to((args.run / "data").resolve())
        for task in tasks:
            src = backbone_path(args.run, base, task, args.backbone)
            dst = backbone_path(out, s, task, args.backbone)
            if not dst.exists():
                dst.symlink_to(src.resolve())
            for fraction in fractions:
                for mode in (base.curve_mode, "scratch"):
                    r = _finetune(task, mode, fraction, out, s, None, backbone=args.backbone)
                    rows.append({"seed": seed, **r})
                    keys = ("seed", "task", "mode", "fraction")
                    print(json.dumps({k: rows[-1][k] for k in keys} | {"metric": _metric(r)}))
    summary = {}
    for task in tasks:
        for fraction in fractions:
            for mode in (base.curve_mode, "scratch"):
                vals = [_metric(r) for r in rows if (r["task"], r["mode"], r["fraction"]) == (task, mode, fraction)]
                summary[f"{task} {mode} {fraction:g}"] = {"values": vals, "mean": statistics.mean(vals)}
    print("| task | mode | label fraction | per seed | mean |")
    print("|---|---|---|---|---|")
    for key, v in summary.items():
        task, mode, fraction = key.split()
        print(f"| {task} | {mode} | {fraction} | {' / '.join(f'{x:.4g}' for x in v['values'])} | {v['mean']:.4g} |")
    (args.out / "tasks_seeds.json").write_text(
        json.dumps(
            {"args": vars(args) | {"run": str(args.run), "out": str(args.out)}, "rows": rows, "summary": summary},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
