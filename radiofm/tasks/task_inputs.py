"""A downstream task's own unlabelled inputs, as 1-channel images for MAE pretraining in the task's domain.

Pretraining the backbone on ISM spectrograms and fine-tuning it on CSI or positioning images crosses domains;
``reproduce tasks --backbones own`` instead pretrains on the task's own training inputs with their labels unused
(the "own" backbone). :func:`task_images` returns those inputs exactly as the task's fine-tune feeds them to the
backbone, so pretraining and fine-tuning see the same distribution:

- ``positioning``: every base station's CSI image of the TRAIN file, resized (bilinear, anti-aliased) and
  standardised per station with the train file's statistics (``finetune positioning``'s ChannelNorm);
- ``sensing``: every antenna's 114 x 2000 amplitude map of the NTU-Fi ``train_amp`` split, resized and
  standardised per antenna with the split's statistics;
- ``signals``: the fine-tune's default front end (SigMF: 1024-point STFT over the capture, two-scale; or the PNG
  images) of every item of the training folder, standardised per image as the signals model standardises its input.

Only training data: the test files are never read. Each input channel becomes its own image (the MAE has one
input channel): (N * C, 1, F, T) float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiofm.errors import ConfigError, DatasetError

TASKS = ("sensing", "signals", "positioning")


def _channel_standardised(load, n: int, image_size: tuple[int, int], *, source: str, progress: bool) -> np.ndarray:
    from radiofm.tasks import pooled

    resized = pooled.resized_stack(load, range(n), image_size, progress=progress)
    std = pooled.standardiser(pooled.norm_of(resized, range(n), source=source))
    for i in range(n):
        resized[i] = std(resized[i])
    return resized


def per_image_standardised(images: np.ndarray) -> np.ndarray:
    """(x - mean) / max(std, 1e-3) over each image's (C, F, T), std with Bessel's correction: the signals model's
    ``input.norm = "per-sample"`` (:meth:`radiofm.models.finetuned.FineTuneModel.normalize`), in float64."""
    x = np.asarray(images, np.float64)
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = np.maximum(x.std(axis=axes, ddof=1, keepdims=True), 1e-3)
    return ((x - mean) / std).astype(np.float32)


def task_images(task: str, data: str | Path, image_size: tuple[int, int], *, progress: bool = False) -> np.ndarray:
    """float32 (N * C, 1, F, T): the training inputs of ``task`` in the folder/file ``data`` (its fine-tune's
    ``data`` argument), as that fine-tune standardises them, one image per input channel. DatasetError when the
    data cannot be read or holds no item; ConfigError for an unknown task."""
    size = tuple(int(v) for v in image_size)
    if task == "positioning":
        from radiofm.data.positioning import open_positioning
        from radiofm.tasks.positioning import resolve_file

        path = resolve_file(data, "train")
        d = open_positioning(path)
        out = _channel_standardised(d.features.__getitem__, len(d), size, source=str(path), progress=progress)
    elif task == "sensing":
        from radiofm.data.ntufi import SPLIT_DIRS, open_ntufi

        full = open_ntufi(data, "train")
        source = f"NTU-Fi {data} {SPLIT_DIRS['train']}"
        out = _channel_standardised(full.read, len(full), size, source=source, progress=progress)
    elif task == "signals":
        from radiofm.tasks.signals import SignalsConfig
        from radiofm.tasks.signals_data import cached_images, frontend_config, open_labelled

        files, fmt = open_labelled(data)
        frontend = frontend_config(
            fmt, size, fft_size=SignalsConfig.fft_size, hop=SignalsConfig.hop, zoom_rows=SignalsConfig.zoom_rows
        )
        out = per_image_standardised(cached_images(files, frontend, progress=progress))
    else:
        raise ConfigError(f"no own-input pretraining for task {task!r}; choose one of {', '.join(TASKS)}")
    if out.shape[0] == 0:
        raise DatasetError(f"{data}: no training items for {task}")
    return np.ascontiguousarray(out.reshape(-1, 1, *size), dtype=np.float32)
