"""How separable are the synthetic NTU-Fi activities after paper B's preprocessing? (issue 10, sensing stand-in)

Generates (or reuses) a synthetic NTU-Fi folder with ``radiofm.data.ntufi.write_ntufi``, resizes every
recording exactly as the sensing task does (``radiofm.tasks.pooled.resized_stack``: bilinear, anti-aliased, to
3 x S x S), standardises per antenna with the training files' statistics (``pooled.norm_of``), and scores simple
classifiers on the TEST files:

- ``1-NN`` / ``5-NN``: Euclidean nearest neighbours on the standardised resized images (flattened);
- ``ridge``: linear ridge regression onto one-hot labels (dual form), lambda chosen by leave-one-out on the
  training files from a fixed grid;
- ``slow 5-NN``: 5-NN on a few slow summaries of the resized images (per antenna: temporal std, mean |first
  difference|, power in 0.25-1 / 1-3 / 3-8 Hz of the row-mean-removed image, first-vs-last-third level change),
  each standardised on the training files;
- ``raw Doppler 5-NN``: 5-NN on four Doppler summaries of the RAW 2000-packet series (fluctuation power,
  Doppler centroid, fraction above 25 Hz, dB std), the reference that ignores the resize.

    PYTHONPATH=. python benchmarks/sensing_separability.py --data /tmp/ntufi --per-class 30,10 [--sizes 112,224]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from radiofm.data.ntufi import CLASSES, open_ntufi, write_ntufi
from radiofm.synth.csi_har import doppler_summary
from radiofm.tasks import pooled

DURATION_S = 4.0


def knn(train_x, train_y, test_x, k):
    d = (test_x**2).sum(1)[:, None] + (train_x**2).sum(1)[None] - 2 * test_x @ train_x.T
    idx = np.argsort(d, axis=1)[:, :k]
    votes = np.zeros((len(test_x), len(CLASSES)))
    for j in range(k):  # nearer neighbours break ties
        votes[np.arange(len(test_x)), train_y[idx[:, j]]] += 1 + 1e-3 * (k - j)
    return votes.argmax(1)


def ridge(train_x, train_y, test_x, lambdas=(1e-1, 1, 10, 100, 1e3, 1e4, 1e5)):
    y = np.eye(len(CLASSES))[train_y]
    y = y - y.mean(0)
    mu = train_x.mean(0)
    xtr, xte = train_x - mu, test_x - mu
    k = xtr @ xtr.T
    best = (-1.0, None)
    for lam in lambdas:  # leave-one-out accuracy of the dual solution on the training files
        h = k @ np.linalg.inv(k + lam * np.eye(len(k)))
        loo = y - (y - h @ y) / (1 - np.diag(h))[:, None]
        acc = (loo.argmax(1) == train_y).mean()
        if acc > best[0]:
            best = (acc, lam)
    alpha = np.linalg.solve(k + best[1] * np.eye(len(k)), y)
    return (xte @ xtr.T @ alpha).argmax(1), best[1]


def slow_features(img):
    """(3, H, W) resized (not standardised) dB image -> a few slow summaries per antenna."""
    w = img.shape[2]
    fs = w / DURATION_S
    x = img - img.mean(2, keepdims=True)  # remove each subcarrier's level: only the time variation
    spec = np.abs(np.fft.rfft(x, axis=2)) ** 2
    f = np.fft.rfftfreq(w, 1 / fs)
    bands = [spec[..., (f >= lo) & (f < hi)].sum(2).mean(1) for lo, hi in ((0.25, 1), (1, 3), (3, 8))]
    third = w // 3
    change = np.abs(img[..., -third:].mean(2) - img[..., :third].mean(2)).mean(1)
    feats = [x.std(2).mean(1), np.abs(np.diff(img, axis=2)).mean((1, 2)), *np.log(np.array(bands) + 1e-6), change]
    return np.concatenate([np.atleast_1d(v) for v in feats])


def zscore(train, test):
    mu, sd = train.mean(0), train.std(0) + 1e-12
    return (train - mu) / sd, (test - mu) / sd


def score(pred, truth):
    per = {c: float((pred[truth == i] == i).mean()) for i, c in enumerate(CLASSES) if (truth == i).any()}
    return {"accuracy": float((pred == truth).mean()), "per_class": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="NTU-Fi folder (generated when missing)")
    ap.add_argument("--per-class", default="30,10", help="train,test files per class when generating")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="112,224", help="resized image sizes S (3 x S x S)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    if not args.data.exists():
        n_train, n_test = (int(v) for v in args.per_class.split(","))
        t0 = time.perf_counter()
        write_ntufi(args.data, n_train, n_test, seed=args.seed, progress=False)
        print(f"generated {args.data} in {time.perf_counter() - t0:.0f} s")
    train, test = open_ntufi(args.data, "train"), open_ntufi(args.data, "test")
    ytr, yte = np.asarray(train.labels), np.asarray(test.labels)
    results = {"data": str(args.data), "train": len(train), "test": len(test)}
    raw_tr = np.array([doppler_summary(train.read(i)) for i in range(len(train))])
    raw_te = np.array([doppler_summary(test.read(i)) for i in range(len(test))])
    raw_tr, raw_te = zscore(raw_tr, raw_te)
    results["raw Doppler 5-NN"] = score(knn(raw_tr, ytr, raw_te, 5), yte)
    for size in (int(s) for s in args.sizes.split(",")):
        xtr = pooled.resized_stack(train.read, range(len(train)), (size, size))
        xte = pooled.resized_stack(test.read, range(len(test)), (size, size))
        std = pooled.standardiser(pooled.norm_of(xtr, range(len(xtr)), source="train"))
        ftr = np.stack([std(x) for x in xtr]).reshape(len(xtr), -1).astype(np.float64)
        fte = np.stack([std(x) for x in xte]).reshape(len(xte), -1).astype(np.float64)
        results[f"{size} 1-NN"] = score(knn(ftr, ytr, fte, 1), yte)
        results[f"{size} 5-NN"] = score(knn(ftr, ytr, fte, 5), yte)
        pred, lam = ridge(ftr, ytr, fte)
        results[f"{size} ridge"] = {**score(pred, yte), "lambda": lam}
        str_, ste = zscore(np.array([slow_features(x) for x in xtr]), np.array([slow_features(x) for x in xte]))
        results[f"{size} slow 5-NN"] = score(knn(str_, ytr, ste, 5), yte)
    for name, r in results.items():
        if isinstance(r, dict):
            per = " ".join(f"{c} {100 * v:.0f}" for c, v in r["per_class"].items())
            print(f"{name:18s} {100 * r['accuracy']:5.1f} %   ({per})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
