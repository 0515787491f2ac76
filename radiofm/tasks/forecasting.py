"""Paper A end to end on the ConvLSTM: masked spectrogram pretraining, spectrum forecasting and its evaluation.

- ``radiofm pretrain --model convlstm…`` → :func:`pretrain_convlstm`: radio sentences from a folder of recordings,
  the paper-A split (50 % pretraining, 50 % forecasting split 80/20 train/test, saved as ``split.json`` in the run
  and in the checkpoint's extra), MSM with ≈20 % of the tokens masked, through the one training loop.
  Checkpoint kind ``"convlstm-msm"`` (family ``convlstm``).
- ``radiofm finetune forecasting --init RUN …`` → :func:`run_finetune`: the same model with its backbone frozen,
  only the Conv3D trained to predict the next token from a window of ``context`` tokens (MSE, paper A eq. 2);
  ``--mode scratch`` trains the same architecture from random weights on the same windows. Kind ``"forecasting"``.
- ``radiofm evaluate forecasting --model RUN2 --data DIR --out EVAL [--baseline RUN3]`` → :func:`run_eval`:
  autoregressive rollout 1..4 tokens ahead; the resource-grid metric (SPEC §4, μ + 0.5σ per token) over a grid of
  block resolutions (frequency bins × time columns) for the model, the optional baseline run and persistence
  (the last context token repeated); ``forecasting.json``, ``heatmaps.png`` (paper A Fig. 6), ``tokens.png``.

Window j of a sentence x (T, 1, H, W) with start s: input x[s : s+n], targets x[s+n : s+n+horizon].
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radiofm.errors import CheckpointError, ConfigError, DatasetError
from radiofm.tasks import convlstm_segmentation as _convlstm_segmentation  # noqa: F401  (registers the backbone)

DEFAULT_MASK_RATIO = 0.2  # paper A §III-B
SENTENCE_TOKENS = 16  # tokens of a longest sentence: 256×256 → 16 tokens of 256×16 [3p]
FORECAST_SPLIT = {"forecast_train": 0.8, "forecast_test": 0.2}  # data not seen by pretraining: 80/20
HORIZONS = 4  # paper A Fig. 6: 4 tokens ahead
MIN_RECORDINGS_FOR_GROUPED_SPLIT = 10  # fewer: split by sentence (whole recordings would leave parts empty)
PRETRAIN_KIND = "convlstm-msm"
KIND = "forecasting"


# ============================================================================================ data


def sentence_config_for(model_config, *, image_size=None, nonfinite: str = "error"):
    """Sentences whose tokens fit ``model_config.token_shape``: height H, longest sentence 16 tokens."""
    from radiofm.data.sentences import SentenceConfig

    h, w = model_config.token_shape
    width = SENTENCE_TOKENS * w if image_size is None else int(image_size[1])
    return SentenceConfig(height=h, token_width=w, width=width, nonfinite=nonfinite)


def load_sentences(data, config, *, seed: int, cache_dir=None, workers: int = 1, progress: bool = True, stats=None):
    """Build (or reuse) the sentence dataset of ``data``; ``stats`` (mean_db/std_db) replaces its own normalisation."""
    from radiofm.data.sentences import SentenceDataset, build_sentences, default_cache_dir

    data = Path(data)
    out_dir = None
    if cache_dir is not None:
        out_dir = Path(cache_dir) / default_cache_dir(data, config, seed).name
    ds = build_sentences(data, config, seed=seed, out_dir=out_dir, workers=workers, progress=progress)
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


def make_split(ds, fractions, *, seed: int, by: str = "recording") -> dict:
    """A reproducible split of ``ds``'s sentences (whole recordings per part when ``by="recording"``)."""
    from radiofm.data.sentences import split_indices

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
    from radiofm.io import write_json

    write_json(Path(run_dir) / "split.json", split)


class ForecastWindows(torch.utils.data.Dataset):
    """Fixed-length windows of sentences: item j -> (x (context, 1, H, W), y (horizon, 1, H, W))."""

    def __init__(self, sentences, indices, *, context: int, horizon: int, stride: int = 1):
        if context < 1 or horizon < 1 or stride < 1:
            raise ConfigError(f"need context, horizon, stride >= 1, got {context}, {horizon}, {stride}")
        self.sentences, self.context, self.horizon = sentences, context, horizon
        lengths = sentences.lengths
        self.items = [(int(i), s) for i in indices for s in range(0, int(lengths[i]) - context - horizon + 1, stride)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, j: int):
        i, s = self.items[j]
        x = self.sentences[i]
        n = self.context
        return x[s : s + n], x[s + n : s + n + self.horizon]


# ============================================================================================ pretraining


@dataclasses.dataclass
class ConvLSTMPretrainTask:
    """MSM on radio sentences: ≈``mask_ratio`` of each sentence's tokens become white noise; MSE on those only."""

    mask_ratio: float = DEFAULT_MASK_RATIO
    kind: str = PRETRAIN_KIND

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask ratio must be in (0, 1), got {self.mask_ratio}")

    def step(self, model, batch, *, generator: torch.Generator, train: bool):
        """batch: (x (B, T, 1, H, W), lengths (B,)) from ``collate_sentences``."""
        x, lengths = batch
        loss, _pred, mask = model(x, lengths, mask_ratio=self.mask_ratio, generator=generator)
        return loss, {"masked_tokens": mask.float().sum(1).mean()}


def pretrain_convlstm(args: argparse.Namespace) -> int:
    """``radiofm pretrain --model convlstm…``: see the module docstring."""
    from radiofm.cli import _args
    from radiofm.cli.pretrain import build_dataset_once
    from radiofm.data.sentences import PAPER_A_SPLIT, collate_sentences
    from radiofm.models import create_model, get_config
    from radiofm.train import fit, init_distributed, seeded

    cfg = _args.train_config(args)
    mask_ratio = args.mask_ratio if args.mask_ratio is not None else DEFAULT_MASK_RATIO
    model_cfg = get_config(args.model)
    overrides = {}
    if args.image_size is not None:  # (H, W): token height H, a longest sentence W columns
        overrides["token_shape"] = (int(args.image_size[0]), model_cfg.token_shape[1])
        model_cfg = dataclasses.replace(model_cfg, **overrides)
    sconfig = sentence_config_for(
        model_cfg, image_size=args.image_size, nonfinite="repair" if args.repair_nonfinite else "error"
    )
    ds = build_dataset_once(
        lambda: load_sentences(
            args.data, sconfig, seed=args.seed, cache_dir=args.cache_dir, workers=args.workers, progress=cfg.progress
        ),
        cfg.device,
    )
    n_recordings = len(set(ds.sources.tolist()))
    by = "recording" if n_recordings >= MIN_RECORDINGS_FOR_GROUPED_SPLIT else "sentence"
    if by == "sentence":
        warnings.warn(
            f"only {n_recordings} recording(s): the paper-A split is drawn by sentence, so one recording's "
            "sentences may fall in different parts",
            stacklevel=2,
        )
    split = make_split(ds, PAPER_A_SPLIT, seed=args.seed, by=by)
    pre = split["indices"]["pretrain"]
    n_val = int(round(len(pre) * args.val_fraction)) if len(pre) >= 10 else 0
    order = np.random.default_rng([args.seed, 7]).permutation(len(pre))
    val_idx = sorted(pre[i] for i in order[:n_val])
    train_idx = sorted(pre[i] for i in order[n_val:])
    split["val"] = val_idx
    train_set = torch.utils.data.Subset(ds, train_idx)
    val_set = torch.utils.data.Subset(ds, val_idx) if val_idx else None
    with seeded(args.seed):  # initialisation from the seed, global RNG left as it was
        model = create_model(args.model, **overrides)
    task = ConvLSTMPretrainTask(mask_ratio=mask_ratio)
    extra = {"model_name": args.model, "mask_ratio": mask_ratio, "data": data_record(ds, args.data), "split": split}
    record = fit(
        model,
        task,
        train_set,
        cfg=cfg,
        out_dir=args.out,
        extra=extra,
        val_set=val_set,
        resume=args.resume,
        collate_fn=collate_sentences,
        run_info={"command": "pretrain"},
    )
    if init_distributed(cfg.device).is_main:
        write_split(args.out, split)
        print(
            f"pretrained {args.model} (MSM, {mask_ratio:.0%} of tokens masked) on {len(train_set)} sentences "
            f"-> {args.out} (final train loss {record.get('train_loss', float('nan')):.4f})"
        )
    return 0


# ============================================================================================ fine-tuning


class ForecastTask:
    """Next-token MSE (paper A eq. 2): batch (x (B, n, 1, H, W), y (B, h, 1, H, W)); the model predicts y[:, 0]."""

    kind = KIND

    def step(self, model, batch, *, generator: torch.Generator, train: bool):
        x, y = batch
        pred = model(x)
        return F.mse_loss(pred.float(), y[:, 0].float()), {}


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    """Flags of ``radiofm finetune forecasting``: the framework's common ones plus the forecasting window."""
    from radiofm.cli import _args
    from radiofm.models.convlstm_heads import READOUTS
    from radiofm.tasks import finetune as ft

    ft.add_common_args(p, epochs=10, batch_size=16, base_lr=1e-2)
    g = p.add_argument_group("forecasting")
    g.add_argument(
        "--context",
        type=_args.positive_int,
        default=None,
        help="input tokens n (default: what the readout sees, 2 for 'first'; 4 for 'last')",
    )
    g.add_argument(
        "--readout",
        choices=list(READOUTS),
        default="first",
        help="Conv3D output token taken as the prediction (paper A: first)",
    )
    g.add_argument("--stride", type=_args.positive_int, default=1, help="tokens between training windows")
    g.add_argument(
        "--split-by",
        choices=["recording", "sentence"],
        default="recording",
        help="split unit when --data is not the pretraining folder (default recording)",
    )
    g.add_argument("--cache-dir", type=Path, default=None, help="where the sentence dataset is cached")
    g.add_argument("--workers", type=_args.positive_int, default=1, help="processes for building sentences")


def _source_model(args) -> tuple[dict, dict | None]:
    """(config dict, init checkpoint info or None) of the model to fine-tune."""
    from radiofm.models import get_config, read_checkpoint_info

    if args.init is None:
        config = get_config(args.model)
        if not hasattr(config, "hidden_channels"):
            raise ConfigError(f"forecasting needs a ConvLSTM model, {args.model!r} is not one")
        return dataclasses.asdict(config), None
    info = read_checkpoint_info(args.init)
    if info.get("family") != "convlstm" or info["kind"] not in (PRETRAIN_KIND, "convlstm"):
        raise CheckpointError(
            f"{args.init} is a {info['kind']!r} checkpoint; forecasting starts from a ConvLSTM MSM run "
            f"(radiofm pretrain --model convlstm…)"
        )
    return info["config"], info


def run_finetune(args: argparse.Namespace) -> int:
    """``radiofm finetune forecasting``: see the module docstring."""
    from radiofm.cli import _args
    from radiofm.data.sentences import SentenceConfig
    from radiofm.models import load_checkpoint
    from radiofm.models.convlstm_heads import ConvLSTMForecaster
    from radiofm.models.registry import config_from_dict
    from radiofm.tasks import finetune as ft
    from radiofm.train import fit, init_distributed, seeded

    ft.check_common_args(args)
    if args.mode == "lora":
        raise ConfigError(
            "forecasting: --mode lora needs attention layers, the ConvLSTM has none "
            "(use frozen, last-k, full or scratch)"
        )
    if args.image_size is not None:
        raise ConfigError("forecasting: --image-size does not apply; the token shape is the pretrained model's")
    cfg = _args.train_config(args)
    config_dict, info = _source_model(args)
    model_cfg = config_from_dict("convlstm", config_dict)
    init_data = (info or {}).get("extra", {}).get("data") or {}
    sconfig = SentenceConfig(**init_data["config"]) if init_data.get("config") else sentence_config_for(model_cfg)
    ds = load_sentences(
        args.data,
        sconfig,
        seed=int(init_data.get("seed", args.seed)),
        cache_dir=args.cache_dir,
        workers=args.workers,
        progress=cfg.progress,
        stats=init_data.get("stats"),
    )
    init_split = (info or {}).get("extra", {}).get("split")
    if init_split and init_split.get("data_key") == ds.manifest.get("key"):
        split = {**init_split, "from": str(args.init)}  # the pretraining run's own split: its 50 % forecasting part
    else:  # data the backbone never saw: all of it is forecasting data
        split = make_split(ds, FORECAST_SPLIT, seed=args.seed, by=args.split_by)
    train_idx = list(split["indices"]["forecast_train"])
    n_val = int(round(len(train_idx) * args.val_fraction)) if len(train_idx) >= 10 else 0
    order = np.random.default_rng([args.seed, 11]).permutation(len(train_idx))
    val_idx = sorted(train_idx[i] for i in order[:n_val])
    train_idx = sorted(train_idx[i] for i in order[n_val:])
    split["val"] = val_idx
    context = args.context or (model_cfg.out_kernel[0] // 2 + 1 if args.readout == "first" else 4)
    windows = {"context": context, "horizon": 1, "stride": args.stride}
    train_set = ForecastWindows(ds, train_idx, **windows)
    val_set = ForecastWindows(ds, val_idx, **windows) if val_idx else None
    if len(train_set) == 0:
        raise DatasetError(f"no forecasting training sentence in {args.data} is longer than {context} tokens")
    with seeded(args.seed):  # initialisation (the scratch baseline's weights)
        model = ConvLSTMForecaster(model_cfg, readout=args.readout, context=context)
    if args.mode != "scratch":
        pretrained, _ = load_checkpoint(args.init)
        model.load_state_dict(pretrained.state_dict())  # backbone and the MSM Conv3D, which is fine-tuned
    trainable = model.set_trainable(args.mode, k=args.k)
    counts = ft.count_parameters(model)
    print(ft.summary_line(KIND, args.mode, counts), flush=True)
    extra = {
        "forecast": {
            "model": model.forecast_settings(),
            "mode": args.mode,
            "k": args.k if args.mode == "last-k" else None,
            "init": None if args.init is None else str(args.init),
            "model_name": (info or {}).get("extra", {}).get("model_name", args.model),
            "trainable": trainable,
        },
        "parameters": counts,
        "data": data_record(ds, args.data),
        "split": split,
    }
    record = fit(model, ForecastTask(), train_set, cfg=cfg, out_dir=args.out, extra=extra, val_set=val_set,
                 resume=args.resume, run_info={"command": f"finetune {KIND}"})  # fmt: skip
    if init_distributed(cfg.device).is_main:
        write_split(args.out, split)
        print(
            f"forecasting [{args.mode}] (context {context}, readout {args.readout}) on {len(train_set)} windows "
            f"-> {args.out} (final train loss {record.get('train_loss', float('nan')):.4f})"
        )
    return 0


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
    from radiofm.dsp.grid import grid_detection

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
                    row.append({"block": [bf, bt], **_rates(tp, fp, fn, tn)})
                rows.append(row)
            grid.append(rows)
        out[name] = {"mse": (sq[name] / max(n, 1)).tolist(), "grid": grid}
    return out


def persistence(x: torch.Tensor, steps: int) -> torch.Tensor:
    from radiofm.models.convlstm_heads import persistence as _persistence

    return _persistence(x, steps)


def _rates(tp: int, fp: int, fn: int, tn: int) -> dict:
    def ratio(a, b):
        return None if b == 0 else a / b

    return {
        "detection_rate": ratio(tp, tp + fn),
        "false_alarm_rate": ratio(fp, fp + tn),
        "precision": ratio(tp, tp + fp),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def summary(result: dict) -> list[dict]:
    """Per horizon: detection, false-alarm and F1 rates pooled over every block size (micro average)."""
    rows = []
    for h, grid in enumerate(result["grid"]):
        c = np.sum([[cell[k] for k in ("tp", "fp", "fn", "tn")] for row in grid for cell in row], axis=0)
        rows.append({"horizon": h + 1, "mse": result["mse"][h], **_rates(*(int(v) for v in c))})
    return rows


def add_eval_args(p: argparse.ArgumentParser) -> None:
    from radiofm.cli import _args

    p.add_argument("--model", required=True, type=Path, help="forecasting run (radiofm finetune forecasting)")
    p.add_argument("--data", required=True, type=Path, help="folder of recordings (the run's own: its test split)")
    p.add_argument("--out", required=True, type=Path, help="output folder for forecasting.json and PNGs")
    p.add_argument("--baseline", type=Path, default=None, help="second forecasting run to compare (e.g. scratch)")
    p.add_argument("--freq-blocks", type=_int_list, default=None, help="block heights in bins, e.g. 4,8,16,32")
    p.add_argument("--time-blocks", type=_int_list, default=None, help="block widths in columns, e.g. 2,4,8,16")
    p.add_argument("--horizons", type=_args.positive_int, default=HORIZONS, help="tokens ahead (default 4)")
    p.add_argument("--stride", type=_args.positive_int, default=1, help="tokens between test windows")
    p.add_argument("--max-samples", type=_args.positive_int, default=None, help="evaluate at most N windows")
    p.add_argument("--batch-size", type=_args.positive_int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir", type=Path, default=None)


def _int_list(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return vals


def _label(info: dict) -> str:
    mode = info["extra"].get("forecast", {}).get("mode", "?")
    return "scratch" if mode == "scratch" else f"fine-tuned ({mode})"


def run_eval(args: argparse.Namespace) -> int:
    from radiofm.data.sentences import SentenceConfig
    from radiofm.io import atomic_path, write_json
    from radiofm.models import load_checkpoint

    model, info = load_checkpoint(args.model, expect_kind=KIND)
    runs = {"model": (model, info)}
    if args.baseline is not None:
        base, binfo = load_checkpoint(args.baseline, expect_kind=KIND)
        if base.config.token_shape != model.config.token_shape:
            raise ConfigError(
                f"{args.baseline} forecasts {base.config.token_shape} tokens, {args.model} {model.config.token_shape}"
            )
        runs["baseline"] = (base, binfo)
    data = info["extra"].get("data") or {}
    sconfig = SentenceConfig(**data["config"]) if data.get("config") else sentence_config_for(model.config)
    ds = load_sentences(
        args.data,
        sconfig,
        seed=int(data.get("seed", 0)),
        cache_dir=args.cache_dir,
        progress=False,
        stats=data.get("stats"),
    )
    split = info["extra"].get("split") or {}
    if split.get("data_key") == ds.manifest.get("key"):
        indices, which = split["indices"]["forecast_test"], "forecast_test split of the run"
    else:
        indices, which = list(range(len(ds))), "all sentences (data not used in training)"
    context = max(m.context for m, _ in runs.values())
    windows = ForecastWindows(ds, indices, context=context, horizon=args.horizons, stride=args.stride)
    if len(windows) == 0:
        raise DatasetError(f"no test sentence in {args.data} has {context + args.horizons} tokens (context + horizons)")
    h, w = model.config.token_shape
    freq_blocks = args.freq_blocks or default_blocks(h, FREQ_DIVISORS)
    time_blocks = args.time_blocks or default_blocks(w, TIME_DIVISORS)
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
        horizons=args.horizons,
        batch_size=args.batch_size,
        device=args.device,
        max_samples=args.max_samples,
    )
    labels = {name: _label(i) for name, (_, i) in runs.items()} | {"persistence": "persistence"}
    report = {
        "model": str(args.model),
        "baseline": None if args.baseline is None else str(args.baseline),
        "data": str(args.data),
        "evaluated_on": which,
        "windows": min(len(windows), args.max_samples or len(windows)),
        "context": {name: m.context for name, (m, _) in runs.items()},
        "horizons": list(range(1, args.horizons + 1)),
        "token_shape": [h, w],
        "freq_blocks": freq_blocks,
        "time_blocks": time_blocks,
        "threshold": "mu + 0.5 sigma per token",
        "labels": labels,
        "summary": {name: summary(r) for name, r in results.items()},
        "results": results,
    }
    with atomic_path(args.out) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "forecasting.json", report)
        plot_heatmaps(report, tmp / "heatmaps.png")
        plot_tokens(
            {n: m for n, m in models.items()},
            windows,
            tmp / "tokens.png",
            horizons=args.horizons,
            labels=labels,
            device=args.device,
        )
    print_report(report)
    print(f"wrote {args.out / 'forecasting.json'}, {args.out / 'heatmaps.png'}, {args.out / 'tokens.png'}")
    return 0


def print_report(report: dict) -> None:
    print(f"forecasting on {report['windows']} windows ({report['evaluated_on']}); rates pooled over block sizes")
    print(f"{'model':<26} {'h':>2} {'detection':>10} {'false alarm':>12} {'F1':>6} {'MSE':>8}")
    for name, rows in report["summary"].items():
        for r in rows:
            print(
                f"{report['labels'][name]:<26} {r['horizon']:>2} {_fmt(r['detection_rate']):>10} "
                f"{_fmt(r['false_alarm_rate']):>12} {_fmt(r['f1']):>6} {r['mse']:>8.4f}"
            )


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


# ============================================================================================ pictures


def plot_heatmaps(report: dict, path: Path, *, metric: str = "detection_rate") -> Path:
    """Paper A Fig. 6: ``metric`` over the block-resolution grid, one column per model, one row per horizon."""
    from radiofm.viz import new_figure, save_figure

    names = list(report["results"])
    horizons = report["horizons"]
    fig = new_figure((3.2 * len(names), 2.6 * len(horizons)))
    axes = fig.subplots(len(horizons), len(names), squeeze=False)
    for c, name in enumerate(names):
        for r, h in enumerate(horizons):
            grid = report["results"][name]["grid"][h - 1]
            vals = np.array([[np.nan if cell[metric] is None else cell[metric] for cell in row] for row in grid])
            ax = axes[r, c]
            im = ax.imshow(vals, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
            for i in range(vals.shape[0]):
                for j in range(vals.shape[1]):
                    v = vals[i, j]
                    ax.text(
                        j,
                        i,
                        "–" if np.isnan(v) else f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if not np.isnan(v) and v < 0.6 else "black",
                    )
            ax.set_xticks(range(len(report["time_blocks"])), [str(b) for b in report["time_blocks"]], fontsize=7)
            ax.set_yticks(range(len(report["freq_blocks"])), [str(b) for b in report["freq_blocks"]], fontsize=7)
            ax.set_title(f"{report['labels'][name]}, {h} ahead", fontsize=8)
            if r == len(horizons) - 1:
                ax.set_xlabel("block time (columns)", fontsize=7)
            if c == 0:
                ax.set_ylabel("block frequency (bins)", fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.6, label=metric.replace("_", " "))
    save_figure(fig, path)
    return path


@torch.no_grad()
def plot_tokens(
    models: dict, windows, path: Path, *, horizons: int, labels: dict, n_samples: int = 3, device="cpu"
) -> Path:
    """Predicted vs true tokens: per sample a row of truth and a row per model, one column per horizon."""
    from radiofm.viz import new_figure, save_figure

    n = min(n_samples, len(windows))
    picks = np.linspace(0, len(windows) - 1, n).round().astype(int).tolist()
    x = torch.stack([windows[j][0] for j in picks]).to(device)
    y = torch.stack([windows[j][1] for j in picks])[:, :horizons, 0].float().numpy()
    preds = {
        name: (persistence(x, horizons) if m is None else m.rollout(x, horizons))[:, :, 0].float().cpu().numpy()
        for name, m in models.items()
    }
    rows = 1 + len(preds)
    fig = new_figure((1.3 * (horizons + 1) + 1.5, 1.6 * rows * n))
    axes = fig.subplots(rows * n, horizons + 1, squeeze=False)
    lo, hi = np.percentile(y, [1, 99.5])
    for s in range(n):
        series = [("true", y[s])] + [(labels[name], p[s]) for name, p in preds.items()]
        for r, (label, tokens) in enumerate(series):
            row = axes[s * rows + r]
            ctx = x[s, -1, 0].float().cpu().numpy() if r == 0 else None
            for c in range(horizons + 1):
                ax = row[c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    if ctx is not None:
                        ax.imshow(ctx, origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi)
                        ax.set_title(f"sample {s + 1}: last input", fontsize=7)
                    else:
                        ax.axis("off")
                    ax.text(-0.1, 0.5, label, transform=ax.transAxes, ha="right", va="center", fontsize=7)
                    continue
                ax.imshow(tokens[c - 1], origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi)
                if r == 0:
                    ax.set_title(f"t+{c}", fontsize=7)
    save_figure(fig, path)
    return path
