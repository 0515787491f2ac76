"""Are `fewshot classify`'s scores honest? The top score against how often the top class is right, with the
scores over raw squared distances (before session 58) and over the temperature the support set measures
(radiofm.tasks.fewshot_encoder.fit_temperature).

Data as the signal-identification half of ``benchmarks/fewshot_encoders.py``: one example per ``core:label``
annotation of an ISM folder's recordings at the first one's sample rate, embedded by the MAE encoder of ``--mae``
(its 16 ms segment from the annotation's start). Each episode draws k examples per class as the support set and
``--queries`` others per class as queries (seeded), forms the prototypes and scores the queries both ways. Printed
and written per k: the accuracy, the mean top score and the expected calibration error (10 bins of the top score;
0 = a top score of p is right a share p of the time).

    PYTHONPATH=. .venv/bin/python benchmarks/fewshot_calibration.py --mae DEMO/pretrain --ism DEMO/ism \\
        --out benchmarks/results/fewshot_calibration.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def calibration_error(top: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of top scores ``top`` (N,) against ``right`` (N,) booleans."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(top, edges) - 1, 0, bins - 1)
    err = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            err += sel.mean() * abs(top[sel].mean() - right[sel].mean())
    return float(err)


def embed_ism(mae_path: Path, ism: Path, max_per_class: int, rng: np.random.Generator):
    from radiofm.data.recording_open import open_recording
    from radiofm.data.sources import find_recordings
    from radiofm.tasks.fewshot_encoder import load_encoder

    mae = load_encoder(mae_path)
    per_class: dict[str, list[tuple[Path, int]]] = {}
    rate = None
    for p in find_recordings(ism):
        rec = open_recording(p)
        rate = rate or rec.sample_rate_hz
        if rec.sample_rate_hz != rate:  # prototypes compare spectrograms of one rate
            continue
        for a in rec.annotations:
            per_class.setdefault(a.label, []).append((p, int(a.sample_start)))
    seg = mae.unit_len(rate)
    units, labels = [], []
    for label, items in sorted(per_class.items()):
        for i in sorted(rng.choice(len(items), min(len(items), max_per_class), replace=False)):
            p, start = items[i]
            rec = open_recording(p)
            units.append(rec.read(max(0, min(start, rec.n_samples - seg)), seg))
            labels.append(label)
    emb = np.concatenate([mae.embed(np.stack(units[i : i + 16]), rate) for i in range(0, len(units), 16)])
    return emb, np.array(labels), mae.test_norm


def main() -> None:
    from radiofm.tasks.fewshot_encoder import fit_temperature, prototype_scores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mae", type=Path, required=True)
    ap.add_argument("--ism", type=Path, required=True)
    ap.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--queries", type=int, default=8)
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--max-per-class", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    emb, labels, norm = embed_ism(args.mae, args.ism, args.max_per_class, rng)
    classes = [c for c in np.unique(labels) if (labels == c).sum() >= max(args.shots) + args.queries]
    print(f"{len(labels)} examples, classes {', '.join(classes)}")
    print("| k | accuracy | raw distances: mean top score / ECE | with the temperature: mean top score / ECE |")
    print("|---|---|---|---|")
    rows = {}
    for k in args.shots:
        top_raw, top_t, right, temps = [], [], [], []
        for _ in range(args.episodes):
            s_idx, q_idx = [], []
            for c in classes:
                pick = rng.permutation(np.flatnonzero(labels == c))
                s_idx += list(pick[:k])
                q_idx += list(pick[k : k + args.queries])
            s_lab = np.array([classes.index(labels[i]) for i in s_idx])
            q_lab = np.array([classes.index(labels[i]) for i in q_idx])
            support = emb[s_idx]
            temperature, _ = fit_temperature(support, s_lab, np.arange(len(s_idx)), norm)
            protos = {"support": support, "support_labels": s_lab, "norm": norm}
            raw = prototype_scores(emb[q_idx], protos)
            cal = prototype_scores(emb[q_idx], protos | {"temperature": temperature})
            right.append(cal.argmax(1) == q_lab)
            top_raw.append(raw.max(1))
            top_t.append(cal.max(1))
            temps.append(temperature)
        right_a, raw_a, t_a = np.concatenate(right), np.concatenate(top_raw), np.concatenate(top_t)
        row = {
            "accuracy": round(float(right_a.mean()), 4),
            "raw": {"mean_top": round(float(raw_a.mean()), 4), "ece": round(calibration_error(raw_a, right_a), 4)},
            "temperature": {"mean_top": round(float(t_a.mean()), 4), "ece": round(calibration_error(t_a, right_a), 4)},
            "temperature_median": float(np.median(temps)),
        }
        rows[str(k)] = row
        print(
            f"| {k} | {row['accuracy']:.3f} | {row['raw']['mean_top']:.3f} / {row['raw']['ece']:.3f} | "
            f"{row['temperature']['mean_top']:.3f} / {row['temperature']['ece']:.3f} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"mae": str(args.mae), "ism": str(args.ism), "classes": classes, "norm": norm, "rows": rows})
            + "\n"
        )


if __name__ == "__main__":
    main()
