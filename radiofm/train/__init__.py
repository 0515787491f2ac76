"""The one training loop every task uses.

A task supplies ``step(model, batch, *, generator, train) -> (loss, metrics)``; the loop owns everything
else: deterministic data order (a permutation per epoch from the seed), warm-up + cosine learning rate as a
pure function of the step, AdamW, gradient clipping, bf16 autocast on GPU, DDP under ``torchrun``,
one JSON line per epoch, a stop on non-finite loss, and step-level checkpoints that ``resume`` continues
exactly (same data order, same masks, same optimizer state).

Randomness: the loop draws nothing from the global RNGs. Data order comes from ``(seed, epoch)``, every step's
draws (masks, augmentation) from :func:`step_generator` ``(seed, step, rank)``; model initialisation belongs to
the caller (:func:`seeded`). What cannot take a generator (dropout) draws from the global torch RNG, which each
training step forks and seeds from ``(seed, step, rank)`` (:func:`~radiofm.train.steps.step_rng`) and restores
afterwards. So resuming needs no RNG state, and the global torch RNG is never saved (checkpoints written before
issue 9 hold a ``torch_rng`` entry in their train state; it is ignored).

Progress: the one JSON line per epoch is appended to ``metrics.jsonl`` in the run folder and handed to the
``log`` callable of :func:`fit` (the CLI passes ``print``; the default prints nothing); the per-batch bar is
tqdm on stderr (``TrainConfig.progress``).

The run folder *is* the checkpoint: ``model.safetensors`` + ``config.json`` + ``train_state/``, plus
``metrics.jsonl``; it is replaced atomically at every save. :func:`build_dataset_once` builds a cached dataset
on rank 0 while the other ranks wait.
"""

from radiofm.train.config import RunResult, Task, TrainConfig, TrainingDiverged, lr_at, param_groups
from radiofm.train.distributed import (
    DistInfo,
    build_dataset_once,
    epoch_batches,
    init_distributed,
    is_main_process,
)
from radiofm.train.loop import evaluate, fit, refuse_existing_run, train_one_epoch
from radiofm.train.steps import autocast_for, seeded, step_generator, to_device

__all__ = [
    "DistInfo",
    "RunResult",
    "Task",
    "TrainConfig",
    "TrainingDiverged",
    "autocast_for",
    "build_dataset_once",
    "epoch_batches",
    "evaluate",
    "fit",
    "refuse_existing_run",
    "init_distributed",
    "is_main_process",
    "lr_at",
    "param_groups",
    "seeded",
    "step_generator",
    "to_device",
    "train_one_epoch",
]
