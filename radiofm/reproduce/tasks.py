"""``radiofm reproduce tasks``: one foundation model, three downstream tasks — CSI activity sensing (paper B Table IV's
data), signal identification (slides Task 1) and 5G positioning (slides Task 3) — under every fine-tuning mode, plus
a label-efficiency curve.

Steps, each skipped when its output exists (a rerun resumes):

1. the data: an ISM pretraining corpus, the signal-identification train/test SigMF folders, the NTU-Fi-layout
   sensing folder (official-style train/test split) and the positioning train/test files;
2. the backbones (``backbones``): ``ism`` — one ViT-MAE pretrained on the ISM corpus (or ``init``, an existing
   ``mae`` checkpoint, reused); ``own`` — one per task, the same MAE pretrained on that task's own training inputs
   with their labels unused (:mod:`radiofm.tasks.task_inputs`; the same epochs, batch and learning rate);
3. the table: for each task and backbone, a fine-tune per mode — frozen (linear probe for sensing; the task's head),
   last-2 blocks, LoRA, full — and scratch (same architecture, random init; once per task), each evaluated on the
   task's test data;
4. the label-efficiency curve: the first backbone in ``curve_mode`` (default last-2) and scratch at each label
   fraction (1, 10, 100 %), the 100 % points shared with the table;
5. ``report.json``, ``tasks.md`` (ours beside the authors' follow-up figures) and ``label_efficiency.png``.

Metrics: accuracy (%) for sensing and signals, mean localisation error (m) for positioning. The task modules are
looked up by name (``radiofm.tasks.sensing``, ``.signals``, ``.positioning``); a task whose module is not installed
is reported as missing rather than failing the others. Presets: ``cpu`` (vit-tiny at 64 x 64, sized for ≤ 60 min on
2 cores), ``paper`` (ViT-M at 224 x 224 with the papers' data sizes, for a GPU), ``quick`` (seconds, for tests).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from radiofm.data.ism import generate_corpus
from radiofm.data.ntufi import write_ntufi
from radiofm.data.positioning import write_positioning_files
from radiofm.data.signals import write_signal_dataset
from radiofm.errors import ConfigError
from radiofm.models.finetuned import MODES
from radiofm.reproduce.steps import (
    Log,
    Step,
    pipeline_folder,
    pretrain_backbone,
    pretrain_backbone_on_images,
    run_steps,
    write_report,
)
from radiofm.reproduce.tasks_report import BACKBONES, TASKS, build_report, markdown, plot_label_efficiency
from radiofm.tasks.finetune import DEFAULT_TRAIN as FINETUNE_TRAIN


@dataclass
class TasksSettings:
    tasks: tuple[str, ...] = TASKS  # rows of the table
    modes: tuple[str, ...] = MODES  # columns of the table
    k: int = 2  # last-k: backbone blocks trained
    lora_rank: int = 8  # lora: adapter rank
    fractions: tuple[float, ...] = (0.01, 0.1, 1.0)  # label-efficiency curve
    curve_mode: str = "last-k"  # the pretrained model's mode on the curve (against scratch)
    curve_min_steps: int = 60  # small label fractions train at least this many optimiser steps
    # backbone
    backbones: tuple[str, ...] = ("ism",)  # "ism": pretrained on the ISM corpus; "own": on each task's inputs
    init: str | None = None  # an existing "mae" checkpoint to reuse instead of pretraining on ISM
    model: str = "vit-tiny"  # MAE preset
    image_size: tuple[int, int] = (64, 64)  # backbone input (F, T)
    mask_ratio: float = 0.75
    ism_recordings: int = 48  # pretraining corpus
    ism_kwargs: dict = field(default_factory=dict)  # extra generate_corpus arguments (tests: tiny recordings)
    pretrain_epochs: int = 30
    pretrain_batch: int = 32
    pretrain_lr: float | None = 5e-4  # peak; None: base-lr scaling
    # data sizes
    signals_per_class: int = 24  # training captures per class (20 classes)
    signals_test_per_class: int = 8
    signals_duration_s: float = 0.25
    sensing_train_per_class: int = 48  # NTU-Fi: 156 (936 files)
    sensing_test_per_class: int = 16  # NTU-Fi: 44 (264 files)
    positioning_train: int = 800  # public data set: 3100
    positioning_test: int = 200  # public data set: 776
    # fine-tuning
    epochs: int = 20  # end-to-end modes (last-k, lora, full, scratch)
    frozen_epochs: int = 60  # frozen backbone (features cached once: cheap epochs)
    batch_size: int = 16
    lr: float = 1e-3
    workers: int = 2  # data-generation processes
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        self.tasks, self.modes, self.fractions = tuple(self.tasks), tuple(self.modes), tuple(self.fractions)
        self.backbones = tuple(self.backbones)
        if not self.backbones or len(set(self.backbones)) < len(self.backbones) or set(self.backbones) - set(BACKBONES):
            raise ConfigError(f"backbones must be distinct names among {', '.join(BACKBONES)}, got {self.backbones}")
        self.image_size = tuple(int(v) for v in self.image_size)
        unknown = [t for t in self.tasks if t not in TASKS]
        if len(set(self.tasks)) < len(self.tasks):  # a task given twice ran twice
            raise ConfigError(f"tasks must be distinct, got {self.tasks}")
        if unknown or not self.tasks:
            raise ConfigError(f"unknown task(s) {unknown or 'none given'}: the tasks are {', '.join(TASKS)}")
        unknown = [m for m in self.modes if m not in MODES]
        if unknown or self.curve_mode not in MODES or self.curve_mode == "scratch":
            raise ConfigError(f"unknown modes {unknown} or curve mode {self.curve_mode!r} (modes: {', '.join(MODES)})")
        if not self.fractions or any(not 0.0 < f <= 1.0 for f in self.fractions):
            raise ConfigError(f"label fractions must be in (0, 1], got {self.fractions}")


PRESETS = {
    "cpu": TasksSettings(),
    "paper": TasksSettings(
        model="vit-m",
        image_size=(224, 224),
        ism_recordings=240,
        pretrain_epochs=400,
        pretrain_batch=64,
        pretrain_lr=None,
        signals_per_class=200,
        signals_test_per_class=50,
        sensing_train_per_class=156,
        sensing_test_per_class=44,
        positioning_train=3100,
        positioning_test=776,
        epochs=30,
        frozen_epochs=50,
        batch_size=32,
        curve_min_steps=300,
        workers=8,
    ),
    "quick": TasksSettings(
        image_size=(32, 32),
        fractions=(0.5, 1.0),
        curve_min_steps=2,
        ism_recordings=2,
        ism_kwargs={"duration_s_range": (0.034, 0.04), "sample_rate_choices_hz": (10e6,)},
        pretrain_epochs=1,
        pretrain_batch=4,
        signals_per_class=2,
        signals_test_per_class=1,
        signals_duration_s=0.01,
        sensing_train_per_class=2,
        sensing_test_per_class=1,
        positioning_train=12,
        positioning_test=4,
        epochs=1,
        frozen_epochs=1,
        batch_size=4,
        workers=1,
    ),
}


# ------------------------------------------------------------------------------------------- task adapters


def task_module(task: str):
    """``radiofm.tasks.<task>`` or None when this installation lacks it."""
    try:
        return importlib.import_module(f"radiofm.tasks.{task}")
    except ModuleNotFoundError as exc:
        if exc.name == f"radiofm.tasks.{task}":
            return None
        raise


def _paths(task: str, out: Path) -> tuple[Path, Path]:
    """(training data, test data) of a task under the pipeline folder."""
    data = out / "data"
    return {
        "signals": (data / "signals-train", data / "signals-test"),
        "sensing": (data / "sensing", data / "sensing"),  # one NTU-Fi root: train_amp/ and test_amp/
        "positioning": (data / "positioning" / "train.mat", data / "positioning" / "test.mat"),
    }[task]


def _train_items(task: str, s: TasksSettings) -> int:
    return {
        "signals": 20 * s.signals_per_class,
        "sensing": 6 * s.sensing_train_per_class,
        "positioning": s.positioning_train,
    }[task]


def _evaluate(task: str, mod, run: Path, test: Path, ev: Path) -> dict:
    ev_fn = getattr(mod, f"evaluate_{task}_run", None)
    if ev_fn is None:  # signals keeps its evaluation in a module of its own
        ev_fn = importlib.import_module(f"radiofm.tasks.{task}_eval").__dict__[f"evaluate_{task}_run"]
    return ev_fn(run, test, ev)


# ------------------------------------------------------------------------------------------- steps


def _generate(what: str, out: Path, s: TasksSettings, log: Log | None) -> dict:
    """One data set (steps per data set, so a later run with more tasks adds only the missing ones)."""
    data = out / "data"
    if what == "ism":
        generate_corpus(data / "ism", n_recordings=s.ism_recordings, seed=s.seed, workers=s.workers, **s.ism_kwargs)
        return {"recordings": s.ism_recordings}
    if what == "signals":
        kw = dict(duration_s=s.signals_duration_s, workers=s.workers, progress=False)
        write_signal_dataset(data / "signals-test", per_class=s.signals_test_per_class, seed=s.seed + 2, **kw)
        write_signal_dataset(data / "signals-train", per_class=s.signals_per_class, seed=s.seed + 1, **kw)
        return {"train": 20 * s.signals_per_class, "test": 20 * s.signals_test_per_class}
    if what == "sensing":
        write_ntufi(data / "sensing", s.sensing_train_per_class, s.sensing_test_per_class, seed=s.seed + 3,
                    workers=s.workers, progress=False)  # fmt: skip
        return {"train": 6 * s.sensing_train_per_class, "test": 6 * s.sensing_test_per_class}
    write_positioning_files(data / "positioning", s.positioning_train, s.positioning_test, seed=s.seed + 4,
                            progress=False)  # fmt: skip
    return {"train": s.positioning_train, "test": s.positioning_test}


# what marks each data set written
DATA_DONE = {
    "ism": "data/ism/corpus.json",
    "signals": "data/signals-train/manifest.json",
    "sensing": "data/sensing",
    "positioning": "data/positioning/test.mat",
}


def backbone_path(out: Path, s: TasksSettings, task: str | None = None, backbone: str = "ism") -> Path:
    """The ISM backbone (``init`` or ``OUT/runs/mae``) or ``task``'s own one (``OUT/runs/mae-own-<task>``)."""
    if backbone == "own":
        return out / "runs" / f"mae-own-{task}"
    return Path(s.init) if s.init else out / "runs" / "mae"


def _pretrain(out: Path, s: TasksSettings, log: Log | None) -> dict:
    if s.init:  # checked by the first fine-tune (read_init: a pretrained backbone checkpoint)
        return {"reused": str(s.init)}
    run = backbone_path(out, s)
    return pretrain_backbone(out / "data" / "ism", run, s, model=s.model, mask_ratio=s.mask_ratio, log=log)


def _pretrain_own(task: str, out: Path, s: TasksSettings, log: Log | None) -> dict:
    """Pretrain ``task``'s own backbone on its training inputs (labels unused; never its test data)."""
    from radiofm.tasks.task_inputs import task_images

    train_data = _paths(task, out)[0]
    images = task_images(task, train_data, s.image_size)
    if log is not None:
        log(f"{len(images)} {task} training images ({'x'.join(map(str, s.image_size))}, one per input channel)")
    source = f"{task} training inputs {train_data}"
    run = backbone_path(out, s, task, "own")
    return pretrain_backbone_on_images(images, run, s, model=s.model, mask_ratio=s.mask_ratio, source=source, log=log)


def run_name(task: str, mode: str, fraction: float = 1.0, backbone: str = "ism") -> str:
    """``<task>-<mode>[-labels<f>][-own]``: scratch runs do not depend on a backbone and carry no suffix."""
    own = "-own" if backbone == "own" and mode != "scratch" else ""
    return f"{task}-{mode}" + ("" if fraction == 1.0 else f"-labels{fraction:g}") + own


def _finetune(
    task: str, mode: str, fraction: float, out: Path, s: TasksSettings, log: Log | None, *, backbone: str = "ism"
) -> dict:
    """Fine-tune ``task`` in ``mode`` from ``backbone`` on ``fraction`` of its training labels and evaluate it on its
    test data."""
    mod = task_module(task)
    name = run_name(task, mode, fraction, backbone)
    run, ev = out / "runs" / name, out / "eval" / name
    train_data, test_data = _paths(task, out)
    config_cls = next(v for k, v in vars(mod).items() if k.lower() == f"{task}config")
    init = backbone_path(out, s, task, backbone)
    config = config_cls(init=init, mode=mode, k=s.k, lora_rank=s.lora_rank, label_fraction=fraction)
    epochs = s.frozen_epochs if mode == "frozen" else s.epochs
    if fraction < 1.0:  # as many optimiser steps as the full set would get, at least curve_min_steps
        steps = max(1, math.ceil(_train_items(task, s) * 0.9 * fraction / s.batch_size))
        epochs = max(epochs, math.ceil(s.curve_min_steps / steps))
    train = dataclasses.replace(
        FINETUNE_TRAIN, epochs=epochs, batch_size=s.batch_size, lr=float(s.lr), seed=s.seed, device=s.device,
        progress=False,
    )  # fmt: skip
    t0 = time.perf_counter()
    finetune = getattr(mod, f"finetune_{task}")
    finetune(train_data, config, train, run, resume=(run / "config.json").exists(), log=log)
    seconds = time.perf_counter() - t0
    report = _evaluate(task, mod, run, test_data, ev)
    keep = ("accuracy", "mean_class_accuracy", "mean_error_m", "median_error_m", "p90_error_m")
    return {"task": task, "mode": mode, "fraction": fraction, "backbone": "none" if mode == "scratch" else backbone,
            "epochs": epochs, "train_s": round(seconds, 1), **{k: report[k] for k in keep if k in report}}  # fmt: skip


def _result_file(task: str) -> str:
    return {"signals": "signals.json", "sensing": "sensing.json", "positioning": "positioning.json"}[task]


def pipeline(s: TasksSettings, available: dict[str, bool] | None = None) -> list[Step]:
    available = available or {t: task_module(t) is not None for t in s.tasks}
    ism = "ism" in s.backbones and s.init is None
    steps = [Step("generate ism data", DATA_DONE["ism"], partial(_generate, "ism"))] if ism else []
    steps += [Step(f"generate {t} data", DATA_DONE[t], partial(_generate, t)) for t in s.tasks if available[t]]
    if ism:
        steps.append(Step("pretrain backbone", "runs/mae/model.safetensors", _pretrain))
    if "own" in s.backbones:
        steps += [
            Step(f"pretrain {t} backbone on its own inputs", f"runs/mae-own-{t}/model.safetensors",
                 partial(_pretrain_own, t))
            for t in s.tasks if available[t]
        ]  # fmt: skip
    runs = [(t, m, 1.0, b) for b in s.backbones for t in s.tasks for m in s.modes]
    first = s.backbones[0]
    runs += [(t, m, f, first) for t in s.tasks for f in s.fractions if f != 1.0 for m in (s.curve_mode, "scratch")]
    seen = set()
    for task, mode, fraction, backbone in runs:
        name = run_name(task, mode, fraction, backbone)
        if not available[task] or name in seen:  # scratch: once, whatever the backbones
            continue
        seen.add(name)
        run = partial(_finetune, task, mode, fraction, backbone=backbone)
        steps.append(Step(f"finetune {name}", f"eval/{name}", run))
    return steps


def run_tasks(settings: TasksSettings, out: str | Path, *, preset: str, force: bool = False, log: Log | None = None):
    """Run (or resume) the experiment into ``out``; writes report.json, tasks.md, label_efficiency.png."""
    with pipeline_folder(out, force=force) as out:  # --force redoes; what the run writes is recorded
        available = {t: task_module(t) is not None for t in settings.tasks}
        if log is not None and not all(available.values()):
            log(f"not installed, skipped: {', '.join(t for t, ok in available.items() if not ok)}")
        present = dataclasses.replace(settings, tasks=tuple(t for t in settings.tasks if available[t]))
        t0 = time.perf_counter()
        steps = run_steps(pipeline(present, available), out, present, label="tasks", log=log)
        report = build_report(steps, dataclasses.asdict(settings), preset, available, total_s=time.perf_counter() - t0)
        write_report(out, report, "tasks.md", markdown(report))
        plot_label_efficiency(report, out / "label_efficiency.png")
        return report
