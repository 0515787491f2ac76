"""Does pretraining on the positioning task's own unlabelled images beat the ISM-pretrained backbone, or scratch?

Issue 10 left every pretrained row of ``reproduce tasks --preset cpu`` at or behind scratch, and one explanation was
the domain: the backbone was pretrained on ISM spectrograms, not on CSI images. This benchmark removes it. It
pretrains the same MAE (the cpu preset's model, image size, batch, lr and mask ratio) on the positioning TRAIN
file's images with their positions unused — each base station's image on its own, resized and standardised
exactly as ``finetune positioning`` does (:func:`radiofm.tasks.task_inputs.task_images`; ``reproduce tasks
--backbones own`` builds such a backbone for every task). It then fine-tunes positioning from that backbone in the
``--modes`` (default frozen and last-2) and trains scratch, all with the preset's fine-tuning settings, in one run. The
ISM-pretrained backbone of the preset (its corpus and pretraining steps) joins the run with ``--ism``.

Prints a table (mean / median / 90th-percentile test error in metres, seconds) and writes
``benchmarks/results/<--name>.json``.

    PYTHONPATH=. .venv/bin/python benchmarks/positioning_own_pretrain.py --work /tmp/own --pretrain-epochs 8 --ism
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from _common import print_table, write_results

from radiofm.models import create_model
from radiofm.reproduce.tasks import TasksSettings, _finetune, _generate, _pretrain
from radiofm.tasks.pretrain_mae import MAEPretrainTask
from radiofm.tasks.task_inputs import task_images
from radiofm.train import TrainConfig, fit, seeded


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, required=True, help="folder for the data, the runs and the evaluations")
    p.add_argument("--pretrain-epochs", type=int, default=8, help="epochs over the train file's images (default 8)")
    p.add_argument("--modes", default="frozen,last-k", help="pretrained modes to fine-tune (default frozen,last-k)")
    p.add_argument("--ism", action="store_true", help="also the ISM-pretrained backbone, made as the preset makes it")
    p.add_argument("--no-scratch", action="store_true", help="skip the scratch row (it does not depend on pretraining)")
    p.add_argument("--name", default="positioning_own_pretrain")
    args = p.parse_args()
    s, work = TasksSettings(), args.work
    if not (work / "data" / "positioning" / "test.mat").exists():
        _generate("positioning", work, s, None)
    imgs = task_images("positioning", work / "data" / "positioning" / "train.mat", s.image_size)
    run = work / "runs" / f"mae-own-e{args.pretrain_epochs}"
    t0 = time.perf_counter()
    if not (run / "model.safetensors").exists():
        with seeded(s.seed):
            model = create_model(s.model, img_size=s.image_size)
        cfg = TrainConfig(epochs=args.pretrain_epochs, batch_size=s.pretrain_batch, lr=s.pretrain_lr,
                          warmup_epochs=1.0, weight_decay=0.05, progress=False, device="cpu", seed=s.seed)  # fmt: skip
        fit(model, MAEPretrainTask(s.mask_ratio), torch.from_numpy(imgs), cfg=cfg, out_dir=run,
            extra={"model_name": s.model, "pretrained_on": "positioning train images"})  # fmt: skip
    pretrain_s = time.perf_counter() - t0
    print(f"pretrained on {len(imgs)} images in {pretrain_s:.0f} s", flush=True)
    runs = [("own", m, run) for m in args.modes.split(",")]
    if args.ism:  # the preset's corpus and pretraining (reproduce tasks' own steps), into WORK/runs/mae
        if not (work / "data" / "ism" / "corpus.json").exists():
            _generate("ism", work, s, None)
        if not (work / "runs" / "mae" / "model.safetensors").exists():
            _pretrain(work, s, None)
        runs += [("ism", m, work / "runs" / "mae") for m in args.modes.split(",")]
    if not args.no_scratch:
        runs.append(("none", "scratch", run))
    rows = []
    for source, mode, init in runs:
        sub = work / f"{source}-e{args.pretrain_epochs}"
        (sub / "data").mkdir(parents=True, exist_ok=True)
        if not (sub / "data" / "positioning").exists():
            (sub / "data" / "positioning").symlink_to((work / "data" / "positioning").resolve())
        t = time.perf_counter()
        r = _finetune("positioning", mode, 1.0, sub, dataclasses.replace(s, init=str(init)), None)
        rows.append({"pretrained_on": source, "mode": mode, "mean_m": r["mean_error_m"],
                     "median_m": r["median_error_m"], "p90_m": r["p90_error_m"],
                     "seconds": round(time.perf_counter() - t)})  # fmt: skip
        print(rows[-1], flush=True)
    print_table(rows)
    payload = {"pretrain_epochs": args.pretrain_epochs, "pretrain_images": len(imgs), "pretrain_s": round(pretrain_s),
               "settings": dataclasses.asdict(s), "rows": rows}  # fmt: skip
    print(f"wrote {write_results(args.name, payload)}")


if __name__ == "__main__":
    main()
