"""The demo: the main job end to end on built-in defaults, as a pipeline of steps (``radiofm demo``).

Each step calls the library exactly as the matching CLI command does (so the demo exercises what users run),
records its wall time and a summary, and is skipped when its output already exists (re-running the demo
resumes; ``force`` redoes). Later features append steps to :data:`PIPELINE`.

NR/LTE data (issue 8): the segmentation model trains on the main generator's broad traffic mix minus one regime
(``held_out``, default ``matlab``: the papers' data), is scored in distribution (the test split of the same
mix), on the held-out regime, and on the independent generator :mod:`radiofm.synth.nrlte_alt` (held-out regime,
carrier level) — the ``matlab`` fold of ``radiofm reproduce generalisation --preset cpu``, same data seeds. Then
what a user of ``annotate`` gets: its output (boxes, labels from the pooled scores and the physical layer) on the
first ``annotate_frames`` captures of the in-distribution, held-out and alt test sets, scored per pixel and per
carrier like the model (``radiofm evaluate annotate``). Last, one backbone with another head (issue 10): a linear
probe for CSI activity sensing on the same frozen encoder, on a small synthetic NTU-Fi set.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from radiofm.annotate import AnnotateConfig, annotate_file
from radiofm.annotate.evaluate import evaluate_annotate
from radiofm.data.ism import generate_corpus
from radiofm.data.nrlte import generate_dataset
from radiofm.data.ntufi import write_ntufi
from radiofm.io import write_json
from radiofm.reproduce.generalisation import ALT_SEED, TEST_SEED, evaluate_fold, generate_fold_data, train_regimes
from radiofm.reproduce.steps import Log, Step, last_record, pipeline_folder, run_steps
from radiofm.reproduce.table4 import Table4Settings
from radiofm.tasks import pretrain_mae
from radiofm.tasks.finetune import DEFAULT_TRAIN as FINETUNE_TRAIN
from radiofm.tasks.reconstruction import ReconstructionEvalConfig, evaluate_reconstruction_run
from radiofm.tasks.segmentation import SegmentationConfig, finetune_segmentation
from radiofm.tasks.segmentation_eval import evaluate_segmentation_run
from radiofm.tasks.sensing import SensingConfig, evaluate_sensing_run, finetune_sensing


@dataclass
class DemoSettings:
    """Sizes of the demo. ``full``: about 7 min on an idle 2-core CPU, set-up included (docs/RESULTS.md);
    ``quick``: seconds (tests)."""

    ism_recordings: int = 64  # pretraining corpus (≈340 spectrograms of 16 ms)
    ism_eval_recordings: int = 6  # held-out corpus for the reconstruction evaluation
    model: str = "vit-tiny"
    image_size: tuple[int, int] = (224, 224)
    pretrain_epochs: int = 12  # 120 steps: val loss 0.675 against 0.636 after 200 (docs/RESULTS.md)
    pretrain_batch: int = 32
    pretrain_lr: float = 5e-4  # peak; base-lr scaling gives 1.25e-4 at batch 32, too low for a short schedule
    mask_ratio: float = 0.75
    eval_mask_ratios: tuple[float, ...] = (0.5, 0.75, 0.9)
    eval_max_samples: int = 64
    seg_train_frames: int = 400  # NR/LTE train split (normal noise power)
    seg_test_frames: int = 100  # NR/LTE test split (uniform noise power): the demo target is measured here
    # frozen: cached features make an epoch cheap (≈3.5 s). More epochs or frames raise the in-distribution score
    # but not the alt generator's (docs/RESULTS.md, session 41: benchmarks/nrlte_head_budget.py)
    seg_epochs: int = 20
    seg_scratch_epochs: int = 4  # end to end: ≈17 s an epoch, so about the frozen run's wall time
    seg_batch: int = 16
    seg_lr: float = 1e-3
    seg_readout: str = "mix"  # frozen head reads a learned mix of every encoder level (see docs/RESULTS.md)
    seg_class_weights: str = "signal-balanced"  # NR against LTE balanced, noise unweighted (docs/RESULTS.md)
    held_out: str = "matlab"  # traffic regime left out of the NR/LTE training mix, scored separately
    held_out_frames: int = 100  # test frames of the held-out regime (main generator)
    alt_frames: int = 100  # test frames of the held-out regime from the independent alt generator
    annotate_frames: int = 8  # captures per set that `annotate` is scored on (in distribution, held out, alt)
    sensing_train_per_class: int = 24  # one backbone, another head: synthetic NTU-Fi files per activity (train)
    sensing_test_per_class: int = 8  # ... and test (the official split has 156 / 44)
    sensing_epochs: int = 60  # linear head on the frozen encoder (features cached once: cheap epochs)
    workers: int = 2
    ism_kwargs: dict = field(default_factory=dict)  # extra generator arguments (shorter recordings for quick)
    seed: int = 0


PRESETS = {
    "full": DemoSettings(),
    "quick": DemoSettings(
        ism_recordings=4,
        ism_eval_recordings=2,
        image_size=(64, 64),
        pretrain_epochs=1,
        pretrain_batch=8,
        eval_max_samples=4,
        seg_train_frames=4,
        seg_test_frames=2,
        held_out_frames=1,
        alt_frames=1,
        annotate_frames=1,
        sensing_train_per_class=2,
        sensing_test_per_class=1,
        sensing_epochs=1,
        seg_epochs=1,
        seg_scratch_epochs=1,
        seg_batch=2,
        workers=1,
        ism_kwargs={"duration_s_range": (0.034, 0.04), "sample_rate_choices_hz": (10e6,)},
    ),
}
TARGET_MCA = 0.90  # the demo's goal: mean class accuracy of the frozen pretrained encoder on the test split


def _generate_ism(out: Path, s: DemoSettings, log: Log | None) -> dict:
    train = generate_corpus(out / "ism", n_recordings=s.ism_recordings, seed=s.seed, workers=s.workers, **s.ism_kwargs)
    held = generate_corpus(
        out / "ism-eval", n_recordings=s.ism_eval_recordings, seed=s.seed + 1000, workers=s.workers, **s.ism_kwargs
    )
    return {"recordings": len(train), "held_out_recordings": len(held)}


def _pretrain(out: Path, s: DemoSettings, log: Log | None) -> dict:
    config = pretrain_mae.MAEPretrainConfig(
        model=s.model, mask_ratio=float(s.mask_ratio), image_size=tuple(s.image_size), workers=s.workers
    )
    train = dataclasses.replace(
        pretrain_mae.DEFAULT_TRAIN,
        epochs=s.pretrain_epochs,
        batch_size=s.pretrain_batch,
        lr=float(s.pretrain_lr),
        warmup_epochs=float(max(1, s.pretrain_epochs // 10)),
        seed=s.seed,
    )
    pretrain_mae.pretrain_mae(out / "ism", config, train, out / "pretrain", log=log)
    last = last_record(out / "pretrain")
    return {
        "epochs": last["epoch"],
        "train_loss": last.get("train_loss"),
        "val_loss": last.get("val_loss"),
        "samples_per_s": last.get("samples_per_s"),
    }


def _evaluate_reconstruction(out: Path, s: DemoSettings, log: Log | None) -> dict:
    config = ReconstructionEvalConfig(
        mask_ratios=[float(r) for r in s.eval_mask_ratios], max_samples=s.eval_max_samples
    )
    report = evaluate_reconstruction_run(out / "pretrain", out / "ism-eval", out / "reconstruction", config)
    return {f"grid_acc@{r['mask_ratio']:.0%}": round(r["accuracy_all"], 4) for r in report["results"]} | {
        "pictures": [
            str(out / "reconstruction" / "gallery.png"),
            str(out / "reconstruction" / "accuracy_vs_mask_ratio.png"),
        ]
    }


def _generate_nrlte(out: Path, s: DemoSettings, log: Log | None) -> dict:
    mix = train_regimes(s.held_out)
    generate_dataset(
        out / "nrlte-test", n_frames=s.seg_test_frames, split="test", seed=s.seed + 2, traffic=mix, workers=s.workers
    )
    generate_dataset(out / "showcase", n_frames=1, split="test", seed=s.seed + 3, iq=True, workers=1)
    generate_fold_data(out / "held-out", s.held_out, train_frames=0, test_frames=s.held_out_frames,
                       alt_frames=s.alt_frames, seed=s.seed, workers=s.workers, train=False)  # fmt: skip
    generate_dataset(
        out / "nrlte-train", n_frames=s.seg_train_frames, split="train", seed=s.seed + 1, traffic=mix, workers=s.workers
    )
    return {
        "train_regimes": ",".join(mix),
        "train_frames": s.seg_train_frames,
        "test_frames": s.seg_test_frames,
        f"{s.held_out}_frames": s.held_out_frames,
        "alt_frames": s.alt_frames,
    }


def _finetune(out: Path, s: DemoSettings, log: Log | None, name: str, mode: str, epochs: int) -> dict:
    # scratch: the same architecture as the pretrained model (init names it), fresh weights
    config = SegmentationConfig(
        init=out / "pretrain", mode=mode, readout=s.seg_readout, class_weights=s.seg_class_weights
    )
    train = dataclasses.replace(FINETUNE_TRAIN, epochs=epochs, batch_size=s.seg_batch, lr=float(s.seg_lr), seed=s.seed)
    finetune_segmentation(out / "nrlte-train", config, train, out / name, log=log)
    report = evaluate_segmentation_run(out / name, out / "nrlte-test", out / f"{name}-eval")
    return {
        "mean_class_accuracy": round(report["mean_class_accuracy"], 4),
        **{f"acc_{k}": round(v, 4) for k, v in report["per_class_accuracy"].items()},
        "pictures": [str(out / f"{name}-eval" / "confusion.png"), str(out / f"{name}-eval" / "overlays.png")],
    }


def _segment_pretrained(out: Path, s: DemoSettings, log: Log | None) -> dict:
    return _finetune(out, s, log, "segmentation", "frozen", s.seg_epochs)


def _segment_scratch(out: Path, s: DemoSettings, log: Log | None) -> dict:
    return _finetune(out, s, log, "segmentation-scratch", "scratch", s.seg_scratch_epochs)


def _held_out(out: Path, s: DemoSettings, log: Log | None) -> dict:
    rows = evaluate_fold(out / "segmentation", out / "held-out", out / "held-out-eval")
    main, alt = rows["main"], rows["alt"]
    return {
        "held_out": s.held_out,
        "mca": round(main["pixel_mean_class_accuracy"], 4),
        "carrier_NR": _r(main["carrier_accuracy_NR"]),
        "carrier_LTE": _r(main["carrier_accuracy_LTE"]),
        "freq_iou": _r(main["freq_iou_mean"]),
        "alt_carrier_NR": _r(alt["carrier_accuracy_NR"]),
        "alt_carrier_LTE": _r(alt["carrier_accuracy_LTE"]),
        "alt_freq_iou": _r(alt["freq_iou_mean"]),
    }


def _r(v):
    return None if v is None else round(v, 4)


def _report(out: Path, s: DemoSettings, log: Log | None) -> dict:
    rows = {}
    for name in ("segmentation", "segmentation-scratch"):
        r = json.loads((out / f"{name}-eval" / "segmentation.json").read_text())
        rows[name] = {
            k: r[k]
            for k in ("mean_class_accuracy", "per_class_accuracy", "mean_iou", "counts", "row_normalised", "binary")
        }
    got = rows["segmentation"]["mean_class_accuracy"]
    in_dist = json.loads((out / "segmentation-eval" / "segmentation.json").read_text()).get("carrier_level") or {}
    held = {g: json.loads((out / "held-out-eval" / g / "segmentation.json").read_text()) for g in ("main", "alt")}
    write_json(
        out / "segmentation_report.json",
        {
            "test_split": "uniform noise power",
            "target_mean_class_accuracy": TARGET_MCA,
            "meets_target": got >= TARGET_MCA,
            "pretrained_frozen": rows["segmentation"],
            "scratch": rows["segmentation-scratch"],
            "train_regimes": train_regimes(s.held_out),
            "pretrained_frozen_carrier_level": {k: v for k, v in in_dist.items() if k != "records"},
            "held_out_regime": {
                "regime": s.held_out,
                **{
                    g: {
                        "mean_class_accuracy": r["mean_class_accuracy"],
                        "per_class_accuracy": r["per_class_accuracy"],
                        "carrier_level": {k: v for k, v in r["carrier_level"].items() if k != "records"},
                        "per_regime": r["per_regime"],
                    }
                    for g, r in held.items()
                },
            },
        },
    )
    per_class = in_dist.get("per_class", {})
    return {
        "pretrained_frozen_mca": round(got, 4),
        "carrier_NR": _r(per_class.get("NR", {}).get("carrier_accuracy")),
        "carrier_LTE": _r(per_class.get("LTE", {}).get("carrier_accuracy")),
        "scratch_mca": round(rows["segmentation-scratch"]["mean_class_accuracy"], 4),
        "meets_0.90_target": got >= TARGET_MCA,
    }


def _annotate_sets(s: DemoSettings) -> dict[str, dict]:
    """The capture sets `annotate` is scored on: the first frames of the in-distribution test split, of the
    held-out regime's test split, and of the alt generator's (the same seeds as the model's test sets)."""
    return {
        "in_distribution": dict(seed=s.seed + TEST_SEED, traffic=train_regimes(s.held_out)),
        "held_out": dict(seed=s.seed + TEST_SEED, traffic=[s.held_out]),
        "held_out_alt": dict(seed=s.seed + ALT_SEED, traffic=[s.held_out], generator="alt"),
    }


def _annotate_test(out: Path, s: DemoSettings, log: Log | None) -> dict:
    """What a user of `annotate` gets: its output on test captures scored per pixel and per carrier
    (``radiofm evaluate annotate``). The IQ (19 MB a capture) is deleted once scored; the scores stay."""
    result = {}
    for name, kw in _annotate_sets(s).items():
        data = out / "annotate-test" / name
        generate_dataset(data, n_frames=s.annotate_frames, split="test", iq=True, workers=s.workers, progress=False,
                         **kw)  # fmt: skip
        report = evaluate_annotate(out / "segmentation", data / "iq", out / "annotate-eval" / name,
                                   AnnotateConfig(progress=False, picture=False), progress=False)  # fmt: skip
        shutil.rmtree(data)
        short = {"in_distribution": "in", "held_out": "ho", "held_out_alt": "alt"}[name]
        result[f"{short}_pixel_mca"] = _r(report["pixel"]["mean_class_accuracy"])
        for c, r in report["carriers"].items():
            result[f"{short}_carrier_{c}"] = _r(r["accuracy"])
    write_json(out / "annotate-eval" / "summary.json", result | {"captures_per_set": s.annotate_frames})
    return result


def _annotate_showcase(out: Path, s: DemoSettings, log: Log | None) -> dict:
    rec = sorted((out / "showcase" / "iq").glob("*.sigmf-meta"))[0]
    result, _ = annotate_file(rec, out / "segmentation", out / "annotated" / "showcase", AnnotateConfig())
    labels = [a.label for a in result.annotations]  # what was found (the output also keeps the capture's truth)
    truth = [a.get("core:label") for a in json.loads(rec.read_text()).get("annotations", [])]
    return {
        "detected": ",".join(labels) or "none",
        "true": ",".join(truth),
        "pictures": [str(out / "annotated" / "showcase.png")],
    }


def _sensing_probe(out: Path, s: DemoSettings, log: Log | None) -> dict:
    """One backbone, another head (issue 10): paper B's linear probe for CSI activity sensing on the frozen
    pretrained encoder (the segmentation model's backbone), on a small synthetic NTU-Fi set. What `radiofm
    generate sensing`, `finetune sensing --mode frozen` and `evaluate sensing` do. The CSI files (about 0.5 GB)
    are deleted once scored; the run and its evaluation stay."""
    data = out / "sensing-data"
    write_ntufi(data, s.sensing_train_per_class, s.sensing_test_per_class, seed=s.seed, workers=s.workers,
                progress=False)  # fmt: skip
    probe = Table4Settings()  # the linear-probe recipe of `reproduce table4` (paper B)
    config = SensingConfig(init=out / "pretrain", mode="frozen", label_smoothing=probe.label_smoothing)
    train = dataclasses.replace(
        FINETUNE_TRAIN, epochs=s.sensing_epochs, batch_size=probe.batch, lr=probe.linear_lr, seed=s.seed, progress=False
    )
    finetune_sensing(data, config, train, out / "sensing", resume=(out / "sensing" / "config.json").exists())
    r = evaluate_sensing_run(out / "sensing", data, out / "sensing-eval")
    shutil.rmtree(data)
    return {
        "accuracy": _r(r["accuracy"]),
        "chance": _r(1 / len(r["per_class"])),
        "test_files": r["samples"],
        "pictures": [str(out / "sensing-eval" / "confusion.png")],
    }


PIPELINE: list[Step] = [
    Step("generate ISM corpus", "ism/corpus.json", _generate_ism, writes=("ism-eval",)),
    Step("pretrain ViT-MAE", "pretrain/model.safetensors", _pretrain),
    Step("evaluate reconstruction", "reconstruction/reconstruction.json", _evaluate_reconstruction),
    Step(
        "generate NR/LTE sets",
        "nrlte-train/manifest.json",
        _generate_nrlte,
        writes=("nrlte-test", "showcase", "held-out"),
    ),  # fmt: skip
    Step(
        "segment: pretrained, frozen",
        "segmentation-eval/segmentation.json",
        _segment_pretrained,
        writes=("segmentation",),
    ),  # fmt: skip
    Step("test: held-out regime, alt", "held-out-eval/alt/segmentation.json", _held_out),
    Step(
        "segment: scratch baseline",
        "segmentation-scratch-eval/segmentation.json",
        _segment_scratch,
        writes=("segmentation-scratch",),
    ),  # fmt: skip
    Step("segmentation report", "segmentation_report.json", _report),
    Step("annotate: test captures", "annotate-eval/summary.json", _annotate_test, writes=("annotate-test",)),
    Step("annotate a capture", "annotated/showcase.sigmf-meta", _annotate_showcase),
    Step("sensing: linear probe", "sensing-eval/sensing.json", _sensing_probe, writes=("sensing-data", "sensing")),
]


def run_demo(
    settings: DemoSettings, out: str | Path, *, preset: str, force: bool = False, log: Log | None = None
) -> dict:
    """Run (or resume) the demo into ``out``; writes and returns ``demo_summary.json``'s content."""
    with pipeline_folder(out, force=force) as out:  # --force redoes; what the run writes is recorded
        t_start = time.perf_counter()
        steps = run_steps(PIPELINE, out, settings, label="demo", log=log)
        summary = {"preset": preset, "total_s": time.perf_counter() - t_start, "steps": steps}
        write_json(out / "demo_summary.json", summary)
        return summary
