"""argparse value types that reject impossible values with a one-line message, and shared parser plumbing."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return v


def ratio(text: str) -> float:
    """A fraction strictly between 0 and 1."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a ratio in (0, 1), got {text!r}") from None
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"expected a ratio in (0, 1), got {text}")
    return v


def ratio_list(text: str) -> list[float]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected a comma-separated list of ratios, e.g. 0.5,0.75,0.9")
    return [ratio(p) for p in parts]


def size2(text: str) -> tuple[int, int]:
    """'224' -> (224, 224); '128x256' -> (128, 256)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 224 or 128x256, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or min(vals) < 1 or max(vals) > 8192:
        raise argparse.ArgumentTypeError(f"expected a size like 224 or 128x256 (1..8192), got {text!r}")
    return vals[0], vals[1]


def model_name(text: str) -> str:
    from radiofm.models import list_models

    names = list_models()
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; valid models: {', '.join(names)}")
    return text


def add_train_args(
    p: argparse.ArgumentParser,
    *,
    epochs: int,
    batch_size: int,
    base_lr: float = 1e-3,
    warmup: float = 1.0,
    weight_decay: float = 0.05,
) -> None:
    """Optimisation flags shared by pretrain and finetune (mirrors radiofm.train.TrainConfig)."""
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=positive_int, default=epochs, help=f"passes over the data (default {epochs})")
    g.add_argument(
        "--batch-size", type=positive_int, default=batch_size, help=f"per-process batch size (default {batch_size})"
    )
    g.add_argument("--lr", type=positive_float, default=None, help="peak learning rate (default: base-lr × batch/256)")
    g.add_argument("--base-lr", type=positive_float, default=base_lr, help=f"base learning rate (default {base_lr})")
    g.add_argument("--warmup-epochs", type=float, default=warmup, help=f"linear warm-up epochs (default {warmup})")
    g.add_argument("--weight-decay", type=float, default=weight_decay, help=f"AdamW weight decay ({weight_decay})")
    g.add_argument("--clip-grad", type=positive_float, default=1.0, help="max gradient norm (default 1.0)")
    g.add_argument("--seed", type=int, default=0, help="seed for data order, masks and initialisation")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    g.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto", help="bf16 autocast (auto: on GPU)")
    g.add_argument("--num-workers", type=non_negative_int, default=0, help="DataLoader worker processes")
    g.add_argument(
        "--save-every-steps",
        type=non_negative_int,
        default=0,
        help="also checkpoint every N steps (default: each epoch)",
    )
    g.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def train_config(args) -> TrainConfig:  # noqa: F821
    from radiofm.train import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        base_lr=args.base_lr,
        warmup_epochs=args.warmup_epochs,
        weight_decay=args.weight_decay,
        clip_grad=args.clip_grad,
        amp=args.amp,
        seed=args.seed,
        num_workers=args.num_workers,
        save_every_steps=args.save_every_steps,
        device=args.device,
        progress=not args.no_progress,
    )


def add_plugin_parsers(
    parser: argparse.ArgumentParser,
    dest: str,
    metavar: str,
    registry: dict[str, tuple[str, str]],
    *,
    add_args: str,
    run: str,
    common: Callable[[argparse.ArgumentParser], None] | None = None,
    skip_without_args: bool = False,
) -> None:
    """A required sub-command per registry entry ``name -> (module, help)``.

    Each module's ``add_args(p)`` adds its flags (after ``common(p)``, if given) and its ``run`` handles the
    command. A registered module that is not installed is skipped; with ``skip_without_args`` so is one that
    lacks ``add_args``.
    """
    sub = parser.add_subparsers(dest=dest, metavar=metavar, parser_class=type(parser))
    sub.required = True
    for name, (modname, help_) in registry.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        if skip_without_args and not hasattr(mod, add_args):
            continue
        p = sub.add_parser(name, help=help_, description=help_)
        if common is not None:
            common(p)
        getattr(mod, add_args)(p)
        p.set_defaults(run=getattr(mod, run))
