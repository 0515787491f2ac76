"""Does an encoder pretrained on the NR/LTE frames themselves give the demo's segmentation head a better model?

Issue 8's demo target (in-distribution pixel mean per-class accuracy >= 0.90) is missed by the demo's model: a
frozen encoder pretrained on the ISM corpus, with a ``mix`` head (0.788). This benchmark pretrains the same MAE
(vit-tiny, 224 x 224) on the demo's NR/LTE training spectrograms with their labels unused, each resized
(anti-aliased bilinear) and standardised per image as the segmentation model standardises its input, then trains
the demo's frozen head on it with the demo's settings (:class:`radiofm.reproduce.demo.DemoSettings`) and scores it
on the demo's test set and its held-out regime from both generators, beside the demo's own model on the same sets.

Needs a finished ``make demo`` folder (``--demo DIR``: its ``nrlte-train``, ``nrlte-test``, ``held-out`` and
``segmentation``). Prints a table and writes ``benchmarks/results/<--name>.json``::

    PYTHONPATH=. .venv/bin/python benchmarks/nrlte_own_pretrain.py --demo demo-out --work /tmp/own [--epochs 12]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from _common import print_table, write_results

from radiofm.dsp.resize import resize
from radiofm.reproduce.demo import DemoSettings
from radiofm.reproduce.generalisation import evaluate_fold, row
from radiofm.tasks.finetune import DEFAULT_TRAIN as FINETUNE_TRAIN
from radiofm.tasks.pretrain_mae import MAEPretrainConfig, pretrain_mae_on_images
from radiofm.tasks.segmentation import SegmentationConfig, finetune_segmentation
from radiofm.tasks.segmentation_eval import evaluate_segmentation_run
from radiofm.tasks.task_inputs import per_image_standardised
from radiofm.train import TrainConfig


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", type=Path, required=True, help="a finished `make demo` output folder")
    p.add_argument("--work", type=Path, required=True, help="folder for the encoder, the head and the evaluations")
    p.add_argument("--epochs", type=int, default=12, help="pretraining epochs (default 12, as the demo's)")
    p.add_argument("--name", default="nrlte_own_pretrain")
    args = p.parse_args()
    s, demo, work = DemoSettings(), args.demo, args.work
    missing = [n for n in ("nrlte-train", "nrlte-test", "held-out", "segmentation") if not (demo / n).is_dir()]
    if missing:
        raise SystemExit(f"{demo}: not a finished `make demo` folder (no {', '.join(missing)})")
    t0 = time.perf_counter()
    spec = np.load(demo / "nrlte-train" / "spectrograms.npy")
    images = per_image_standardised(np.stack([resize(x, (224, 224)) for x in spec])[:, None])
    train = TrainConfig(epochs=args.epochs, batch_size=32, lr=5e-4, warmup_epochs=1, seed=s.seed, fast="on",
                        progress=False)  # fmt: skip
    pre = pretrain_mae_on_images(images, MAEPretrainConfig(model="vit-tiny", image_size=(224, 224)), train,
                                 work / "pretrain", source=f"{demo / 'nrlte-train'} (labels unused)")  # fmt: skip
    pretrain_s = time.perf_counter() - t0
    config = SegmentationConfig(init=work / "pretrain", mode="frozen", readout=s.seg_readout,
                                class_weights=s.seg_class_weights)  # fmt: skip
    head = dataclasses.replace(FINETUNE_TRAIN, epochs=s.seg_epochs, batch_size=s.seg_batch, lr=float(s.seg_lr),
                               seed=s.seed, progress=False)  # fmt: skip
    finetune_segmentation(demo / "nrlte-train", config, head, work / "segmentation")
    rows = []
    for name, run in (("ISM encoder (the demo's model)", demo / "segmentation"), ("own NR/LTE encoder",
                                                                                  work / "segmentation")):  # fmt: skip
        tag = "demo" if run.parent == demo else "own"
        inside = row(evaluate_segmentation_run(run, demo / "nrlte-test", work / f"{tag}-eval"))
        held = evaluate_fold(run, demo / "held-out", work / f"{tag}-held-out")
        rows.append({
            "encoder": name,
            "in_distribution": round(inside["pixel_mean_class_accuracy"], 4),
            **{f"in_{k}": round(v, 4) for k, v in inside["pixel_accuracy_per_class"].items()},
            "in_carrier_NR": round(inside["carrier_accuracy_NR"], 4),
            "in_carrier_LTE": round(inside["carrier_accuracy_LTE"], 4),
            f"{s.held_out}_main": round(held["main"]["pixel_mean_class_accuracy"], 4),
            f"{s.held_out}_alt": round(held["alt"]["pixel_mean_class_accuracy"], 4),
        })  # fmt: skip
    print_table(rows)
    final = {k: pre.record.get(k) for k in ("train_loss", "val_loss")}
    print(f"pretraining {pretrain_s:.0f} s, final {final}; total {time.perf_counter() - t0:.0f} s")
    write_results(args.name, {"demo": str(demo), "epochs": args.epochs, "pretrain_s": pretrain_s,
                              "pretrain_final": final, "rows": rows})  # fmt: skip


if __name__ == "__main__":
    main()
