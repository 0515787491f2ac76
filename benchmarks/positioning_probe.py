"""What a frozen encoder keeps of the UE position: ridge probes on its features, by channel adaptation.

For the positioning files (``radiofm generate positioning``) and a 1-channel MAE checkpoint, encode every training
and test UE with the frozen encoder — pretrained weights or the same architecture freshly initialised (seed 0) —
under each channel adaptation of :mod:`radiofm.tasks.pooled` (``mean``: the 4 base stations' images through the
widened patch embedding, i.e. their mean; ``separate``: each station through the 1-channel encoder, features
concatenated per station), then fit a closed-form ridge regression (features standardised with the training
items' statistics) from the token mean of the last level, or of every level, to the position. Baselines in the
same run: the training positions' mean, and ridge on the standardised pixels. Prints a table (mean test error in
metres, best λ of the grid) and writes ``benchmarks/results/<--name>.json``.

    PYTHONPATH=. .venv/bin/python benchmarks/positioning_probe.py --data RUN/data/positioning --init RUN/runs/mae
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from _common import print_table, write_results

LAMBDAS = (1.0, 10.0, 100.0, 1000.0)


def ridge_error(a: np.ndarray, b: np.ndarray, y: np.ndarray, y_test: np.ndarray, lam: float) -> float:
    """Mean Euclidean test error of ridge (with intercept) fitted on (a, y), applied to b."""
    mu, sd = a.mean(0), a.std(0) + 1e-6
    a1 = np.c_[(a - mu) / sd, np.ones(len(a))]
    b1 = np.c_[(b - mu) / sd, np.ones(len(b))]
    if a1.shape[1] > a1.shape[0]:  # dual form when there are more features than items
        w = a1.T @ np.linalg.solve(a1 @ a1.T + lam * np.eye(len(a1)), y)
    else:
        w = np.linalg.solve(a1.T @ a1 + lam * np.eye(a1.shape[1]), a1.T @ y)
    return float(np.linalg.norm(b1 @ w - y_test, axis=1).mean())


def best(a, b, y, y_test) -> dict:
    errs = {lam: ridge_error(a, b, y, y_test, lam) for lam in LAMBDAS}
    lam = min(errs, key=errs.get)
    return {"error_m": round(errs[lam], 3), "lambda": lam}


def encoder_levels(init: Path, adapt: str, pretrained: bool, images: dict) -> dict:
    """{"train", "test"}: float32 (N, C', levels, D) token means per level (C' = C separate, 1 mean)."""
    from radiofm.tasks import pooled
    from radiofm.tasks.positioning import PositioningConfig

    channels = images["train"].shape[1]
    config = PositioningConfig(init=init, mode="frozen" if pretrained else "scratch", adapt=adapt)
    family, bcfg, _ = pooled.backbone_for(config, channels)
    head = pooled.pooled_head(config, bcfg, channels, 3, (), 0.0)
    model, _, _ = pooled.build_model("positioning", family, bcfg, head, images["norm"], config, seed=0,
                                     task_config={})  # fmt: skip
    model.eval()
    std = pooled.standardiser(images["norm"])
    out = {}
    with torch.no_grad():
        for split in ("train", "test"):
            parts = []
            for s in range(0, len(images[split]), 64):
                x = model.normalize(torch.from_numpy(np.stack([std(v) for v in images[split][s : s + 64]])))
                xs = [x[:, c : c + 1] for c in range(channels)] if adapt == "separate" else [x]
                levels = [model.backbone.forward_levels(v).mean(dim=2) for v in xs]  # (B, levels, D) each
                parts.append(torch.stack(levels, dim=1).numpy())
            out[split] = np.concatenate(parts)
    return out


def main() -> None:
    from radiofm.data.positioning import open_positioning
    from radiofm.models.checkpoint import read_checkpoint_info
    from radiofm.tasks import pooled

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with train.mat and test.mat")
    ap.add_argument("--init", type=Path, required=True, help="1-channel MAE checkpoint")
    ap.add_argument("--name", default="positioning_probe", help="results file name (benchmarks/results/NAME.json)")
    args = ap.parse_args()
    torch.manual_seed(0)
    train, test = open_positioning(args.data / "train.mat"), open_positioning(args.data / "test.mat")
    size = tuple(read_checkpoint_info(args.init)["config"]["img_size"])
    images = {
        "train": pooled.resized_stack(train.features.__getitem__, range(len(train)), size),
        "test": pooled.resized_stack(test.features.__getitem__, range(len(test)), size),
    }
    images["norm"] = pooled.norm_of(images["train"], range(len(images["train"])), source=str(args.data))
    y, y_test = train.positions, test.positions
    std = pooled.standardiser(images["norm"])
    flat = {k: np.stack([std(v) for v in images[k]]).reshape(len(images[k]), -1) for k in ("train", "test")}
    rows = [
        {
            "features": "none: the training positions' mean",
            "error_m": round(float(np.linalg.norm(y.mean(0) - y_test, axis=1).mean()), 3),
        },
        {"features": "standardised pixels", **best(flat["train"], flat["test"], y, y_test)},
    ]
    for adapt in ("mean", "separate"):
        for pretrained in (True, False):
            f = encoder_levels(args.init, adapt, pretrained, images)
            name = f"adapt={adapt}, {'pretrained' if pretrained else 'random init'}"
            n, m = len(f["train"]), len(f["test"])
            last = best(f["train"][:, :, -1].reshape(n, -1), f["test"][:, :, -1].reshape(m, -1), y, y_test)
            every = best(f["train"].reshape(n, -1), f["test"].reshape(m, -1), y, y_test)
            rows.append({"features": f"{name}: last level", **last})
            rows.append({"features": f"{name}: every level", **every})
    print_table(rows)
    report = {"data": str(args.data), "init": str(args.init), "train": len(train), "test": len(test), "rows": rows}
    print(f"wrote {write_results(args.name, report)}")


if __name__ == "__main__":
    main()
