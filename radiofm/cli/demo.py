"""``radiofm demo``: the main job end to end on built-in defaults, as a pipeline of steps.

Each step runs the real CLI (so the demo exercises exactly what users run), records its wall time and a
summary, and is skipped when its output already exists (re-running the demo resumes; ``--force`` redoes).
Later features append steps to :data:`PIPELINE`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from radiofm.cli import _args
from radiofm.pipeline import Step, flags, prepare_folder, run_cli, run_steps, settings_from_args


@dataclass
class DemoSettings:
    """Sizes of the demo. ``full`` fits in ≈15 min on a 2-core CPU; ``quick`` runs in seconds (tests)."""

    ism_recordings: int = 64  # pretraining corpus (≈340 spectrograms of 16 ms)
    ism_eval_recordings: int = 6  # held-out corpus for the reconstruction evaluation
    model: str = "vit-tiny"
    image_size: tuple[int, int] = (224, 224)
    pretrain_epochs: int = 20
    pretrain_batch: int = 32
    pretrain_lr: float = 5e-4  # peak; base-lr scaling gives 1.25e-4 at batch 32, too low for a short schedule
    mask_ratio: float = 0.75
    eval_mask_ratios: tuple[float, ...] = (0.5, 0.75, 0.9)
    eval_max_samples: int = 64
    seg_train_frames: int = 400  # NR/LTE train split (normal noise power)
    seg_test_frames: int = 100  # NR/LTE test split (uniform noise power): the demo target is measured here
    seg_epochs: int = 40  # frozen: cached features make an epoch cheap (≈6 s); 30 is too few (docs/RESULTS.md)
    seg_scratch_epochs: int = 8  # end to end: ≈27 s an epoch, so about the frozen run's wall time
    seg_batch: int = 16
    seg_lr: float = 1e-3
    seg_readout: str = "mix"  # frozen head reads a learned mix of every encoder level (see docs/RESULTS.md)
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
        seg_epochs=1,
        seg_scratch_epochs=1,
        seg_batch=2,
        workers=1,
        ism_kwargs={"duration_s_range": (0.034, 0.04), "sample_rate_choices_hz": (10e6,)},
    ),
}


def _generate_ism(out: Path, s: DemoSettings) -> dict:
    from radiofm.synth.ism import generate_corpus

    train = generate_corpus(out / "ism", n_recordings=s.ism_recordings, seed=s.seed, workers=s.workers, **s.ism_kwargs)
    held = generate_corpus(
        out / "ism-eval", n_recordings=s.ism_eval_recordings, seed=s.seed + 1000, workers=s.workers, **s.ism_kwargs
    )
    return {"recordings": len(train), "held_out_recordings": len(held)}


def _pretrain(out: Path, s: DemoSettings) -> dict:
    opts = {
        "--model": s.model,
        "--mask-ratio": s.mask_ratio,
        "--epochs": s.pretrain_epochs,
        "--batch-size": s.pretrain_batch,
        "--lr": s.pretrain_lr,
        "--image-size": f"{s.image_size[0]}x{s.image_size[1]}",
        "--warmup-epochs": max(1, s.pretrain_epochs // 10),
        "--workers": s.workers,
        "--seed": s.seed,
    }
    run_cli(["pretrain", "--data", str(out / "ism"), "--out", str(out / "pretrain"), *flags(opts)])
    lines = (out / "pretrain" / "metrics.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    return {
        "epochs": last["epoch"],
        "train_loss": last.get("train_loss"),
        "val_loss": last.get("val_loss"),
        "samples_per_s": last.get("samples_per_s"),
    }


def _evaluate_reconstruction(out: Path, s: DemoSettings) -> dict:
    run_cli(
        [
            "evaluate",
            "reconstruction",
            "--model",
            str(out / "pretrain"),
            "--data",
            str(out / "ism-eval"),
            "--mask-ratios",
            ",".join(str(r) for r in s.eval_mask_ratios),
            "--max-samples",
            str(s.eval_max_samples),
            "--out",
            str(out / "reconstruction"),
        ]
    )
    report = json.loads((out / "reconstruction" / "reconstruction.json").read_text())
    return {f"grid_acc@{r['mask_ratio']:.0%}": round(r["accuracy_all"], 4) for r in report["results"]} | {
        "pictures": [
            str(out / "reconstruction" / "gallery.png"),
            str(out / "reconstruction" / "accuracy_vs_mask_ratio.png"),
        ]
    }


def _generate_nrlte(out: Path, s: DemoSettings) -> dict:
    from radiofm.synth.nrlte import generate_dataset

    generate_dataset(out / "nrlte-test", n_frames=s.seg_test_frames, split="test", seed=s.seed + 2, workers=s.workers)
    generate_dataset(out / "showcase", n_frames=1, split="test", seed=s.seed + 3, iq=True, workers=1)
    generate_dataset(
        out / "nrlte-train", n_frames=s.seg_train_frames, split="train", seed=s.seed + 1, workers=s.workers
    )
    return {"train_frames": s.seg_train_frames, "test_frames": s.seg_test_frames}


def _finetune(out: Path, s: DemoSettings, name: str, mode: str, epochs: int) -> dict:
    opts = {"--mode": mode, "--epochs": epochs, "--batch-size": s.seg_batch, "--lr": s.seg_lr, "--seed": s.seed}
    opts["--readout"] = s.seg_readout
    init = ["--init", str(out / "pretrain")]  # scratch: same architecture as the pretrained model, fresh weights
    run_cli(
        ["finetune", "segmentation", "--data", str(out / "nrlte-train"), *init, "--out", str(out / name), *flags(opts)]
    )
    run_cli(
        [
            "evaluate",
            "segmentation",
            "--model",
            str(out / name),
            "--data",
            str(out / "nrlte-test"),
            "--out",
            str(out / f"{name}-eval"),
        ]
    )
    report = json.loads((out / f"{name}-eval" / "segmentation.json").read_text())
    return {
        "mean_class_accuracy": round(report["mean_class_accuracy"], 4),
        **{f"acc_{k}": round(v, 4) for k, v in report["per_class_accuracy"].items()},
        "pictures": [str(out / f"{name}-eval" / "confusion.png"), str(out / f"{name}-eval" / "overlays.png")],
    }


def _segment_pretrained(out: Path, s: DemoSettings) -> dict:
    return _finetune(out, s, "segmentation", "frozen", s.seg_epochs)


def _segment_scratch(out: Path, s: DemoSettings) -> dict:
    return _finetune(out, s, "segmentation-scratch", "scratch", s.seg_scratch_epochs)


def _report(out: Path, s: DemoSettings) -> dict:
    from radiofm.io import write_json

    rows = {}
    for name in ("segmentation", "segmentation-scratch"):
        r = json.loads((out / f"{name}-eval" / "segmentation.json").read_text())
        rows[name] = {
            k: r[k]
            for k in ("mean_class_accuracy", "per_class_accuracy", "mean_iou", "counts", "row_normalised", "binary")
        }
    target = 0.90
    got = rows["segmentation"]["mean_class_accuracy"]
    write_json(
        out / "segmentation_report.json",
        {
            "test_split": "uniform noise power",
            "target_mean_class_accuracy": target,
            "meets_target": got >= target,
            "pretrained_frozen": rows["segmentation"],
            "scratch": rows["segmentation-scratch"],
        },
    )
    return {
        "pretrained_frozen_mca": round(got, 4),
        "scratch_mca": round(rows["segmentation-scratch"]["mean_class_accuracy"], 4),
        "meets_0.90_target": got >= target,
    }


def _annotate_showcase(out: Path, s: DemoSettings) -> dict:
    rec = sorted((out / "showcase" / "iq").glob("*.sigmf-meta"))[0]
    run_cli(["annotate", str(rec), "--model", str(out / "segmentation"), "--out", str(out / "annotated" / "showcase")])
    meta = json.loads((out / "annotated" / "showcase.sigmf-meta").read_text())
    labels = [a.get("core:label") for a in meta.get("annotations", [])]
    truth = [a.get("core:label") for a in json.loads(rec.read_text()).get("annotations", [])]
    return {
        "detected": ",".join(labels) or "none",
        "true": ",".join(truth),
        "pictures": [str(out / "annotated" / "showcase.png")],
    }


PIPELINE: list[Step] = [
    Step("generate ISM corpus", "ism/corpus.json", _generate_ism),
    Step("pretrain ViT-MAE", "pretrain/model.safetensors", _pretrain),
    Step("evaluate reconstruction", "reconstruction/reconstruction.json", _evaluate_reconstruction),
    Step("generate NR/LTE sets", "nrlte-train/manifest.json", _generate_nrlte),
    Step("segment: pretrained, frozen", "segmentation-eval/segmentation.json", _segment_pretrained),
    Step("segment: scratch baseline", "segmentation-scratch-eval/segmentation.json", _segment_scratch),
    Step("segmentation report", "segmentation_report.json", _report),
    Step("annotate a capture", "annotated/showcase.sigmf-meta", _annotate_showcase),
]


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on built-in defaults (≈15 min on 2 CPU cores)")
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="demo folder (default demo-out)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="full", help="full (default) or quick (seconds)")
    p.add_argument("--force", action="store_true", help="redo every step even when its output exists")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=_args.positive_int, default=None, help="worker processes for generation")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(PRESETS[args.preset], args)
    out = prepare_folder(args.out, force=args.force)
    t_start = time.perf_counter()
    steps = run_steps(PIPELINE, out, settings, label="demo")
    total = time.perf_counter() - t_start
    _print_summary(steps, total, out)
    from radiofm.io import write_json

    write_json(out / "demo_summary.json", {"preset": args.preset, "total_s": total, "steps": steps})
    return 0


def _print_summary(summary, total: float, out: Path) -> None:
    print("\n" + "=" * 78)
    print(f"radiofm demo summary ({total / 60:.1f} min) — outputs in {out}")
    print("=" * 78)
    pictures = []
    for step in summary:
        items = {k: v for k, v in step.items() if k not in ("name", "seconds", "pictures")}
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in items.items())
        print(f"{step['name']:<28} {step['seconds']:>7.1f}s  {shown}")
        pictures += step.get("pictures", [])
    if pictures:
        print("\npictures:")
        for p in pictures:
            print(f"  {p}")


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
