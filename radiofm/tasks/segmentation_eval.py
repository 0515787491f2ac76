"""Scoring a segmentation model: pixel confusion matrices (3-class and signal-vs-noise), carrier-level decisions
per class and traffic regime (:mod:`radiofm.tasks.segmentation_carriers`), and the evaluation run that writes
``segmentation.json``, ``confusion.png`` and ``overlays.png`` into an output folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radiofm.data.nrlte import open_segmentation_dataset
from radiofm.errors import check_type
from radiofm.io import atomic_path, write_json
from radiofm.synth.nrlte import CLASSES
from radiofm.tasks.metrics import confusion_matrix, metrics_with_binary, plot_confusion
from radiofm.tasks.segmentation import CLASS_COLORS, load_segmentation_model, predict
from radiofm.tasks.segmentation_carriers import CarrierTally
from radiofm.train.distributed import DeviceChecked


def segmentation_metrics(cm: np.ndarray, classes: tuple[str, ...] = CLASSES) -> dict:
    """The 3-class metrics plus the binary signal-vs-noise matrix (paper A Fig. 8; class 0 is noise)."""
    return metrics_with_binary(cm, classes)


def evaluate_segmentation(
    model, info, specs, labels, *, batch_size=16, device="cpu", keep=0, carriers=None, fft_size=None
) -> tuple[dict, list]:
    """Confusion matrix over every pixel at the dataset's resolution; returns (metrics, first ``keep`` preds).

    With ``carriers`` (one manifest carrier list per frame) and the dataset's ``fft_size``, the metrics also hold
    the ``carrier_level`` and ``per_regime`` blocks (:class:`~radiofm.tasks.segmentation_carriers.CarrierTally`).
    """
    cm = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    tally = CarrierTally(fft_size) if carriers is not None else None
    kept = []
    for s in range(0, len(specs), batch_size):
        probs = predict(model, np.asarray(specs[s : s + batch_size]), info=info, batch_size=batch_size, device=device)
        pred = probs.argmax(1).astype(np.uint8)
        cm += confusion_matrix(np.asarray(labels[s : s + batch_size]), pred, len(CLASSES))
        if tally is not None:
            tally.add(probs, carriers[s : s + batch_size], first_frame=s)
        kept.extend(pred[: max(0, keep - len(kept))])
    metrics = segmentation_metrics(cm)
    if tally is not None:
        metrics.update(tally.report())
    return metrics, kept


@dataclass
class SegmentationEvalConfig(DeviceChecked):
    """How a segmentation run is scored."""

    max_samples: int | None = None  # evaluate at most N frames (the first ones)
    batch_size: int = 16  # frames per model call
    overlays: int = 4  # frames drawn in overlays.png (0: no overlays)
    device: str = "cpu"  # where the model runs


def evaluate_segmentation_run(
    model: str | Path, data: str | Path, out: str | Path, config: SegmentationEvalConfig | None = None
) -> dict:
    """Score the segmentation run ``model`` on the NR/LTE dataset folder ``data`` at the dataset's resolution.

    Writes ``out/segmentation.json`` (the returned report), ``confusion.png`` and ``overlays.png`` atomically.
    When the manifest lists each frame's carriers, the report has ``carrier_level`` and ``per_regime`` blocks.
    """
    config = check_type(config or SegmentationEvalConfig(), SegmentationEvalConfig, "config")
    net, info = load_segmentation_model(model)
    specs, labels, manifest = open_segmentation_dataset(data)
    n = min(len(specs), config.max_samples or len(specs))
    frames = manifest.get("frames")
    carriers = [f.get("carriers", []) for f in frames[:n]] if isinstance(frames, list) and len(frames) >= n else None
    fft_size = int(manifest.get("spectrogram", {}).get("fft_size", specs.shape[1]))
    t0 = time.perf_counter()
    report, preds = evaluate_segmentation(
        net,
        info,
        specs[:n],
        labels[:n],
        batch_size=config.batch_size,
        device=config.device,
        keep=config.overlays,
        carriers=carriers,
        fft_size=fft_size,
    )
    report = {
        "model": str(model),
        "data": str(data),
        "split": manifest.get("split"),
        "generator": manifest.get("generator", "main"),
        "samples": n,
        "resolution": list(specs.shape[1:]),
        "mode": info["extra"].get("finetune", {}).get("mode"),
        **report,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "segmentation.json", report)
        plot_confusion(report, tmp / "confusion.png")
        if preds:
            plot_overlays(specs[: len(preds)], labels[: len(preds)], np.stack(preds), tmp / "overlays.png")
    return report


def plot_overlays(specs: np.ndarray, labels: np.ndarray, preds: np.ndarray, path: Path) -> None:
    """Rows of (spectrogram, truth, prediction), fixed colours noise/NR/LTE."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from radiofm.viz import new_figure, plot_spectrogram, save_figure

    cmap = ListedColormap(CLASS_COLORS)
    n = len(specs)
    fig = new_figure((11.0, 3.0 * n))
    axes = np.atleast_2d(fig.subplots(n, 3))
    for i in range(n):
        plot_spectrogram(axes[i, 0], np.asarray(specs[i]), title="spectrogram (dB)" if i == 0 else None)
        for ax, img, title in ((axes[i, 1], labels[i], "truth"), (axes[i, 2], preds[i], "prediction")):
            ax.imshow(np.asarray(img), origin="lower", aspect="auto", interpolation="nearest", cmap=cmap, vmin=0,
                      vmax=len(CLASSES) - 1)  # fmt: skip
            if i == 0:
                ax.set_title(title)
    handles = [Patch(color=c, label=name) for name, c in zip(CLASSES, CLASS_COLORS)]
    axes[0, 2].legend(handles=handles, loc="upper right", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time (column)")
    save_figure(fig, path)
