"""Spectrum forecasting (paper A §III-C, Fig. 6) on a pretrained ConvLSTM: fine-tuning and the resource-grid metric.

- :func:`finetune_forecasting`: the MSM model with its backbone frozen, only the Conv3D trained to predict the next
  token from a window of ``context`` tokens (MSE, paper A eq. 2); ``mode="scratch"`` trains the same architecture
  from random weights on the same windows. Checkpoint kind ``"forecasting"``
  (:class:`radiofm.models.forecaster.ConvLSTMForecaster`).
- :func:`evaluate_forecasting_run`: autoregressive rollout 1..4 tokens ahead; the resource-grid metric (SPEC §4,
  μ + 0.5σ per token) over a grid of block resolutions (frequency bins × time columns) for the model, an optional
  baseline run and persistence (the last context token repeated); ``forecasting.json``, ``heatmaps.png``
  (paper A Fig. 6), ``tokens.png`` (:mod:`radiofm.tasks.forecasting_plots`).

Window j of a sentence x (T, 1, H, W) with start s: input x[s : s+n], targets x[s+n : s+n+horizon]
(:class:`radiofm.data.windows.ForecastWindows`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radiofm.data.splits import label_subset, train_val_split
from radiofm.data.windows import ForecastWindows
from radiofm.dsp.grid import detection_rates, grid_detection
from radiofm.errors import CheckpointError, ConfigError, DatasetError, check_count, check_type
from radiofm.io import atomic_path, write_json
from radiofm.models.checkpoint import load_checkpoint, read_checkpoint_info
from radiofm.models.finetuned import configure_mode, trainable_parameters
from radiofm.models.forecaster import KIND, TOKEN_READOUTS, ConvLSTMForecaster, persistence
from radiofm.models.registry import config_from_dict, get_config
from radiofm.tasks import finetune as ft
from radiofm.tasks.forecasting_plots import plot_heatmaps, plot_tokens
from radiofm.tasks.pretrain_convlstm import KIND as PRETRAIN_KIND
from radiofm.tasks.pretrain_convlstm import (
    check_split_indices,
    data_record,
    load_sentences,
    make_split,
    read_data_record,
    sentence_config_for,
    write_split,
)
from radiofm.train import RunResult, TrainConfig, fit, init_distributed, is_main_process, seeded
from radiofm.train.distributed import DeviceChecked

FORECAST_SPLIT = {"forecast_train": 0.8, "forecast_test": 0.2}  # data not seen by pretraining: 80/20
HORIZONS = 4  # paper A Fig. 6: 4 tokens ahead
SPLIT_SALT = 11  # validation holdout of the forecast_train part: train_val_split(..., salt=11)
DEFAULT_TRAIN = ft.DEFAULT_TRAIN  # optimisation defaults of a fine-tune


class ForecastTask:
    """Next-token MSE (paper A eq. 2): batch (x (B, n, 1, H, W), y (B, h, 1, H, W)); the model predicts y[:, 0]."""

    kind = KIND

    def step(self, model, batch, *, generator: torch.Generator, train: bool):
        x, y = batch
        pred = model(x)
        return F.mse_loss(pred.float(), y[:, 0].float()), {}


@dataclass
class ForecastingConfig(ft.FinetuneConfig):
    """A forecasting fine-tune: the shared fine-tuning settings plus the forecasting window and the data."""

    context: int | None = None  # input tokens n; None: what the readout sees (2 for "first"), 4 for "last"
    readout: str = "first"  # Conv3D output token taken as the prediction (paper A: first)
    stride: int = 1  # tokens between training windows
    split_by: str = "recording"  # split unit when the data is not the pretraining run's: recording or sentence
    cache_dir: Path | None = None  # where the sentence dataset is cached
    workers: int = 1  # processes building the sentence dataset

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode == "lora":
            raise ConfigError(
                "forecasting: --mode lora needs attention layers, the ConvLSTM has none "
                "(use frozen, last-k, full or scratch)"
            )
        if self.image_size is not None:
            raise ConfigError("forecasting: --image-size does not apply; the token shape is the pretrained model's")
        if self.readout not in TOKEN_READOUTS:
            raise ConfigError(f"forecasting readout must be one of {', '.join(TOKEN_READOUTS)}, got {self.readout!r}")
        if self.split_by not in ("recording", "sentence"):  # checked only when the data was not pretraining's
            raise ConfigError(f"split_by must be 'recording' or 'sentence', got {self.split_by!r}")
        if self.context is not None:
            check_count(self.context, "context")
        check_count(self.stride, "stride")
        check_count(self.workers, "workers", high=256)


def _source_model(cfg: ForecastingConfig) -> tuple[dict, dict | None]:
    """(config dict, init checkpoint info or None) of the model to fine-tune."""
    if cfg.init is None:
        config = get_config(cfg.model)
        if not hasattr(config, "hidden_channels"):
            raise ConfigError(f"forecasting needs a ConvLSTM model, {cfg.model!r} is not one")
        return dataclasses.asdict(config), None
    info = read_checkpoint_info(cfg.init)
    if info.get("family") != "convlstm" or info["kind"] not in (PRETRAIN_KIND, "convlstm"):
        raise CheckpointError(
            f"{cfg.init} is a {info['kind']!r} checkpoint; forecasting starts from a ConvLSTM MSM run "
            f"(radiofm pretrain --model convlstm…)"
        )
    return info["config"], info


def finetune_forecasting(
    data: str | Path,
    config: ForecastingConfig,
    train: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Fine-tune a forecaster on the recordings ``data``; the run folder ``out`` is the checkpoint.

    On the pretraining run's own data the forecasting part of its split is used (the backbone never saw it);
    other data is split ``FORECAST_SPLIT`` by ``config.split_by``. ``out/split.json`` records the split.
    """
    check_type(config, ForecastingConfig, "config")
    check_type(train, TrainConfig, "train")
    data, out = Path(data), Path(out)
    config_dict, info = _source_model(config)
    model_cfg = config_from_dict("convlstm", config_dict)
    where = f"{config.init}/config.json"
    sconfig, seed, stats = read_data_record((info or {}).get("extra", {}), where)
    ds = load_sentences(
        data,
        sconfig or sentence_config_for(model_cfg),
        seed=train.seed if seed is None else seed,
        cache_dir=config.cache_dir,
        workers=config.workers,
        progress=train.progress,
        stats=stats,
    )
    init_split = (info or {}).get("extra", {}).get("split")
    if isinstance(init_split, dict) and init_split.get("data_key") == ds.manifest.get("key"):
        check_split_indices(init_split, ("forecast_train", "forecast_test"), len(ds), where)
        split = {**init_split, "from": str(config.init)}  # the pretraining run's own split: its forecasting part
    else:  # data the backbone never saw: all of it is forecasting data
        split = make_split(ds, FORECAST_SPLIT, seed=train.seed, by=config.split_by)
    train_idx, val_idx = train_val_split(
        split["indices"]["forecast_train"], config.val_fraction, seed=train.seed, salt=SPLIT_SALT
    )
    train_idx = [train_idx[i] for i in label_subset([0] * len(train_idx), config.label_fraction, seed=train.seed)]
    split["val"] = val_idx
    context = config.context or (model_cfg.out_kernel[0] // 2 + 1 if config.readout == "first" else 4)
    windows = {"context": context, "horizon": 1, "stride": config.stride}
    train_set = ForecastWindows(ds, train_idx, **windows)
    val_set = ForecastWindows(ds, val_idx, **windows) if val_idx else None
    if len(train_set) == 0:
        raise DatasetError(f"no forecasting training sentence in {data} is longer than {context} tokens")
    with seeded(train.seed):  # initialisation (the scratch baseline's weights)
        model = ConvLSTMForecaster(model_cfg, readout=config.readout, context=context)
    if config.mode != "scratch":
        pretrained, _ = load_checkpoint(config.init)
        model.load_state_dict(pretrained.state_dict())  # backbone and the MSM Conv3D, which is fine-tuned
    configure_mode(model, config.mode, k=config.k)
    trainable = trainable_parameters(model)
    counts = ft.count_parameters(model)
    if log is not None and is_main_process():
        log(ft.summary_line(KIND, config.mode, counts))
    extra = {
        "forecast": {
            "model": model.forecast_settings(),
            "mode": config.mode,
            "k": config.k if config.mode == "last-k" else None,
            "init": None if config.init is None else str(config.init),
            "model_name": (info or {}).get("extra", {}).get("model_name", config.model),
            "trainable": trainable,
        },
        "parameters": counts,
        "data": data_record(ds, data),
        "split": split,
    }
    record = fit(model, ForecastTask(), train_set, cfg=train, out_dir=out, extra=extra, val_set=val_set,
                 resume=resume, run_info={"command": f"finetune {KIND}"}, log=log)  # fmt: skip
    if init_distributed(train.device).is_main:
        write_split(out, split)
    info = {"task": KIND, "mode": config.mode, "context": context, "readout": config.readout}
    return RunResult(out, record, len(train_set), len(val_set) if val_set else 0, info)


# ============================================================================================ evaluation


def default_blocks(size: int, divisors=(8, 4, 2, 1)) -> list[int]:
    """Block sizes size/d for an axis of ``size`` pixels (at least 1, distinct, increasing).

    Defaults: time (token width W) W/8..W; frequency (token height H) ``divisors=(64, 32, 16, 8)``: H/64..H/8 —
    a block of H/4 or more bins is never above μ + 0.5σ unless a signal fills a quarter of the band.
    """
    return sorted({max(1, size // d) for d in divisors})


FREQ_DIVISORS = (64, 32, 16, 8)  # 256-bin tokens: blocks of 4, 8, 16, 32 bins
TIME_DIVISORS = (8, 4, 2, 1)  # 16-column tokens: blocks of 2, 4, 8, 16 columns


@torch.no_grad()
def evaluate_forecasting(
    models: dict,
    windows: ForecastWindows,
    *,
    freq_blocks,
    time_blocks,
    horizons: int = HORIZONS,
    batch_size: int = 32,
    device="cpu",
    max_samples: int | None = None,
    k: float = 0.5,
) -> dict:
    """Resource-grid detection per model, horizon and block size, counts summed over all windows.

    models: name -> ConvLSTMForecaster, or None for the persistence baseline. Returns
    {name: {"mse": [per horizon], "grid": [[{...} per time block] per freq block] per horizon}} where each cell
    holds the summed counts and the rates of :func:`radiofm.dsp.grid.grid_detection`.
    """
    n = len(windows) if max_samples is None else min(len(windows), max_samples)
    blocks = [(bf, bt) for bf in freq_blocks for bt in time_blocks]
    counts = {name: np.zeros((horizons, len(blocks), 4), dtype=np.int64) for name in models}
    sq = {name: np.zeros(horizons) for name in models}
    for m in models.values():
        if m is not None:
            m.eval().to(device)
    for lo in range(0, n, batch_size):
        items = [windows[j] for j in range(lo, min(n, lo + batch_size))]
        x = torch.stack([it[0] for it in items]).to(device)
        y = torch.stack([it[1] for it in items])[:, :horizons, 0].float().numpy()  # (B, h, H, W)
        for name, m in models.items():
            pred = persistence(x, horizons) if m is None else m.rollout(x, horizons)
            p = pred[:, :, 0].float().cpu().numpy()
            sq[name] += ((p - y) ** 2).mean(axis=(2, 3)).sum(axis=0)
            for h in range(horizons):
                for b, block in enumerate(blocks):
                    r = grid_detection(y[:, h], p[:, h], block, k=k)
                    counts[name][h, b] += (r["tp"], r["fp"], r["fn"], r["tn"])
    out = {}
    for name in models:
        grid = []
        for h in range(horizons):
            rows = []
            for i, bf in enumerate(freq_blocks):
                row = []
                for j, bt in enumerate(time_blocks):
                    tp, fp, fn, tn = (int(v) for v in counts[name][h, i * len(time_blocks) + j])
                    row.append({"block": [bf, bt], **detection_rates(tp, fp, fn, tn)})
                rows.append(row)
            grid.append(rows)
        out[name] = {"mse": (sq[name] / max(n, 1)).tolist(), "grid": grid}
    return out


def summary(result: dict) -> list[dict]:
    """Per horizon: detection, false-alarm and F1 rates pooled over every block size (micro average)."""
    rows = []
    for h, grid in enumerate(result["grid"]):
        c = np.sum([[cell[k] for k in ("tp", "fp", "fn", "tn")] for row in grid for cell in row], axis=0)
        rows.append({"horizon": h + 1, "mse": result["mse"][h], **detection_rates(*(int(v) for v in c))})
    return rows


def _label(info: dict) -> str:
    mode = info["extra"].get("forecast", {}).get("mode", "?")
    return "scratch" if mode == "scratch" else f"fine-tuned ({mode})"


@dataclass
class ForecastingEvalConfig(DeviceChecked):
    """How forecasting runs are scored (paper A Fig. 6)."""

    baseline: Path | None = None  # a second forecasting run to compare (e.g. the scratch baseline)
    freq_blocks: list[int] | None = None  # block heights in bins; None: token height / (64, 32, 16, 8)
    time_blocks: list[int] | None = None  # block widths in columns; None: token width / (8, 4, 2, 1)
    horizons: int = HORIZONS  # tokens ahead
    stride: int = 1  # tokens between test windows
    max_samples: int | None = None  # evaluate at most N windows
    batch_size: int = 32  # windows per model call
    device: str = "cpu"  # where the models run
    cache_dir: Path | None = None  # where the sentence dataset is cached


def evaluate_forecasting_run(
    model: str | Path, data: str | Path, out: str | Path, config: ForecastingEvalConfig | None = None
) -> dict:
    """Score the forecasting run ``model`` (and ``config.baseline``, and persistence) on recordings ``data``.

    On the run's own data the run's forecast_test split is used, else every sentence. Writes
    ``out/forecasting.json`` (the returned report), ``heatmaps.png`` and ``tokens.png`` atomically.
    """
    cfg = check_type(config or ForecastingEvalConfig(), ForecastingEvalConfig, "config")
    data = Path(data)
    net, info = load_checkpoint(model, expect_kind=KIND)
    runs = {"model": (net, info)}
    if cfg.baseline is not None:
        base, binfo = load_checkpoint(cfg.baseline, expect_kind=KIND)
        if base.config.token_shape != net.config.token_shape:
            raise ConfigError(
                f"{cfg.baseline} forecasts {base.config.token_shape} tokens, {model} {net.config.token_shape}"
            )
        runs["baseline"] = (base, binfo)
    where = f"{model}/config.json"
    sconfig, seed, stats = read_data_record(info["extra"], where)
    ds = load_sentences(
        data,
        sconfig or sentence_config_for(net.config),
        seed=0 if seed is None else seed,
        cache_dir=cfg.cache_dir,
        progress=False,
        stats=stats,
    )
    split = info["extra"].get("split") or {}
    if isinstance(split, dict) and split.get("data_key") == ds.manifest.get("key"):
        check_split_indices(split, ("forecast_test",), len(ds), where)
        indices, which = split["indices"]["forecast_test"], "forecast_test split of the run"
    else:
        indices, which = list(range(len(ds))), "all sentences (data not used in training)"
    context = max(m.context for m, _ in runs.values())
    windows = ForecastWindows(ds, indices, context=context, horizon=cfg.horizons, stride=cfg.stride)
    if len(windows) == 0:
        raise DatasetError(f"no test sentence in {data} has {context + cfg.horizons} tokens (context + horizons)")
    h, w = net.config.token_shape
    freq_blocks = cfg.freq_blocks or default_blocks(h, FREQ_DIVISORS)
    time_blocks = cfg.time_blocks or default_blocks(w, TIME_DIVISORS)
    bad = [b for b in freq_blocks if b > h] + [b for b in time_blocks if b > w]
    if bad:
        raise ConfigError(f"block sizes {bad} do not fit a {h}x{w} token (frequency x time)")
    models = {name: m for name, (m, _) in runs.items()}
    models["persistence"] = None
    results = evaluate_forecasting(
        models,
        windows,
        freq_blocks=freq_blocks,
        time_blocks=time_blocks,
        horizons=cfg.horizons,
        batch_size=cfg.batch_size,
        device=cfg.device,
        max_samples=cfg.max_samples,
    )
    labels = {name: _label(i) for name, (_, i) in runs.items()} | {"persistence": "persistence"}
    report = {
        "model": str(model),
        "baseline": None if cfg.baseline is None else str(cfg.baseline),
        "data": str(data),
        "evaluated_on": which,
        "windows": min(len(windows), cfg.max_samples or len(windows)),
        "context": {name: m.context for name, (m, _) in runs.items()},
        "horizons": list(range(1, cfg.horizons + 1)),
        "token_shape": [h, w],
        "freq_blocks": freq_blocks,
        "time_blocks": time_blocks,
        "threshold": "mu + 0.5 sigma per token",
        "labels": labels,
        "summary": {name: summary(r) for name, r in results.items()},
        "results": results,
    }
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "forecasting.json", report)
        plot_heatmaps(report, tmp / "heatmaps.png")
        plot_tokens(
            {n: m for n, m in models.items()},
            windows,
            tmp / "tokens.png",
            horizons=cfg.horizons,
            labels=labels,
            device=cfg.device,
        )
    return report
