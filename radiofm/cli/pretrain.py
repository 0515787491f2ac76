"""``radiofm pretrain``: masked spectrogram modeling on a folder of recordings."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "pretrain",
        help="masked spectrogram pretraining (ViT-MAE or ConvLSTM)",
        description="Pretrain a backbone by masked spectrogram modeling on unlabelled recordings.",
    )
    p.add_argument("--data", required=True, type=Path, help="folder of recordings (SigMF/.npy) or a built dataset")
    p.add_argument("--model", default="vit-tiny", type=_args.model_name, help="registered model (see `radiofm models`)")
    p.add_argument("--out", required=True, type=Path, help="run folder = checkpoint (model.safetensors + config.json)")
    p.add_argument(
        "--mask-ratio",
        type=_args.ratio,
        default=None,
        help="fraction of patches/tokens masked (default 0.75 for ViT, 0.2 for ConvLSTM)",
    )
    p.add_argument("--image-size", type=_args.size2, default=None, help="model input (F, T), e.g. 224 or 128x256")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out fraction for validation loss")
    p.add_argument("--cache-dir", type=Path, default=None, help="where the spectrogram dataset is cached")
    p.add_argument("--workers", type=_args.positive_int, default=1, help="processes for building the dataset")
    p.add_argument("--repair-nonfinite", action="store_true", help="zero NaN/Inf samples (with a warning)")
    _args.add_train_args(p, epochs=20, batch_size=64, warmup=2.0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from radiofm.errors import ConfigError
    from radiofm.models import create_model, get_config

    if not 0.0 <= args.val_fraction < 0.9:
        raise ConfigError(f"--val-fraction must be in [0, 0.9), got {args.val_fraction}")
    family = _family(args.model)
    if family == "mae":
        return _pretrain_mae(args, create_model, get_config)
    if family == "convlstm":
        from radiofm.tasks.forecasting import pretrain_convlstm

        return pretrain_convlstm(args)
    raise ConfigError(f"model {args.model!r} (family {family}) cannot be pretrained")


def _family(name: str) -> str:
    from radiofm.models.registry import get_family

    return get_family(name)


def _pretrain_mae(args, create_model, get_config) -> int:
    from radiofm.data.spectrograms import SpectrogramParams, build_spectrogram_dataset
    from radiofm.tasks.pretrain import MAEPretrainTask
    from radiofm.train import fit, is_main_process, seeded

    cfg = _args.train_config(args)
    image_size = tuple(args.image_size or get_config(args.model).img_size)
    params = SpectrogramParams(image_size=image_size, nonfinite="repair" if args.repair_nonfinite else "error")
    ds = build_dataset_once(
        lambda: build_spectrogram_dataset(
            args.data, args.cache_dir, params, workers=args.workers, progress=cfg.progress
        ),
        cfg.device,
    )
    train_set, val_set = split_dataset(ds, args.val_fraction, seed=args.seed)
    with seeded(args.seed):  # initialisation from the seed: same command, same weights
        model = create_model(args.model, img_size=image_size)
    task = MAEPretrainTask(mask_ratio=args.mask_ratio if args.mask_ratio is not None else 0.75)
    extra = {
        "model_name": args.model,
        "mask_ratio": task.mask_ratio,
        "data": {"source": str(args.data), "params": ds.params.to_dict(), "stats": ds.stats, "count": len(ds)},
    }
    record = fit(
        model,
        task,
        train_set,
        cfg=cfg,
        out_dir=args.out,
        extra=extra,
        val_set=val_set,
        resume=args.resume,
        run_info={"command": "pretrain"},
    )
    if record and is_main_process():
        print(
            f"pretrained {args.model} on {len(train_set)} spectrograms -> {args.out} "
            f"(final train loss {record.get('train_loss', float('nan')):.4f})"
        )
    return 0


def split_dataset(ds, val_fraction: float, *, seed: int):
    """Deterministic train/validation split of a dataset's indices."""
    import numpy as np
    import torch

    n = len(ds)
    n_val = int(round(n * val_fraction)) if n >= 10 else 0
    order = np.random.default_rng([seed, 7]).permutation(n)
    val_idx, train_idx = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())
    return torch.utils.data.Subset(ds, train_idx), (torch.utils.data.Subset(ds, val_idx) if n_val else None)


def build_dataset_once(build, device: str):
    """Under torchrun, rank 0 builds (or validates) the cached dataset while the others wait, then they reuse it."""
    import torch

    from radiofm.train import init_distributed

    dist = init_distributed(device)
    if dist.world_size > 1 and not dist.is_main:
        torch.distributed.barrier()
    ds = build()
    if dist.world_size > 1 and dist.is_main:
        torch.distributed.barrier()
    return ds
