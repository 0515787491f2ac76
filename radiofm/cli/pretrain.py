"""``radiofm pretrain``: masked spectrogram modeling on a folder of recordings (ViT-MAE or ConvLSTM)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_parser(sub) -> None:
    from radiofm.tasks.pretrain_mae import DEFAULT_TRAIN

    p = sub.add_parser(
        "pretrain",
        help="masked spectrogram pretraining (ViT-MAE or ConvLSTM)",
        description="Pretrain a backbone by masked spectrogram modeling on unlabelled recordings.",
    )
    p.add_argument("--data", required=True, type=Path, help="folder of recordings (SigMF/.npy) or a built dataset")
    p.add_argument(
        "--model", default="vit-tiny", type=_types.model_name, help="registered model (see `radiofm models`)"
    )
    p.add_argument("--out", required=True, type=Path, help="run folder = checkpoint (model.safetensors + config.json)")
    p.add_argument(
        "--mask-ratio",
        type=_types.ratio,
        default=None,
        help="fraction of patches/tokens masked (default 0.75 for ViT, 0.2 for ConvLSTM)",
    )
    p.add_argument("--image-size", type=_types.size2, default=None, help="model input (F, T), e.g. 224 or 128x256")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out fraction for validation loss")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="a folder to hold the dataset's cache (default: beside the data; one cache in it per set of "
        "recordings and settings)",
    )
    p.add_argument("--workers", type=_types.workers, default=1, help="processes for building the dataset")
    p.add_argument("--repair-nonfinite", action="store_true", help="zero NaN/Inf samples (with a warning)")
    _args.add_train_args(p, DEFAULT_TRAIN)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from radiofm.errors import ConfigError
    from radiofm.models.registry import get_family

    family = get_family(args.model)
    fields = dict(
        model=args.model,
        image_size=args.image_size,
        val_fraction=args.val_fraction,
        cache_dir=args.cache_dir,
        workers=args.workers,
        repair_nonfinite=args.repair_nonfinite,
    )
    if args.mask_ratio is not None:
        fields["mask_ratio"] = args.mask_ratio
    if family == "mae":
        from radiofm.tasks.pretrain_mae import MAEPretrainConfig, pretrain_mae

        config = MAEPretrainConfig(**fields)
        result = pretrain_mae(args.data, config, _args.train_config(args), args.out, resume=args.resume, log=_args.say)
        _args.print_run(result, f"pretrained {args.model}", "spectrograms")
        return 0
    if family == "convlstm":
        from radiofm.tasks.pretrain_convlstm import ConvLSTMPretrainConfig, pretrain_convlstm

        config = ConvLSTMPretrainConfig(**fields)
        train = _args.train_config(args)
        result = pretrain_convlstm(args.data, config, train, args.out, resume=args.resume, log=_args.say)
        what = f"pretrained {args.model} (MSM, {config.mask_ratio:.0%} of tokens masked)"
        _args.print_run(result, what, "sentences")
        return 0
    raise ConfigError(f"model {args.model!r} (family {family}) cannot be pretrained")
