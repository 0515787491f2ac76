"""Few-shot classification from three embeddings, on the same k shots: the MAE foundation-model encoder's
prototypes, the episodic ProtoBeam network's prototypes, and a supervised linear head on the MAE features;
plus prototypes of the untrained log-spectrum as a no-learning reference. Every embedding's prototypes are scored
plain and with every dimension standardised by the support set's statistics (the comparison ProtoBeam trains
for since session 22, ``norm="support"``).

Two tasks:

- **beams**: a front end the ProtoBeam network never saw (TOTA: support and queries from ``--front-end``),
  every beam per episode. MAE inputs are 2048-sample frames as short-window spectrograms (window 64) resized to
  the model's input size — far from its 16 ms pretraining segments;
- **signal identification**: the ISM corpus classes (wifi-ofdm, wifi-dsss, bluetooth, ble, zigbee, microwave,
  lte, nr), one example per ``core:label`` annotation of held-out recordings at one sample rate: the encoder's
  16 ms segment (MAE) or a 2048-sample frame (ProtoBeam network, trained on beams: cross-task) from the
  annotation's start. Windows hold whatever else was on the air: labels are of the annotated emission only.

Episodes: k shots per class + ``--queries`` queries, drawn as in radiofm.tasks.fewshot_eval (seeded per k and
episode, so every method sees the same shots). The linear head: standardised features, softmax regression
(Adam, 200 steps, weight decay 1e-3) trained on the k shots only.

    .venv/bin/python benchmarks/fewshot_encoders.py --mae RUN --protobeam RUN --beams DIR --ism DIR --out R.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from radiofm.tasks.fewshot import EpisodeConfig, sample_episode
from radiofm.tasks.fewshot_eval import FewShotEvalConfig, episode_accuracies, log_spectrum_embed, summarise


def linear_head_accuracies(emb: np.ndarray, labels: np.ndarray, k: int, cfg: FewShotEvalConfig) -> np.ndarray:
    """Accuracy per episode of a softmax regression trained on the episode's k shots (same draws as prototypes)."""
    n_classes = len(np.unique(labels))
    ecfg = EpisodeConfig(n_way=n_classes, n_support=k, n_query=cfg.n_query)
    accs = np.empty(cfg.episodes)
    for e in range(cfg.episodes):
        ep = sample_episode(labels, ecfg, np.random.default_rng(np.random.SeedSequence([cfg.seed, k, e])))
        xs, xq = emb[ep.support.reshape(-1)], emb[ep.query.reshape(-1)]
        mu, sd = xs.mean(0), xs.std(0) + 1e-6
        xs_t, xq_t = (torch.from_numpy((x - mu) / sd).float() for x in (xs, xq))
        ys = torch.arange(n_classes).repeat_interleave(k)
        torch.manual_seed(e)
        head = torch.nn.Linear(emb.shape[1], n_classes)
        opt = torch.optim.Adam(head.parameters(), lr=1e-2, weight_decay=1e-3)
        for _ in range(200):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(head(xs_t), ys).backward()
            opt.step()
        pred = head(xq_t).argmax(1).numpy()
        accs[e] = np.mean(pred == np.repeat(np.arange(n_classes), cfg.n_query))
    return accs


def compare(embeddings: dict[str, np.ndarray], labels: np.ndarray, cfg: FewShotEvalConfig, head_on: str) -> dict:
    classes, idx = np.unique(labels, return_inverse=True)
    out = {}
    for name, e in embeddings.items():  # plain prototypes, and with the support set's standardisation (session 22)
        for norm, suffix in ((None, ""), ("support", ", support-standardised")):
            out[name + suffix] = summarise({k: episode_accuracies(e, idx, k, cfg, norm=norm) for k in cfg.shots})
    out[f"linear head on {head_on}"] = summarise(
        {k: linear_head_accuracies(embeddings[head_on], idx, k, cfg) for k in cfg.shots}
    )
    return {"classes": [str(c) for c in classes], "results": out}


def beams(args, mae, protobeam) -> dict:
    from radiofm.data.deepbeam import load_front_end
    from radiofm.tasks.fewshot_eval import embed_frames

    d = load_front_end(args.beams, args.front_end)
    iq = d.frames[:, 0] + 1j * d.frames[:, 1]
    t0 = time.perf_counter()
    emb = {
        "MAE encoder prototypes": mae.embed(iq.astype(np.complex64), 2.64e9),
        "ProtoBeam network prototypes": embed_frames(protobeam, d.frames),
        "log-spectrum prototypes (no learning)": log_spectrum_embed(d.frames),
    }
    cfg = FewShotEvalConfig(shots=tuple(args.shots), episodes=args.episodes, n_query=args.queries)
    return {
        "front_end": d.front_end,
        "embed_s": round(time.perf_counter() - t0, 1),
        **compare(emb, d.tx_beam, cfg, "MAE encoder prototypes"),
    }


def signal_id(args, mae, protobeam) -> dict:
    from radiofm.data.recording_open import open_recording
    from radiofm.data.sources import find_recordings
    from radiofm.tasks.fewshot_eval import embed_frames

    rng = np.random.default_rng(0)
    per_class: dict[str, list[tuple[Path, int]]] = {}
    rate = None
    for p in find_recordings(args.ism):
        rec = open_recording(p)
        rate = rate or rec.sample_rate_hz
        if rec.sample_rate_hz != rate:
            raise SystemExit(f"{p}: the ISM folder must hold one sample rate")
        for a in rec.annotations:
            per_class.setdefault(a.label, []).append((p, int(a.sample_start)))
    seg = mae.unit_len(rate)
    need = max(args.shots) + args.queries
    examples = []
    for label, items in sorted(per_class.items()):
        if len(items) < need:
            continue
        pick = rng.choice(len(items), min(len(items), args.max_per_class), replace=False)
        examples += [(label, *items[i]) for i in sorted(pick)]
    units_mae, units_iq, labels = [], [], []
    for label, p, start in examples:
        rec = open_recording(p)
        s = max(0, min(start, rec.n_samples - seg))
        units_mae.append(rec.read(s, seg))
        units_iq.append(rec.read(max(0, min(start, rec.n_samples - 2048)), 2048))
        labels.append(label)
    t0 = time.perf_counter()
    iq = np.stack(units_iq)
    emb = {
        "MAE encoder prototypes": np.concatenate(
            [mae.embed(np.stack(units_mae[i : i + 16]), rate) for i in range(0, len(units_mae), 16)]
        ),
        "ProtoBeam network prototypes (trained on beams)": embed_frames(
            protobeam, np.stack([iq.real, iq.imag], 1).astype(np.float32)
        ),
        "log-spectrum prototypes (no learning)": log_spectrum_embed(np.stack([iq.real, iq.imag], 1).astype(np.float32)),
    }
    cfg = FewShotEvalConfig(shots=tuple(args.shots), episodes=args.episodes, n_query=args.queries)
    labels = np.array(labels)
    return {
        "sample_rate_hz": rate,
        "examples": int(len(labels)),
        "embed_s": round(time.perf_counter() - t0, 1),
        **compare(emb, labels, cfg, "MAE encoder prototypes"),
    }


def main() -> None:
    from radiofm.tasks.fewshot_encoder import load_encoder
    from radiofm.tasks.fewshot_eval import load_protonet_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mae", required=True, help="pretrained ViT-MAE checkpoint (radiofm pretrain)")
    ap.add_argument("--protobeam", required=True, help="ProtoBeam run (radiofm fewshot train)")
    ap.add_argument("--beams", required=True, help="DeepBeam folder")
    ap.add_argument("--front-end", default="tx-ant-1", help="the new front end (default tx-ant-1)")
    ap.add_argument("--ism", required=True, help="held-out ISM recordings of one sample rate")
    ap.add_argument("--shots", type=int, nargs="+", default=[2, 8, 32])
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--queries", type=int, default=8)
    ap.add_argument("--max-per-class", type=int, default=60)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    mae = load_encoder(args.mae)
    protobeam, _ = load_protonet_run(args.protobeam)
    report = {
        "beams": beams(args, mae, protobeam),
        "signal_id": signal_id(args, mae, protobeam),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    args.out.write_text(json.dumps(report, indent=2))
    for task in ("beams", "signal_id"):
        print(f"\n{task}: {len(report[task]['classes'])} classes")
        for name, r in report[task]["results"].items():
            print(f"  {name:50s} " + "  ".join(f"{k}-shot {100 * v:5.1f}" for k, v in r["accuracy"].items()))


if __name__ == "__main__":
    main()
