"""ProtoBeam design choices on validation front ends (docs/RESULTS.md, few-shot beams, follow-up).

Validation units ``tx-ant-4`` and ``tx-ant-5`` come from the same generator seed and room as the test set of
``radiofm reproduce protobeam`` (units 0–3 are unchanged when more units are drawn), so choices can be made
without looking at the test units ``tx-ant-1/2/3``. Trains one prototypical network on ``tx-ant-0`` with the
given ProtoTrainConfig overrides and prints one JSON line: TOTA (mean over the validation units) and TTSA.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/protobeam_validation.py --data /tmp/val \\
        --name full --overrides '{"proto_norm_mode": "cosine", "augment_stage": "raw"}' --seed 0 --episodes 400
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

VALIDATION = ("tx-ant-4", "tx-ant-5")


def main() -> None:
    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.synth.beams import BeamConfig
    from radiofm.tasks.fewshot import EpisodeConfig, ProtoTrainConfig, train_protonet
    from radiofm.tasks.fewshot_eval import FewShotEvalConfig, evaluate_run, load_protonet_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="validation folder (generated when missing)")
    ap.add_argument("--name", default="run")
    ap.add_argument(
        "--overrides", default="{}", help='JSON of ProtoTrainConfig fields ("episode": {"n_way": 24, ...} allowed)'
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--episodes", type=int, default=400)
    ap.add_argument(
        "--units",
        default=",".join(VALIDATION),
        help="front ends scored for TOTA (default: the validation units; tx-ant-1,tx-ant-2,tx-ant-3 are the test "
        "units, to measure a chosen setting over more seeds, never to choose one)",
    )
    args = ap.parse_args()
    units = tuple(u for u in args.units.split(",") if u)
    torch.set_num_threads(1)
    if not (args.data / "manifest.json").exists():
        generate_beam_dataset(
            args.data,
            BeamConfig(n_front_ends=6),
            seed=0,
            aoa=False,
            front_ends=sorted({0, *(int(u.rsplit("-", 1)[1]) for u in units)}),
            workers=2,
            progress=False,
        )
    overrides = json.loads(args.overrides)
    if isinstance(overrides.get("episode"), dict):
        overrides["episode"] = EpisodeConfig(**overrides["episode"])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = ProtoTrainConfig(
            data=str(args.data),
            front_end="tx-ant-0",
            episodes=args.episodes,
            seed=args.seed,
            device="cpu",
            progress=False,
            save_every_steps=0,
            **overrides,
        )
        train_protonet(cfg, Path(tmp) / "run")
        model, record = load_protonet_run(Path(tmp) / "run")
        ecfg = FewShotEvalConfig(shots=(2, 8, 32), episodes=100, n_query=16, seed=0, progress=False)
        res = {fe: evaluate_run(model, record, args.data, fe, ecfg)["accuracy"] for fe in (*units, "tx-ant-0")}
    scale = model.scale()
    print(
        json.dumps(
            {
                "name": args.name,
                "seed": args.seed,
                "episodes": args.episodes,
                "overrides": json.loads(args.overrides),
                "tota": {k: round(100 * float(np.mean([res[fe][k] for fe in units])), 1) for k in res["tx-ant-0"]},
                "tota_by_unit": {fe: {k: round(100 * v, 1) for k, v in res[fe].items()} for fe in units},
                "ttsa": {k: round(100 * v, 1) for k, v in res["tx-ant-0"].items()},
                "scale": scale.item() if torch.is_tensor(scale) else scale,
                "seconds": round(time.perf_counter() - t0),
            }
        )
    )


if __name__ == "__main__":
    main()
