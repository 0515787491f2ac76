"""``radiofm reproduce generalisation``: leave-one-regime-out (LORO) NR/LTE identification (issue 8).

Does the segmentation model learn what tells NR from LTE, or the traffic texture of its training data? For each
held-out traffic regime R (:mod:`radiofm.synth.nrlte.traffic`: random, matlab, full, idle, gated):

1. train: the NR/LTE train split of the main generator with every regime except R (``--traffic`` the others);
   a frozen pretrained ViT-MAE encoder (pretrained once on the ISM corpus) + the segmentation head, mix readout;
2. test on R alone, from the main generator (test split) AND from the independent generator
   :mod:`radiofm.synth.nrlte_alt` (never used in training);
3. score pixels (mean per-class accuracy) and carriers (:mod:`radiofm.tasks.segmentation_carriers`: a true
   carrier's label = argmax over NR/LTE of the class probabilities summed over its true box; frequency IoU of its
   predicted occupied band).

Every step calls the library as ``radiofm generate`` / ``pretrain`` / ``finetune segmentation`` / ``evaluate
segmentation`` do and is skipped when done (a rerun resumes). Outputs: ``report.json`` (settings, one row per
(held-out regime, test generator), step times) and ``generalisation.md`` (the table).

Presets: ``cpu`` — the demo's recipe (vit-tiny 224x224, 64 ISM recordings, 12 pretraining epochs, 400 train /
100 + 100 test frames per fold, 20 head epochs, NR-vs-LTE-balanced loss) for all five regimes, ≈ 20 min on 2 idle
cores (docs/RESULTS.md); ``quick`` — tiny sizes, two folds, seconds
(tests). The demo (:mod:`radiofm.reproduce.demo`) runs the ``matlab`` fold of the ``cpu`` preset with the same
data seeds through :func:`generate_fold_data` and :func:`evaluate_fold`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from radiofm.data.ism import generate_corpus
from radiofm.data.nrlte import generate_dataset
from radiofm.errors import ConfigError
from radiofm.reproduce.steps import Log, Step, last_record, pipeline_folder, pretrain_backbone, run_steps, write_report
from radiofm.synth.nrlte.traffic import REGIMES
from radiofm.tasks.finetune import DEFAULT_TRAIN as FINETUNE_TRAIN
from radiofm.tasks.segmentation import SegmentationConfig, finetune_segmentation
from radiofm.tasks.segmentation_eval import SegmentationEvalConfig, evaluate_segmentation_run

TRAIN_SEED, TEST_SEED, ALT_SEED = 1, 2, 5  # offsets from the settings' seed (train/test: the demo's)
GENERATORS = ("main", "alt")


@dataclass
class GeneralisationSettings:
    """Sizes of the LORO experiment (defaults: the ``cpu`` preset, the demo's recipe)."""

    held_out: tuple[str, ...] = REGIMES  # one fold per held-out regime
    ism_recordings: int = 64
    ism_kwargs: dict = field(default_factory=dict)  # extra ISM generator arguments (quick: tiny recordings)
    model: str = "vit-tiny"
    image_size: tuple[int, int] = (224, 224)
    pretrain_epochs: int = 12
    pretrain_batch: int = 32
    pretrain_lr: float = 5e-4
    mask_ratio: float = 0.75
    train_frames: int = 400  # main generator, train split, every regime but the held-out one
    test_frames: int = 100  # main generator, test split, the held-out regime only
    alt_frames: int = 100  # alt generator, test split, the held-out regime only
    seg_epochs: int = 20
    seg_batch: int = 16
    seg_lr: float = 1e-3
    seg_readout: str = "mix"
    seg_class_weights: str = "signal-balanced"
    workers: int = 2
    device: str = "auto"
    seed: int = 0


PRESETS = {
    "cpu": GeneralisationSettings(),
    "quick": GeneralisationSettings(
        held_out=("matlab", "full"),
        ism_recordings=3,
        ism_kwargs={"duration_s_range": (0.034, 0.04), "sample_rate_choices_hz": (10e6,)},
        image_size=(64, 64),
        pretrain_epochs=1,
        pretrain_batch=4,
        train_frames=4,
        test_frames=1,
        alt_frames=1,
        seg_epochs=1,
        seg_batch=2,
        workers=1,
    ),
}


def train_regimes(held_out: str) -> list[str]:
    """Every traffic regime except ``held_out``."""
    return [r for r in REGIMES if r != held_out]


def generate_fold_data(folder: Path, held_out: str, *, train_frames: int, test_frames: int, alt_frames: int,
                       seed: int, workers: int, train: bool = True) -> dict:  # fmt: skip
    """``folder/train`` (main, all regimes but ``held_out``), ``folder/test-main`` and ``folder/test-alt`` (the
    held-out regime from each generator); ``train=False`` skips the train set. Returns the sizes."""
    fdd = ["fdd"]  # LTE FDD only: the protocol holds traffic regimes out, as recorded before LTE TDD existed
    if train:
        generate_dataset(folder / "train", n_frames=train_frames, split="train", seed=seed + TRAIN_SEED,
                         traffic=train_regimes(held_out), workers=workers, progress=False, lte_frames=fdd)  # fmt: skip
    generate_dataset(folder / "test-main", n_frames=test_frames, split="test", seed=seed + TEST_SEED,
                     traffic=[held_out], workers=workers, progress=False, lte_frames=fdd)  # fmt: skip
    generate_dataset(folder / "test-alt", n_frames=alt_frames, split="test", seed=seed + ALT_SEED,
                     traffic=[held_out], workers=workers, progress=False, generator="alt")  # fmt: skip
    return {"train_frames": train_frames if train else 0, "test_frames": test_frames, "alt_frames": alt_frames}


def row(report: dict) -> dict:
    """The table's figures from one segmentation report (pixel and carrier level)."""
    cl = report.get("carrier_level") or {}
    per_class = cl.get("per_class", {})
    out = {
        "pixel_mean_class_accuracy": report["mean_class_accuracy"],
        "pixel_accuracy_per_class": report["per_class_accuracy"],
        "carriers": cl.get("carriers", 0),
        "carrier_accuracy": cl.get("carrier_accuracy"),
        "freq_iou_mean": cl.get("freq_iou_mean"),
        "freq_iou_at_least_0.9": cl.get("freq_iou_at_least_0.9"),
    }
    for c in ("NR", "LTE"):
        out[f"carriers_{c}"] = per_class.get(c, {}).get("carriers", 0)
        out[f"carrier_accuracy_{c}"] = per_class.get(c, {}).get("carrier_accuracy")
    return out


def evaluate_fold(run: Path, data: Path, out: Path, *, device: str = "cpu") -> dict:
    """Score ``run`` on ``data/test-main`` and ``data/test-alt`` into ``out/<generator>``: {generator: row}."""
    config = SegmentationEvalConfig(overlays=2, device=device)
    return {g: row(evaluate_segmentation_run(run, data / f"test-{g}", out / g, config)) for g in GENERATORS}


# ------------------------------------------------------------------------------------------- steps


def _ism(out: Path, s: GeneralisationSettings, log: Log | None) -> dict:
    generate_corpus(out / "data" / "ism", n_recordings=s.ism_recordings, seed=s.seed, workers=s.workers,
                    progress=False, **s.ism_kwargs)  # fmt: skip
    return {"recordings": s.ism_recordings}


def _pretrain(out: Path, s: GeneralisationSettings, log: Log | None) -> dict:
    run = out / "runs" / "pretrain"
    return pretrain_backbone(out / "data" / "ism", run, s, model=s.model, mask_ratio=s.mask_ratio, log=log)


def _data(regime: str, out: Path, s: GeneralisationSettings, log: Log | None) -> dict:
    return generate_fold_data(out / "data" / f"loro-{regime}", regime, train_frames=s.train_frames,
                              test_frames=s.test_frames, alt_frames=s.alt_frames, seed=s.seed,
                              workers=s.workers)  # fmt: skip


def _train(regime: str, out: Path, s: GeneralisationSettings, log: Log | None) -> dict:
    run = out / "runs" / f"without-{regime}"
    config = SegmentationConfig(init=out / "runs" / "pretrain", mode="frozen", readout=s.seg_readout,
                                class_weights=s.seg_class_weights)  # fmt: skip
    train = dataclasses.replace(FINETUNE_TRAIN, epochs=s.seg_epochs, batch_size=s.seg_batch, lr=float(s.seg_lr),
                                seed=s.seed, device=s.device, progress=False)  # fmt: skip
    finetune_segmentation(out / "data" / f"loro-{regime}" / "train", config, train, run,
                          resume=(run / "config.json").exists(), log=log)  # fmt: skip
    last = last_record(run)
    return {"train_loss": last.get("train_loss"), "val_pixel_acc": last.get("val_pixel_acc")}


def _evaluate(regime: str, out: Path, s: GeneralisationSettings, log: Log | None) -> dict:
    device = "cpu" if s.device == "auto" else s.device
    rows = evaluate_fold(out / "runs" / f"without-{regime}", out / "data" / f"loro-{regime}",
                         out / "eval" / regime, device=device)  # fmt: skip
    return {"train_regimes": train_regimes(regime), "test_regime": regime, "rows": rows}


def pipeline(s: GeneralisationSettings) -> list[Step]:
    steps = [
        Step("generate ISM corpus", "data/ism/corpus.json", _ism),
        Step("pretrain ViT-MAE", "runs/pretrain/model.safetensors", _pretrain),
    ]
    for r in s.held_out:
        steps += [
            Step(f"data without {r}", f"data/loro-{r}/test-alt/manifest.json", partial(_data, r)),
            Step(f"train without {r}", f"runs/without-{r}/model.safetensors", partial(_train, r)),
            Step(f"test on {r}", f"eval/{r}/alt/segmentation.json", partial(_evaluate, r)),
        ]
    return steps


def run_generalisation(
    settings: GeneralisationSettings, out: str | Path, *, preset: str, force: bool = False, log: Log | None = None
) -> dict:
    """Run (or resume) the LORO experiment into ``out``; writes ``report.json`` and ``generalisation.md``."""
    bad = [r for r in settings.held_out if r not in REGIMES]
    if bad or not settings.held_out:
        raise ConfigError(f"held-out regimes {list(settings.held_out)!r} invalid; valid: {', '.join(REGIMES)}")
    with pipeline_folder(out, force=force) as out:  # --force redoes; what the run writes is recorded
        t0 = time.perf_counter()
        steps = run_steps(pipeline(settings), out, settings, label="generalisation", log=log)
        folds = [st for st in steps if st["name"].startswith("test on ")]
        report = {
            "preset": preset,
            "settings": dataclasses.asdict(settings),
            "protocol": "train on every traffic regime but one (main generator), test on the held-out one from the "
            "main and the alt generator; carrier label = argmax NR/LTE of the probabilities summed over the true box",
            "folds": [{k: f[k] for k in ("train_regimes", "test_regime", "rows")} for f in folds],
            "steps": steps,
            "total_s": round(time.perf_counter() - t0, 1),
            "step_seconds_total": round(sum(st.get("seconds", 0.0) for st in steps), 1),
        }
        write_report(out, report, "generalisation.md", markdown(report))
        return report


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def _iou(v) -> str:
    return "—" if v is None else f"{v:.3f}"


def markdown(report: dict) -> str:
    lines = [
        f"# Leave-one-regime-out NR/LTE identification ({report['preset']} preset)",
        "",
        "Pixel: mean per-class accuracy (%) on the held-out regime's test frames. Carrier: share (%) of true NR / "
        "LTE carriers whose pooled label is right (n in brackets). IoU: mean frequency IoU of the predicted "
        "occupied band (share of carriers with IoU ≥ 0.9 in brackets).",
        "",
        "| train regimes | test regime | generator | pixel mean acc. | carrier NR | carrier LTE | freq IoU |",
        "|---|---|---|---|---|---|---|",
    ]
    for fold in report["folds"]:
        for gen, r in fold["rows"].items():
            lines.append(
                f"| {', '.join(fold['train_regimes'])} | {fold['test_regime']} | {gen} | "
                f"{_pct(r['pixel_mean_class_accuracy'])} | {_pct(r['carrier_accuracy_NR'])} ({r['carriers_NR']}) | "
                f"{_pct(r['carrier_accuracy_LTE'])} ({r['carriers_LTE']}) | "
                f"{_iou(r['freq_iou_mean'])} ({_pct(r['freq_iou_at_least_0.9'])}) |"
            )
    lines += ["", f"Total step time: {report['step_seconds_total']:.0f} s."]
    return "\n".join(lines) + "\n"
