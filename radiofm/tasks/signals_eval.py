"""Signal identification evaluation: accuracy, per-class accuracy (recall), confusion matrix and its figure.

``evaluate_signals_run(model, data, out)`` loads a ``finetune signals`` run, runs its front end over a labelled
folder of the same form it was trained on (SigMF or PNG), and writes ``out/signals.json`` (the returned report) and
``out/confusion.png`` atomically. A test class the model was not trained on is a one-line DatasetError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from radiofm.data.signals import check_classes
from radiofm.errors import ConfigError, check_type
from radiofm.io import atomic_path, write_json
from radiofm.tasks.metrics import confusion_matrix, matrix_metrics
from radiofm.tasks.signals import KIND, load_signals_model
from radiofm.tasks.signals_data import cached_images, open_labelled
from radiofm.train.distributed import DeviceChecked


@dataclass
class SignalsEvalConfig(DeviceChecked):
    batch_size: int = 32  # images per forward pass
    device: str = "cpu"  # torch device
    progress: bool = False  # tqdm over the front end

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")


@torch.no_grad()
def predict_signals(model, images: np.ndarray, *, batch_size: int = 32, device: str = "cpu") -> np.ndarray:
    """Class probabilities float32 (N, C) for front-end images (N, 1, H, W)."""
    model.eval().to(device)
    out = []
    for s in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[s : s + batch_size])).to(device)
        out.append(model(x).float().softmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(model.config["classes"])), np.float32)


def signals_metrics(truth: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict:
    """{"accuracy", "mean_class_accuracy", "per_class", "confusion" (counts, row = truth), "row_normalised"}."""
    m = matrix_metrics(confusion_matrix(truth, pred, len(classes)), classes)
    return {
        "accuracy": m["pixel_accuracy"],
        "mean_class_accuracy": m["mean_class_accuracy"],
        "per_class": m["per_class_accuracy"],
        "classes": list(classes),
        "confusion": m["counts"],
        "row_normalised": m["row_normalised"],
    }


def evaluate_signals_run(
    model_dir: str | Path, data: str | Path, out: str | Path, config: SignalsEvalConfig | None = None
) -> dict:
    """Score a fine-tuned signal-identification run on the labelled folder ``data``; writes ``out`` (see module)."""
    config = check_type(config or SignalsEvalConfig(), SignalsEvalConfig, "config")
    model, info = load_signals_model(model_dir)
    classes = list(model.config["classes"])
    frontend = model.config["frontend"]
    files, fmt = open_labelled(data)
    if fmt != frontend["format"]:
        raise ConfigError(
            f"{data}: holds {fmt} items but the model {model_dir} was trained on {frontend['format']} items"
        )
    check_classes(classes, files, str(data))
    images = cached_images(files, frontend, progress=config.progress)
    truth = np.array([classes.index(label) for _, label in files.items], dtype=np.int64)
    probs = predict_signals(model, images, batch_size=config.batch_size, device=config.device)
    report = {
        "task": KIND,
        "model": str(model_dir),
        "data": str(data),
        "format": fmt,
        "samples": len(files),
        "mode": info.get("extra", {}).get("finetune", {}).get("mode"),
        **signals_metrics(truth, probs.argmax(1), classes),
    }
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "signals.json", report)
        plot_signal_confusion(report, tmp / "confusion.png")
    return report


def plot_signal_confusion(report: dict, path: Path) -> None:
    """Row-normalised confusion matrix (percent of each true class) with the per-class accuracy in the row labels;
    the percentages are written on the diagonal and on confusions of at least 20 %."""
    from radiofm.viz import new_figure, save_figure

    classes = report["classes"]
    k = len(classes)
    norm = np.array([[np.nan if v is None else v for v in row] for row in report["row_normalised"]], dtype=float)
    side = max(4.5, 0.42 * k + 2.5)
    fig = new_figure((side + 1.5, side))
    ax = fig.subplots()
    im = ax.imshow(np.nan_to_num(norm), vmin=0, vmax=1, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if (i == j and not np.isnan(norm[i, j])) or np.nan_to_num(norm[i, j]) >= 0.2:  # few texts: fast
                color = "white" if norm[i, j] > 0.5 else "black"
                ax.text(j, i, f"{100 * norm[i, j]:.0f}", ha="center", va="center", fontsize=7, color=color)
    acc = report["per_class"]
    ax.set_xticks(range(k), classes, rotation=70, ha="right", fontsize=8)
    labels = [f"{c} ({'-' if acc[c] is None else f'{100 * acc[c]:.0f}%'})" for c in classes]
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (per-class accuracy)")
    total = report["accuracy"]
    ax.set_title(f"signal identification: accuracy {100 * (total or 0):.1f}% on {report['samples']} items")
    fig.colorbar(im, ax=ax, fraction=0.04, label="fraction of the true class")
    save_figure(fig, path)
