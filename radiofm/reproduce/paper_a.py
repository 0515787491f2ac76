"""``radiofm reproduce paper-a``: paper A's experiments end to end, fine-tuned foundation model vs scratch.

Steps (each calls the library as the matching CLI command does, and is skipped when its output exists, so a
rerun resumes):

1. an ISM-band corpus standing in for the RRD (SPEC §2) and the NR/LTE segmentation set (train: normal noise
   power, test: uniform);
2. ``radiofm pretrain --model convlstm…`` (MSM, 20 % of the tokens masked; the paper-A split saved);
3. ``radiofm finetune forecasting`` frozen (only the Conv3D) and ``--mode scratch``; ``radiofm evaluate
   forecasting`` of both (+ persistence) → detection-rate heatmaps over the block-resolution grid (Fig. 6);
4. ``radiofm finetune segmentation`` frozen (two-layer Conv2D head) and scratch; ``radiofm evaluate
   segmentation`` of both → 3-class and binary confusion matrices (Figs. 7–8);
5. ``report.json`` (numbers, settings, wall times), ``paper_a.md`` (the paper's qualitative findings beside
   ours), ``heatmaps.png`` and ``segmentation_matrices.png`` (:mod:`radiofm.reproduce.paper_a_report`).

Presets: ``cpu`` (``convlstm-tiny``; ≈20 min on 2 shared CPU cores) and ``paper`` (``convlstm``, paper sizes, GPU).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from radiofm.data.ism import generate_corpus
from radiofm.data.nrlte import generate_dataset
from radiofm.errors import ConfigError
from radiofm.io import atomic_path
from radiofm.reproduce.paper_a_report import build_report, markdown, plot_segmentation_matrices
from radiofm.reproduce.steps import Log, Step, last_record, pipeline_folder, run_steps, write_report
from radiofm.tasks import pretrain_convlstm
from radiofm.tasks.finetune import DEFAULT_TRAIN as FINETUNE_TRAIN
from radiofm.tasks.forecasting import (
    ForecastingConfig,
    ForecastingEvalConfig,
    evaluate_forecasting_run,
    finetune_forecasting,
)
from radiofm.tasks.segmentation import SegmentationConfig, finetune_segmentation
from radiofm.tasks.segmentation_eval import SegmentationEvalConfig, evaluate_segmentation_run

# the settings ``seg_extra`` may name, as the flags of ``radiofm finetune segmentation`` they stand for
SEG_FLAGS = {"--no-cache-features": {"cache_features": False}}


@dataclass
class PaperASettings:
    model: str = "convlstm-tiny"
    ism_recordings: int = 96  # stand-in RRD (paper: 240 recordings, ≈24 s)
    ism_kwargs: dict = field(
        default_factory=lambda: {"sample_rate_choices_hz": (10e6,), "duration_s_range": (0.1, 0.1)}
    )
    nrlte_train: int = 320  # NR/LTE frames for segmentation training / testing
    nrlte_test: int = 96
    pretrain_epochs: int = 50
    pretrain_batch: int = 8
    pretrain_lr: float = 2e-3
    forecast_epochs: int = 12
    forecast_batch: int = 16
    forecast_lr: float = 3e-3
    seg_epochs: int = 20
    seg_batch: int = 8
    seg_lr: float = 3e-3
    eval_max_windows: int | None = None
    workers: int = 2
    device: str = "auto"
    last_context: int = 4  # context of the supplementary last-readout forecaster (tokens)
    threads: int | None = 1  # torch CPU threads: 1 is ≈8× faster than 2 for these tiny convolutions (busy 2 cores)
    seed: int = 0
    seg_extra: tuple[str, ...] = ()  # extra settings of both segmentation fine-tunes, as flags (SEG_FLAGS)


PRESETS = {
    "cpu": PaperASettings(),
    "paper": PaperASettings(
        model="convlstm",
        ism_recordings=240,
        ism_kwargs={"duration_s_range": (0.1, 0.1)},  # 10–60 MHz as the RRD: ≈24 s in all
        nrlte_train=2000,
        nrlte_test=500,
        pretrain_epochs=100,
        pretrain_batch=32,
        forecast_epochs=30,
        forecast_batch=64,
        seg_epochs=40,
        seg_batch=16,
        workers=8,
        threads=None,
        seg_extra=("--no-cache-features",),  # 64×256×256 fp16 features per frame would not fit in memory
    ),
}


def _train(s: PaperASettings, run: Path, *, base, epochs: int, batch: int, lr: float):
    """The optimisation settings of one training step; (TrainConfig, resume: an interrupted run in ``run``)."""
    train = dataclasses.replace(
        base, epochs=epochs, batch_size=batch, lr=float(lr), seed=s.seed, device=s.device, progress=False
    )
    return train, (run / "config.json").exists()


def _eval_device(s: PaperASettings) -> str:
    """Where evaluations run: the training device ("auto": CUDA when there is one)."""
    from radiofm.train.distributed import resolve_device

    return resolve_device(s.device)


def _gen_ism(out: Path, s: PaperASettings, log: Log | None) -> dict:
    paths = generate_corpus(
        out / "data" / "ism", n_recordings=s.ism_recordings, seed=s.seed, workers=s.workers, progress=False,
        **s.ism_kwargs,
    )  # fmt: skip
    return {"recordings": len(paths)}


def _gen_nrlte(out: Path, s: PaperASettings, log: Log | None) -> dict:
    # FDD LTE only, as the papers' data (the MATLAB example) and the results recorded before TDD existed
    kw = {"workers": s.workers, "progress": False, "lte_frames": ["fdd"]}
    generate_dataset(out / "data" / "nrlte-train", n_frames=s.nrlte_train, split="train", seed=s.seed, **kw)
    generate_dataset(out / "data" / "nrlte-test", n_frames=s.nrlte_test, split="test", seed=s.seed + 1, **kw)
    return {"train_frames": s.nrlte_train, "test_frames": s.nrlte_test}


def _pretrain(out: Path, s: PaperASettings, log: Log | None) -> dict:
    run = out / "runs" / "pretrain"
    config = pretrain_convlstm.ConvLSTMPretrainConfig(model=s.model, mask_ratio=0.2, workers=s.workers)
    train, resume = _train(s, run, base=pretrain_convlstm.DEFAULT_TRAIN, epochs=s.pretrain_epochs,
                           batch=s.pretrain_batch, lr=s.pretrain_lr)  # fmt: skip
    train = dataclasses.replace(train, warmup_epochs=float(max(1, s.pretrain_epochs // 10)))
    pretrain_convlstm.pretrain_convlstm(out / "data" / "ism", config, train, run, resume=resume, log=log)
    last = last_record(run)
    return {k: last.get(k) for k in ("epoch", "train_loss", "val_loss", "samples_per_s")}


def _readout(variant: str, s: PaperASettings) -> dict:
    """ "" = paper A's forecaster (first output token, its default context); "-last" = last token, longer context."""
    return {"readout": "last", "context": s.last_context} if variant == "-last" else {}


def _forecast(mode: str, variant: str = "") -> Callable[[Path, PaperASettings, Log | None], dict]:
    def step(out: Path, s: PaperASettings, log: Log | None) -> dict:
        run = out / "runs" / f"forecast-{mode}{variant}"
        config = ForecastingConfig(init=out / "runs" / "pretrain", mode=mode, **_readout(variant, s))
        train, resume = _train(s, run, base=FINETUNE_TRAIN, epochs=s.forecast_epochs, batch=s.forecast_batch,
                               lr=s.forecast_lr)  # fmt: skip
        finetune_forecasting(out / "data" / "ism", config, train, run, resume=resume, log=log)
        last = last_record(run)
        return {k: last.get(k) for k in ("epoch", "train_loss", "val_loss", "samples_per_s")}

    return step


def _eval_forecast(variant: str = "") -> Callable[[Path, PaperASettings, Log | None], dict]:
    def step(out: Path, s: PaperASettings, log: Log | None) -> dict:
        ev = out / "eval" / f"forecasting{variant}"
        config = ForecastingEvalConfig(
            baseline=out / "runs" / f"forecast-scratch{variant}", max_samples=s.eval_max_windows, device=_eval_device(s)
        )
        report = evaluate_forecasting_run(out / "runs" / f"forecast-frozen{variant}", out / "data" / "ism", ev, config)
        with atomic_path(out / f"heatmaps{variant}.png") as tmp:
            shutil.copy2(ev / "heatmaps.png", tmp)
        return {"windows": report["windows"], "pictures": [str(out / f"heatmaps{variant}.png"), str(ev / "tokens.png")]}

    return step


def _seg_extra(s: PaperASettings) -> dict:
    unknown = [f for f in s.seg_extra if f not in SEG_FLAGS]
    if unknown:
        raise ConfigError(f"seg_extra: unknown setting(s) {', '.join(unknown)}; known: {', '.join(SEG_FLAGS)}")
    return {k: v for f in s.seg_extra for k, v in SEG_FLAGS[f].items()}


def _segment(mode: str) -> Callable[[Path, PaperASettings, Log | None], dict]:
    def step(out: Path, s: PaperASettings, log: Log | None) -> dict:
        run = out / "runs" / f"seg-{mode}"
        config = SegmentationConfig(init=out / "runs" / "pretrain", mode=mode, **_seg_extra(s))
        train, resume = _train(s, run, base=FINETUNE_TRAIN, epochs=s.seg_epochs, batch=s.seg_batch, lr=s.seg_lr)
        finetune_segmentation(out / "data" / "nrlte-train", config, train, run, resume=resume, log=log)
        ev = out / "eval" / f"seg-{mode}"
        rep = evaluate_segmentation_run(
            run, out / "data" / "nrlte-test", ev, SegmentationEvalConfig(device=_eval_device(s))
        )
        return {"mean_class_accuracy": rep["mean_class_accuracy"], "binary": rep["binary"]["mean_class_accuracy"]}

    return step


PIPELINE: list[Step] = [
    Step("generate ISM corpus", "data/ism/corpus.json", _gen_ism),
    Step("generate NR/LTE set", "data/nrlte-test/manifest.json", _gen_nrlte),
    Step("pretrain ConvLSTM (MSM)", "runs/pretrain/split.json", _pretrain),
    Step("forecasting fine-tune", "runs/forecast-frozen/split.json", _forecast("frozen")),
    Step("forecasting scratch", "runs/forecast-scratch/split.json", _forecast("scratch")),
    Step("evaluate forecasting", "eval/forecasting/forecasting.json", _eval_forecast()),
    Step("forecasting fine-tune, last readout", "runs/forecast-frozen-last/split.json", _forecast("frozen", "-last")),
    Step("forecasting scratch, last readout", "runs/forecast-scratch-last/split.json", _forecast("scratch", "-last")),
    Step("evaluate forecasting, last readout", "eval/forecasting-last/forecasting.json", _eval_forecast("-last")),
    Step("segmentation fine-tune", "eval/seg-frozen/segmentation.json", _segment("frozen")),
    Step("segmentation scratch", "eval/seg-scratch/segmentation.json", _segment("scratch")),
]


def run_paper_a(
    settings: PaperASettings, out: str | Path, *, preset: str, force: bool = False, log: Log | None = None
) -> dict:
    """Run (or resume) the experiment into ``out``; writes ``report.json``, ``paper_a.md`` and the figures."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    with pipeline_folder(out, force=force) as out:  # --force redoes; what the run writes is recorded
        t_start = time.perf_counter()
        steps = run_steps(PIPELINE, out, settings, label="paper-a", log=log)
        report = build_report(out, settings, preset, steps, total_s=time.perf_counter() - t_start)
        write_report(out, report, "paper_a.md", markdown(report))
        plot_segmentation_matrices(out, out / "segmentation_matrices.png")
        return report
