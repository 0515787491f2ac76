"""Paper A's pretraining: masked spectrogram modeling (MSM) of radio sentences on the ConvLSTM.

:func:`pretrain_convlstm` builds radio sentences from a folder of recordings (:mod:`radiofm.data.sentences`),
draws the paper-A split (50 % pretraining, 50 % forecasting split 80/20 train/test, by recording; saved as
``split.json`` in the run and in the checkpoint's extra), masks ≈20 % of each sentence's tokens with white noise
and trains through the one training loop. Checkpoint kind ``"convlstm-msm"`` (family ``convlstm``); the
forecasting and segmentation fine-tunes start from it. The sentence helpers below are shared with
:mod:`radiofm.tasks.forecasting`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from radiofm.data.sentences import (
    PAPER_A_SPLIT,
    SentenceConfig,
    SentenceDataset,
    build_sentences,
    collate_sentences,
)
from radiofm.data.splits import split_indices, train_val_split
from radiofm.errors import CheckpointError, ConfigError, DatasetError, check_type
from radiofm.io import write_json
from radiofm.models.checkpoint_check import check_dataclass_config
from radiofm.models.registry import create_model, get_config
from radiofm.tasks.pretrain_mae import DEFAULT_TRAIN as PRETRAIN_DEFAULTS
from radiofm.train import RunResult, TrainConfig, build_dataset_once, fit, init_distributed, seeded

DEFAULT_MASK_RATIO = 0.2  # paper A §III-B
SENTENCE_TOKENS = 16  # tokens of a longest sentence: 256×256 → 16 tokens of 256×16 [3p]
MIN_RECORDINGS_FOR_GROUPED_SPLIT = 10  # fewer: split by sentence (whole recordings would leave parts empty)
KIND = "convlstm-msm"
SPLIT_SALT = 7  # validation holdout of the pretraining part: train_val_split(..., salt=7)
DEFAULT_TRAIN = PRETRAIN_DEFAULTS  # optimisation defaults of a pretraining run (``radiofm pretrain``'s too)


# ============================================================================================ sentences


def sentence_config_for(model_config, *, image_size=None, nonfinite: str = "error"):
    """Sentences whose tokens fit ``model_config.token_shape``: height H, longest sentence 16 tokens."""
    h, w = model_config.token_shape
    width = SENTENCE_TOKENS * w if image_size is None else int(image_size[1])
    return SentenceConfig(height=h, token_width=w, width=width, nonfinite=nonfinite)


def load_sentences(data, config, *, seed: int, cache_dir=None, workers: int = 1, progress: bool = True, stats=None):
    """Build (or reuse) the sentence dataset of ``data``; ``stats`` (mean_db/std_db) replaces its own normalisation."""
    data = Path(data)
    ds = build_sentences(data, config, seed=seed, cache_root=cache_dir, workers=workers, progress=progress)
    if tuple(ds.config.token_shape) != tuple(config.token_shape):
        raise DatasetError(
            f"{data}: sentence dataset has tokens {ds.config.token_shape}, the model needs {config.token_shape}"
        )
    return SentenceDataset(ds.folder, stats=stats) if stats is not None else ds


def data_record(ds, source) -> dict:
    """What a checkpoint needs to find and normalise its data again."""
    return {
        "source": str(source),
        "folder": str(ds.folder),
        "key": ds.manifest.get("key"),
        "seed": int(ds.manifest.get("seed", 0)),
        "config": ds.config.to_dict(),
        "stats": dict(ds.stats),
        "count": len(ds),
    }


MIN_STD_DB = 1e-3  # a recorded spread of the data's dB values below this is no statistic (it would blow values up)


def read_data_record(extra: dict, where) -> tuple[SentenceConfig | None, int | None, dict | None]:
    """(sentence config, seed, stats) of a run's ``extra["data"]`` (:func:`data_record`), each None where the run
    did not record it, checked: a checkpoint's config.json is untrusted input. CheckpointError in one line."""
    record = extra.get("data") or {}
    if not isinstance(record, dict):
        raise CheckpointError(f"{where}: extra.data is not an object")
    sconfig = None
    if record.get("config"):
        check_dataclass_config(SentenceConfig, record["config"], f"{where}: extra.data.config")  # keys and types
        try:
            sconfig = SentenceConfig(**record["config"])
        except (TypeError, ConfigError) as exc:
            raise CheckpointError(f"{where}: extra.data.config is not a sentence config ({exc})") from None
    seed = record.get("seed")
    if seed is not None and (type(seed) is not int or not 0 <= seed < 2**32):
        raise CheckpointError(f"{where}: extra.data.seed {str(seed)[:40]!r} is not a seed")
    stats = record.get("stats")
    if stats is not None:
        mean, std = (stats.get(k) if isinstance(stats, dict) else None for k in ("mean_db", "std_db"))
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (mean, std))
        if not numbers or std < MIN_STD_DB:
            raise CheckpointError(f"{where}: extra.data.stats needs a finite mean_db and std_db >= {MIN_STD_DB}")
    return sconfig, seed, stats


def check_split_indices(split: dict, parts, n: int, where) -> None:
    """The ``parts`` of a run's split record (``indices``) are lists of sentence indices in [0, n)."""
    indices = split.get("indices") if isinstance(split, dict) else None
    for part in parts:
        idx = indices.get(part) if isinstance(indices, dict) else None
        if not isinstance(idx, list) or not all(type(i) is int and 0 <= i < n for i in idx):
            raise CheckpointError(f"{where}: its split's {part} indices are not sentence numbers below {n}")


def make_split(ds, fractions, *, seed: int, by: str = "recording") -> dict:
    """A reproducible split of ``ds``'s sentences (whole recordings per part when ``by="recording"``)."""
    if by not in ("recording", "sentence"):
        raise ConfigError(f"split must be by 'recording' or 'sentence', got {by!r}")
    groups = ds.sources.tolist() if by == "recording" else None
    indices = split_indices(len(ds), fractions, seed, groups=groups)
    for name, idx in indices.items():
        if not idx and fractions[name] > 0:
            units = len(set(groups)) if groups is not None else len(ds)
            raise DatasetError(
                f"the {name} part of the split is empty: {units} {by}s are too few for {dict(fractions)}"
                + (" (try --split-by sentence)" if by == "recording" else "")
            )
    return {
        "seed": seed,
        "by": by,
        "fractions": dict(fractions),
        "data_key": ds.manifest.get("key"),
        "sentences": len(ds),
        "indices": indices,
    }


def write_split(run_dir, split: dict) -> None:
    """``run_dir/split.json``: the split record beside the checkpoint (it is in the checkpoint's extra too)."""
    write_json(Path(run_dir) / "split.json", split)


# ============================================================================================ pretraining


@dataclasses.dataclass
class ConvLSTMPretrainTask:
    """MSM on radio sentences: ≈``mask_ratio`` of each sentence's tokens become white noise; MSE on those only."""

    mask_ratio: float = DEFAULT_MASK_RATIO
    kind: str = KIND

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask ratio must be in (0, 1), got {self.mask_ratio}")

    def step(self, model, batch, *, generator: torch.Generator, train: bool):
        """batch: (x (B, T, 1, H, W), lengths (B,)) from ``collate_sentences``."""
        x, lengths = batch
        loss, _pred, mask = model(x, lengths, mask_ratio=self.mask_ratio, generator=generator)
        return loss, {"masked_tokens": mask.float().sum(1).mean()}


@dataclass
class ConvLSTMPretrainConfig:
    """ConvLSTM MSM pretraining (paper A §III-B)."""

    model: str = "convlstm"  # registered ConvLSTM preset ("convlstm", "convlstm-tiny")
    mask_ratio: float = DEFAULT_MASK_RATIO  # fraction of each sentence's tokens masked
    image_size: tuple[int, int] | None = None  # (H, W): token height H, a longest sentence W columns
    val_fraction: float = 0.1  # held-out fraction of the pretraining part for validation loss
    cache_dir: Path | None = None  # where the sentence dataset is cached (default: beside the data)
    workers: int = 1  # processes building the sentence dataset
    repair_nonfinite: bool = False  # zero NaN/Inf samples (with a warning) instead of refusing them

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 0.9:
            raise ConfigError(f"--val-fraction must be in [0, 0.9), got {self.val_fraction}")


def pretrain_convlstm(
    data: str | Path,
    config: ConvLSTMPretrainConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """MSM-pretrain ``config.model`` on the recordings in ``data``; the run folder ``out`` is the checkpoint.

    ``result.info["mask_ratio"]`` is the ratio used; ``out/split.json`` the paper-A split.
    """
    check_type(config, ConvLSTMPretrainConfig, "config")
    check_type(train, TrainConfig, "train")
    data, out = Path(data), Path(out)
    mask_ratio = config.mask_ratio
    model_cfg = get_config(config.model)
    overrides = {}
    if config.image_size is not None:  # (H, W): token height H, a longest sentence W columns
        overrides["token_shape"] = (int(config.image_size[0]), model_cfg.token_shape[1])
        model_cfg = dataclasses.replace(model_cfg, **overrides)
    sconfig = sentence_config_for(
        model_cfg, image_size=config.image_size, nonfinite="repair" if config.repair_nonfinite else "error"
    )
    ds = build_dataset_once(
        lambda: load_sentences(
            data, sconfig, seed=train.seed, cache_dir=config.cache_dir, workers=config.workers,
            progress=train.progress,
        ),
        train.device,
    )  # fmt: skip
    n_recordings = len(set(ds.sources.tolist()))
    by = "recording" if n_recordings >= MIN_RECORDINGS_FOR_GROUPED_SPLIT else "sentence"
    if by == "sentence":
        warnings.warn(
            f"only {n_recordings} recording(s): the paper-A split is drawn by sentence, so one recording's "
            "sentences may fall in different parts",
            stacklevel=2,
        )
    split = make_split(ds, PAPER_A_SPLIT, seed=train.seed, by=by)
    train_idx, val_idx = train_val_split(
        split["indices"]["pretrain"], config.val_fraction, seed=train.seed, salt=SPLIT_SALT
    )
    split["val"] = val_idx
    train_set = torch.utils.data.Subset(ds, train_idx)
    val_set = torch.utils.data.Subset(ds, val_idx) if val_idx else None
    with seeded(train.seed):  # initialisation from the seed, global RNG left as it was
        model = create_model(config.model, **overrides)
    task = ConvLSTMPretrainTask(mask_ratio=mask_ratio)
    extra = {"model_name": config.model, "mask_ratio": mask_ratio, "data": data_record(ds, data), "split": split}
    record = fit(
        model,
        task,
        train_set,
        cfg=train,
        out_dir=out,
        extra=extra,
        val_set=val_set,
        resume=resume,
        collate_fn=collate_sentences,
        run_info={"command": "pretrain"},
        log=log,
    )
    if init_distributed(train.device).is_main:
        write_split(out, split)
    info = {"model": config.model, "mask_ratio": mask_ratio, "unit": "sentences"}
    return RunResult(out, record, len(train_set), len(val_set) if val_set else 0, info)
