"""Paper B's pretraining: masked spectrogram modeling (MSM) on the ViT masked autoencoder.

:func:`pretrain_mae` builds (or reuses) the cached spectrogram dataset of a folder of recordings
(:mod:`radiofm.data.spectrograms`: 16 ms segments → dB spectrogram → resized → dataset-wide normalisation),
holds out a validation part, and trains :class:`MAEPretrainTask` through the one training loop: mask
``mask_ratio`` of the patches, reconstruct them, loss on the masked patches only. Checkpoint kind ``"mae"``.

    result = pretrain_mae("corpus", MAEPretrainConfig(model="vit-tiny", image_size=(64, 64)),
                          dataclasses.replace(DEFAULT_TRAIN, epochs=2, batch_size=8), "runs/mae")
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from radiofm.data.spectrograms import SpectrogramParams, build_spectrogram_dataset
from radiofm.data.splits import train_val_split
from radiofm.errors import ConfigError, check_count, check_number, check_type
from radiofm.models.mae import visible_patches
from radiofm.models.registry import create_model, get_config
from radiofm.models.vit import check_grid
from radiofm.train import RunResult, TrainConfig, build_dataset_once, fit, refuse_existing_run, seeded
from radiofm.train.speed import fast_wanted

KIND = "mae"
SPLIT_SALT = 7  # validation holdout: radiofm.data.splits.train_val_split(..., salt=7)
# optimisation defaults of a pretraining run (``radiofm pretrain``'s defaults too)
DEFAULT_TRAIN = TrainConfig(epochs=20, batch_size=64, base_lr=1e-3, warmup_epochs=2.0, weight_decay=0.05)


@dataclass
class MAEPretrainTask:
    """ViT-MAE pretraining: mask ``mask_ratio`` of the patches, reconstruct them (loss on masked patches only)."""

    mask_ratio: float = 0.75
    kind: str = KIND
    masked_only: bool = False  # run the decoder's last block and head on masked patches only (TrainConfig.fast)

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask ratio must be in (0, 1), got {self.mask_ratio}")

    def step(self, model, batch, *, generator: torch.Generator | None, train: bool):
        """batch: (B, C, F, T) normalised spectrograms, or ``(spectrograms, mask noise)`` from :meth:`draw`."""
        x, noise = batch if isinstance(batch, (tuple, list)) else (batch, None)
        full = not self.masked_only
        loss, _pred, _mask = model(x, mask_ratio=self.mask_ratio, generator=generator, full_pred=full, noise=noise)
        return loss, {}

    def draw(self, model, batch: torch.Tensor, generator: torch.Generator):
        """``(batch, mask noise)``: the step's random draws taken ahead, one row per item, so that the batch can be
        split across threads (:mod:`radiofm.train.split`) with the masks of the whole batch. The loss is a mean over
        items with equally many masked patches each, so the parts' losses weighted by their sizes give it."""
        return batch, model.mask_noise(batch.shape[0], device=batch.device, generator=generator)


@dataclass
class MAEPretrainConfig:
    """ViT-MAE masked spectrogram pretraining (paper B)."""

    model: str = "vit-tiny"  # registered MAE preset ("vit-tiny", "vit-s", "vit-m", "vit-l")
    mask_ratio: float = 0.75  # fraction of the patches masked
    image_size: tuple[int, int] | None = None  # model input (F, T) (an int n: (n, n)); None: the preset's
    val_fraction: float = 0.1  # held-out fraction for validation loss
    cache_dir: Path | None = None  # the folder holding the spectrogram dataset's cache (default: beside the data)
    workers: int = 1  # processes building the dataset
    repair_nonfinite: bool = False  # zero NaN/Inf samples (with a warning) instead of refusing them

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 0.9:
            raise ConfigError(f"--val-fraction must be in [0, 0.9), got {self.val_fraction}")
        check_number(self.mask_ratio, "mask_ratio", low=0.0, high=1.0, open_low=True, open_high=True)
        check_count(self.workers, "workers", high=256)
        if self.image_size is not None:
            size = (self.image_size,) * 2 if isinstance(self.image_size, numbers.Integral) else self.image_size
            if isinstance(size, str) or not hasattr(size, "__len__") or len(size) != 2:
                raise ConfigError(f"image_size must be (F, T) or an int n for (n, n), got {self.image_size!r}")
            for v in size:
                check_count(v, "image_size", high=8192)
            self.image_size = tuple(int(v) for v in size)


def pretrain_mae(
    data: str | Path | list,
    config: MAEPretrainConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """MSM-pretrain ``config.model`` on the recordings (or built dataset) ``data``; ``out`` is the checkpoint."""
    check_type(config, MAEPretrainConfig, "config")
    check_type(train, TrainConfig, "train")
    out = Path(out)
    image_size = tuple(config.image_size or get_config(config.model).img_size)
    check_before_the_data(config, image_size, out, resume)
    params = SpectrogramParams(image_size=image_size, nonfinite="repair" if config.repair_nonfinite else "error")
    ds = build_dataset_once(
        lambda: build_spectrogram_dataset(
            data, params=params, cache_root=config.cache_dir, workers=config.workers, progress=train.progress
        ),
        train.device,
    )
    data_info = {"source": str(data), "params": ds.params.to_dict(), "stats": ds.stats, "count": len(ds)}
    return _fit_mae(ds, image_size, config, train, out, data_info, "pretrain", "spectrograms", resume, log)


def check_before_the_data(config: MAEPretrainConfig, image_size: tuple[int, int], out: Path, resume: bool) -> None:
    """What the model and the run folder would refuse, refused before the spectrogram dataset is built: a size the
    patches do not tile, a mask that leaves no patch visible, an ``out`` that holds a run (no ``resume``). Each
    came after the whole cache had been built, minutes to hours on a large corpus (session 60's review)."""
    patch = get_config(config.model).patch_size
    gf, gt = check_grid(image_size, patch)
    visible_patches(gf * gt, config.mask_ratio)
    refuse_existing_run(out, resume)


def _fit_mae(ds, image_size, config: MAEPretrainConfig, train: TrainConfig, out, data_info: dict, command: str,
             unit: str, resume: bool, log) -> RunResult:  # fmt: skip
    """The validation holdout, the seeded model, :class:`MAEPretrainTask` and :func:`radiofm.train.fit` of both
    pretraining entry points; ``data_info`` goes to the checkpoint's ``extra["data"]``."""
    train_idx, val_idx = train_val_split(len(ds), config.val_fraction, seed=train.seed, salt=SPLIT_SALT)
    train_set = torch.utils.data.Subset(ds, train_idx)
    val_set = torch.utils.data.Subset(ds, val_idx) if val_idx else None
    with seeded(train.seed):  # initialisation from the seed: same command, same weights
        model = create_model(config.model, img_size=image_size)
    task = MAEPretrainTask(mask_ratio=config.mask_ratio, masked_only=fast_wanted(train.fast, train.device))
    extra = {"model_name": config.model, "mask_ratio": task.mask_ratio, "data": data_info}
    record = fit(
        model, task, train_set, cfg=train, out_dir=out, extra=extra, val_set=val_set, resume=resume,
        run_info={"command": command}, log=log,
    )  # fmt: skip
    info = {"model": config.model, "mask_ratio": task.mask_ratio, "unit": unit}
    return RunResult(Path(out), record, len(train_set), len(val_set) if val_set else 0, info)


def pretrain_mae_on_images(
    images: np.ndarray,
    config: MAEPretrainConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    source: str,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """MSM-pretrain ``config.model`` on ``images`` (N, 1, F, T), already normalised — e.g. a downstream task's own
    unlabelled inputs (:func:`radiofm.tasks.task_inputs.task_images`) — with the same task, split and checkpoint as
    :func:`pretrain_mae`. ``source`` names the images in the checkpoint (``extra["data"]``)."""
    check_type(config, MAEPretrainConfig, "config")
    check_type(train, TrainConfig, "train")
    images = np.asarray(images)
    size = tuple(config.image_size or get_config(config.model).img_size)
    if images.ndim != 4 or images.shape[1] != 1 or tuple(images.shape[2:]) != size or len(images) < 2:
        raise ConfigError(f"pretraining images must be (N >= 2, 1, {size[0]}, {size[1]}), got {images.shape}")
    if not np.isfinite(images).all():
        raise ConfigError(f"pretraining images from {source} hold NaN or Inf values")
    ds = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    data_info = {"source": str(source), "count": len(ds), "images": "normalised task inputs"}
    return _fit_mae(ds, size, config, train, out, data_info, "pretrain (task inputs)", "images", resume, log)
