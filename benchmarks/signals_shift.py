"""Signal identification away from its training regime: a finished ``radiofm reproduce tasks`` run's signals models
scored on test sets the generator writes with settings the training set never had.

The preset trains on captures at 2.048 MS/s, 8-bit (cu8, as an RTL-SDR records), CFO within ±2 kHz, drift within
±20 Hz/s, fading on 80 % of captures and an SDR front end's impairments. Test regimes (``--per-class`` captures of
each of the 20 classes). Every regime is written with the same seed ``--seed`` (not the preset's test seed), so the
regimes are paired: ``ci16`` holds the very captures of ``same``, quantised otherwise, and the other regimes draw the
same emissions as far as the changed setting leaves the generator's draws in step:

- ``same``: the training settings (what "in distribution" means with a fresh seed);
- ``ci16``: 16-bit samples (another receiver's ADC; no cu8 quantisation);
- ``cfo-10k``: CFO within ±10 kHz and drift within ±200 Hz/s (a poorer oscillator);
- ``clean``: no fading and no receiver impairments (a lab bench);
- ``rate-2.4M``: 2.4 MS/s (another common RTL-SDR rate: a 1024-point FFT has 2.34 kHz bins; checkpoints made
  since session 29 record their training rate and are analysed on its 2 kHz bins instead).

Each model in ``RUN/runs/signals-*`` trained on all labels (frozen, last-2, LoRA, full from the run's backbone,
and scratch) is evaluated on each regime with ``radiofm.tasks.signals_eval.evaluate_signals_run``, as ``radiofm
evaluate signals`` does. Prints a table (accuracy %, and the change against ``same``) and writes
``OUT/signals_shift.json``::

    PYTHONPATH=. .venv/bin/python benchmarks/signals_shift.py --run TASKS_RUN --out OUT [--per-class 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for radiofm

from _common import machine_info, print_table  # noqa: E402  (this script's folder)

REGIMES = {
    "same": ({}, "cu8"),
    "ci16": ({}, "ci16_le"),
    "cfo-10k": ({"cfo_hz_max": 10e3, "drift_hz_per_s_max": 200.0}, "cu8"),
    "clean": ({"fading_probability": 0.0, "receiver_impairments": False}, "cu8"),
    "rate-2.4M": ({"sample_rate_hz": 2.4e6}, "cu8"),
}
MODES = ("frozen", "last-k", "lora", "full", "scratch")


def _runs(run: Path) -> dict[str, Path]:
    """``{"frozen-own": RUN/runs/signals-frozen-own, …, "scratch": …}``: the run's models trained on all labels,
    named as ``reproduce tasks`` names them (:func:`radiofm.reproduce.tasks.run_name`) without the task."""
    from radiofm.reproduce.tasks import run_name

    names = dict.fromkeys(run_name("signals", mode, 1.0, backbone) for mode in MODES for backbone in ("own", "ism"))
    found = {name.removeprefix("signals-"): run / "runs" / name for name in names}
    return {key: path for key, path in found.items() if (path / "model.safetensors").exists()}


def main() -> None:
    from radiofm.data.signals import write_signal_dataset
    from radiofm.synth.signals import CaptureConfig
    from radiofm.tasks.signals_eval import SignalsEvalConfig, evaluate_signals_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished reproduce tasks folder (with signals)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-class", type=int, default=8, help="test captures per class and regime (default 8)")
    ap.add_argument("--seed", type=int, default=100, help="seed of the test sets (the preset's own use 1 and 2)")
    ap.add_argument("--regimes", default=",".join(REGIMES), help="comma list of " + ", ".join(REGIMES))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    regimes = [r for r in args.regimes.split(",") if r]
    unknown = sorted(set(regimes) - set(REGIMES))
    if unknown:
        ap.error(f"unknown regimes {unknown}; choose from {', '.join(REGIMES)}")
    runs = _runs(args.run)
    if not runs:
        ap.error(f"{args.run}/runs holds no signals model trained on all labels")

    results: dict[str, dict[str, float]] = {name: {} for name in runs}
    data_s = {}
    for regime in regimes:
        changes, datatype = REGIMES[regime]
        data = args.out / "data" / regime
        t0 = time.perf_counter()
        if not (data / "manifest.json").exists():
            config = dataclasses.replace(CaptureConfig(), **changes)
            write_signal_dataset(data, per_class=args.per_class, seed=args.seed, config=config,
                                 datatype=datatype, workers=args.workers, progress=False)  # fmt: skip
        data_s[regime] = round(time.perf_counter() - t0, 1)
        for name, path in runs.items():
            report = evaluate_signals_run(path, data, args.out / "eval" / regime / name,
                                          SignalsEvalConfig(progress=False))  # fmt: skip
            results[name][regime] = 100.0 * report["accuracy"]
            print(json.dumps({"regime": regime, "model": name, "accuracy": round(report["accuracy"], 4)}), flush=True)

    rows = []
    for name, acc in results.items():
        row = {"model": name}
        for regime in regimes:
            row[regime] = f"{acc[regime]:.1f}"
            if regime != "same" and "same" in acc:
                row[regime] += f" ({acc[regime] - acc['same']:+.1f})"
        rows.append(row)
    print_table(rows)
    payload = {"run": str(args.run), "per_class": args.per_class, "seed": args.seed, "regimes": regimes,
               "regime_settings": {r: {"capture": REGIMES[r][0], "datatype": REGIMES[r][1]} for r in regimes},
               "accuracy_percent": results, "data_seconds": data_s, "machine": machine_info()}  # fmt: skip
    (args.out / "signals_shift.json").write_text(json.dumps(payload, indent=1))
    print(f"wrote {args.out / 'signals_shift.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
