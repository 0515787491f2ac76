"""Distributed data parallel plumbing: joining the ``torchrun`` process group, this rank's batches, rank 0 first,
an epoch's running sums added over the processes (in a checkpoint and on ``--resume``).

Under ``torchrun`` the process group is joined once by :func:`init_distributed` and lives for the whole command
(``radiofm.cli.main`` tears it down); without it everything runs as rank 0 of 1.
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from radiofm.errors import ConfigError, check_device

# how long the other ranks wait for rank 0 to build a dataset cache (a large corpus takes hours; build_dataset_once)
BUILD_WAIT = datetime.timedelta(days=1)


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def is_main_process() -> bool:
    """True on rank 0 (or without torchrun). Never joins or creates a process group."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def launched_world_size() -> int:
    """The number of processes ``torchrun`` started (its WORLD_SIZE; 1 without it). Joins nothing."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def resolve_device(device: str) -> str:
    """A checked device name (:func:`radiofm.errors.check_device`), "auto" made "cuda" where CUDA is available,
    else "cpu"; ConfigError for "cuda" on a machine without it."""
    device = check_device(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available")
    return device


class DeviceChecked:
    """Base of a dataclass config with a ``device`` field: the name is checked when the config is made, and "auto"
    becomes "cuda" or "cpu" (:func:`resolve_device`). A subclass with its own ``__post_init__`` calls this one."""

    device: str

    def __post_init__(self) -> None:
        self.device = resolve_device(self.device)


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by ``torchrun`` (WORLD_SIZE > 1): NCCL on GPU, gloo on CPU."""
    world = launched_world_size()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = resolve_device(device).startswith("cuda")
    if use_cuda:
        dev = torch.device(f"cuda:{local}") if (world > 1 or device in ("auto", "cuda")) else torch.device(device)
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=dev)


def epoch_batches(
    n: int,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    rank: int = 0,
    world: int = 1,
    shuffle: bool = True,
    drop_last: bool = True,
) -> list[list[int]]:
    """This rank's batches of indices for one epoch: a seeded permutation, split evenly across ranks."""
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    per_rank = len(order) // world if drop_last or world > 1 else len(order)
    mine = order[rank * per_rank : (rank + 1) * per_rank] if world > 1 else order
    nb = len(mine) // batch_size if drop_last else math.ceil(len(mine) / batch_size)
    if nb == 0 and len(mine) > 0:  # fewer samples than one batch: use what there is
        return [mine.tolist()]
    return [mine[i * batch_size : (i + 1) * batch_size].tolist() for i in range(nb)]


def build_dataset_once(build: Callable[[], Any], device: str) -> Any:
    """``build()`` (a cached dataset) on rank 0 while the other ranks wait, then on them (a cache hit).

    They wait at a barrier of a gloo group of their own whose timeout is :data:`BUILD_WAIT` (the process group's
    default, 30 minutes, ended a longer build with a traceback on every waiting rank)."""
    dist = init_distributed(device)
    if dist.world_size == 1:
        return build()
    patient = torch.distributed.new_group(backend="gloo", timeout=BUILD_WAIT)
    if not dist.is_main:
        torch.distributed.barrier(group=patient)
    ds = build()
    if dist.is_main:
        torch.distributed.barrier(group=patient)
    torch.distributed.destroy_process_group(patient)
    return ds


def saved_progress(state: dict, dist: DistInfo) -> dict:
    """The progress a checkpoint records; mid-epoch under DDP its running sums are every process's so far (each
    process must call it: a collective). :func:`resumed_progress` hands them back to rank 0 alone."""
    sums = dict(state.get("epoch_sums", {}))
    if dist.world_size > 1 and state["step_in_epoch"]:
        sums = summed_progress(sums, dist)
    return {**state, "epoch_sums": sums}


def resumed_progress(progress: dict, dist: DistInfo) -> dict:
    """Saved progress as this process resumes it: the epoch's sums so far on rank 0, and the same keys at zero on
    the others (every rank restored rank 0's sums, so the epoch's mean counted rank 0's first steps once per
    process; with no keys, a resume at the epoch's end summed lists of other lengths; session 61)."""
    if dist.is_main:
        return progress
    return {**progress, "epoch_sums": dict.fromkeys(progress.get("epoch_sums", {}), 0.0)}


def summed_progress(sums: dict[str, float], dist: DistInfo) -> dict[str, float]:
    """An epoch's running sums (with "__seen__") added over the processes; every process must call it."""
    keys = sorted(set(sums) | {"__seen__"})
    t = torch.tensor([float(sums.get(k, 0.0)) for k in keys], dtype=torch.float64, device=dist.device)
    torch.distributed.all_reduce(t)
    return dict(zip(keys, t.tolist()))
