"""The flags shared by several commands, Namespace -> config dataclass converters, lists of names given as flags,
rank-0 printing and the plug-in sub-command plumbing (the flags' value types: :mod:`radiofm.cli._types`).

Nothing below ``radiofm.cli`` sees an ``argparse.Namespace``: each command turns its flags into the config
dataclasses of the library (:class:`radiofm.train.TrainConfig`, the tasks' configs) here or in its own module.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radiofm.cli._types import (
    MAX_EPOCHS,
    count_up_to,
    model_name,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    seed,
    size2,
    workers,
)
from radiofm.errors import ConfigError, check_names

if TYPE_CHECKING:  # radiofm.train imports torch: only the commands that train pay for it (start-up time)
    from radiofm.train import RunResult, TrainConfig


# annotate's --engine choices: radiofm.annotate.engine.ENGINES, not imported so that the parsers stay numpy-free
# (tests/annotate/test_engine.py checks that the two agree)
ENGINES = ("auto", "torch", "numpy")


# ------------------------------------------------------------------------------------------- training flags


def add_train_args(p: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """Optimisation flags shared by pretrain and finetune (mirrors :class:`radiofm.train.TrainConfig`); the
    defaults are the command's library defaults (e.g. ``radiofm.tasks.finetune.DEFAULT_TRAIN``)."""
    d = defaults
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=count_up_to(MAX_EPOCHS, "an epoch count"), default=d.epochs,
                   help=f"passes over the data (default {d.epochs})")  # fmt: skip
    g.add_argument(
        "--batch-size", type=positive_int, default=d.batch_size, help=f"per-process batch size (default {d.batch_size})"
    )
    g.add_argument("--lr", type=positive_float, default=None, help="peak learning rate (default: base-lr × batch/256)")
    g.add_argument(
        "--base-lr", type=positive_float, default=d.base_lr, help=f"base learning rate (default {d.base_lr})"
    )
    g.add_argument(
        "--warmup-epochs",
        type=non_negative_float,
        default=d.warmup_epochs,
        help=f"linear warm-up epochs (default {d.warmup_epochs})",
    )
    g.add_argument(
        "--weight-decay", type=non_negative_float, default=d.weight_decay, help=f"AdamW weight decay ({d.weight_decay})"
    )
    g.add_argument("--clip-grad", type=positive_float, default=d.clip_grad, help="max gradient norm (default 1.0)")
    g.add_argument("--seed", type=seed, default=d.seed, help="seed for data order, masks and initialisation")
    g.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N (default auto)")
    g.add_argument("--amp", choices=["auto", "bf16", "off"], default=d.amp, help="bf16 autocast (auto: on GPU)")
    g.add_argument("--num-workers", type=non_negative_int, default=d.num_workers, help="DataLoader worker processes")
    g.add_argument(
        "--save-every-steps",
        type=non_negative_int,
        default=d.save_every_steps,
        help="also checkpoint every N steps (default: each epoch)",
    )
    g.add_argument(
        "--compile",
        nargs="?",
        const="on",
        choices=["auto", "on", "off"],
        default=d.compile,
        help="torch.compile the training step (bare flag: on; default auto: on CUDA only)",
    )
    g.add_argument(
        "--fast",
        nargs="?",
        const="on",
        choices=["auto", "on", "off"],
        default=d.fast,
        help="fused AdamW + loss-only shortcuts, not bit-reproducible with the plain path (default auto: CUDA only)",
    )
    g.add_argument(
        "--batch-threads",
        type=non_negative_int,
        default=d.batch_threads,
        help="CPU: split each batch across N threads, each with one core (pretrain only; default 0 = auto: the "
        "CPU threads, at most 8, with --fast, else 1)",
    )
    g.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` the flags of :func:`add_train_args` describe."""
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
        compile=args.compile,
        fast=args.fast,
        batch_threads=args.batch_threads,
    )


# ------------------------------------------------------------------------------------------- fine-tuning flags


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    """Flags every ``radiofm finetune TASK`` shares: data, output, :class:`FinetuneConfig`, optimisation."""
    from radiofm.models.finetuned import MODES
    from radiofm.tasks.finetune import DEFAULT_TRAIN

    p.add_argument(
        "--data",
        required=True,
        type=Path,
        help="training data: a dataset folder (positioning: its train.mat file or folder)",
    )
    p.add_argument("--init", type=Path, default=None, help="pretrained backbone checkpoint (run folder)")
    p.add_argument("--out", required=True, type=Path, help="run folder = fine-tuned checkpoint")
    p.add_argument("--mode", choices=MODES, default="frozen", help="what is trained (default frozen)")
    p.add_argument("--k", type=positive_int, default=None, help="last-k: backbone blocks trained (default 2)")
    p.add_argument("--lora-rank", type=positive_int, default=None, help="lora: adapter rank (default 8)")
    p.add_argument("--lora-alpha", type=positive_float, default=None, help="lora: scale alpha (default rank)")
    p.add_argument(
        "--layer-decay",
        type=positive_float,
        default=None,
        help="lr scale decay^(depth-i) for backbone block i (default 0.75 in full mode, else off)",
    )
    p.add_argument("--model", type=model_name, default=None, help="scratch without --init: architecture")
    p.add_argument("--image-size", type=size2, default=None, help="backbone input (F, T); default: --init's")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out fraction for validation (default 0.1)")
    p.add_argument(
        "--label-fraction",
        type=float,
        default=1.0,
        help="train on this fraction of the labelled training items, in (0, 1] (default 1: all)",
    )
    p.add_argument(
        "--no-cache-features",
        action="store_true",
        help="frozen mode: run the backbone every epoch (enables augmentation) instead of caching its features once",
    )
    add_train_args(p, DEFAULT_TRAIN)


def finetune_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`radiofm.tasks.finetune.FinetuneConfig` fields the flags of :func:`add_finetune_args` give.
    ConfigError for ``--model`` with ``--init`` (the run took --init's architecture without a word); a warning for
    a mode's flag given with another mode (one command line over several modes is a fair use)."""
    import warnings

    if args.model is not None and args.init is not None:
        raise ConfigError(f"--model {args.model} and --init {args.init}: --init names the architecture; give one")
    for flag, given, mode in (("--k", args.k, "last-k"), ("--lora-rank", args.lora_rank, "lora"),
                              ("--lora-alpha", args.lora_alpha, "lora")):  # fmt: skip
        if given is not None and args.mode != mode:
            warnings.warn(f"{flag} has no effect with --mode {args.mode} (it applies to --mode {mode})", stacklevel=2)
    return dict(
        init=args.init,
        mode=args.mode,
        k=2 if args.k is None else args.k,
        lora_rank=8 if args.lora_rank is None else args.lora_rank,
        lora_alpha=args.lora_alpha,
        layer_decay=args.layer_decay,
        model=args.model,
        image_size=args.image_size,
        val_fraction=args.val_fraction,
        label_fraction=args.label_fraction,
        cache_features=not args.no_cache_features,
    )


# ------------------------------------------------------------------------------------------- output


def name_list(text: str, valid: Sequence[str], flag: str, what: str) -> tuple[str, ...]:
    """A comma list of names (each a ``what``) given as ``flag``: :func:`radiofm.errors.check_names`, the reading
    the Python API gives its lists too (``--held-out MATLAB`` was refused where ``--traffic MATLAB`` was taken,
    and ``--tasks sensing,sensing`` ran the task twice)."""
    return check_names(text, valid, what, flag)


def no_bar_flag(p: argparse.ArgumentParser) -> None:
    """``--no-progress`` on a command that draws no progress bar: accepted, so that a script passing it to every
    ``evaluate`` runs unchanged (four evaluations refused it, session 60)."""
    p.add_argument("--no-progress", action="store_true", help="accepted for uniformity: this shows no progress bar")


def say(message: str) -> None:
    """Print one progress line on the main process (rank 0 under torchrun), flushed."""
    from radiofm.train import is_main_process

    if is_main_process():
        print(message, flush=True)


def print_run(result: RunResult, what: str, unit: str, *, val_metric: str | None = None) -> None:
    """The one summary line of a training command: ``WHAT on N UNIT -> OUT (final train loss L[, METRIC V])``."""
    from radiofm.train import is_main_process

    if not result.record or not is_main_process():
        return
    tail = f"final train loss {result.record.get('train_loss', float('nan')):.4f}"
    if val_metric is not None and result.val_size == 0:
        tail += ", no validation set"
    elif val_metric is not None:
        tail += f", {val_metric.replace('_', ' ')} {result.record.get(val_metric, float('nan')):.4f}"
    print(f"{what} on {result.train_size} {unit} -> {result.out} ({tail})", flush=True)


def wrote(*paths: Path) -> None:
    print("wrote " + ", ".join(str(p) for p in paths))


# ------------------------------------------------------------------------------------------- reproductions


def add_reproduce_args(p: argparse.ArgumentParser) -> None:
    """The flags every ``radiofm reproduce EXPERIMENT`` shares (``--preset`` comes from the ``reproduce`` command)."""
    p.add_argument(
        "--out", type=Path, required=True, help="output folder (a rerun with the same settings resumes; --force redoes)"
    )
    p.add_argument("--force", action="store_true", help="redo every step")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--workers", type=workers, default=None, help="processes for data generation")
    p.add_argument("--device", default=None, help="auto, cpu, cuda (default auto)")


def settings_from_args(preset: Any, args: argparse.Namespace, overrides: Sequence[str] = ("workers",)) -> Any:
    """The preset's settings dataclass with ``--seed`` and whichever of the ``overrides`` flags were given."""
    given = {name: getattr(args, name) for name in overrides if getattr(args, name, None)}
    if "device" in given:  # checked before the first step (data generation takes minutes)
        from radiofm.train.distributed import resolve_device

        resolve_device(given["device"])
    return dataclasses.replace(preset, seed=args.seed, **given)


def stderr(message: str) -> None:
    print(message, file=sys.stderr)


# ------------------------------------------------------------------------------------------- plug-ins


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
