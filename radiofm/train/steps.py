"""What each training or evaluation step needs: autocast, the seeded draws that make every step reproducible
(:func:`step_generator`, :func:`step_rng`; model initialisation under :func:`seeded`), moving a batch to the
device, and the DataLoader over a run's batches (used by :mod:`radiofm.train.loop`)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch


def autocast_for(device: torch.device, amp: str):
    if device.type == "cuda" and amp in ("auto", "bf16"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    if amp == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return torch.autocast(device_type=device.type, enabled=False)


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block (model initialisation) under a fixed torch seed, restoring the global RNG afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """A fresh generator per (seed, step, rank): masks are reproducible and survive a resume."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0]))


@contextlib.contextmanager
def step_rng(seed: int, step: int, rank: int, device: torch.device):
    """The torch global RNG for one training step, seeded from (seed, step, rank) and restored afterwards.

    What cannot take a generator — dropout, stochastic depth — draws from the global RNG, whose seed differs from
    process to process; seeding it per step makes those draws the same on every run and after a resume.
    """
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(np.random.SeedSequence([seed, step, rank, 1]).generate_state(1)[0]))
        yield


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def make_loader(dataset, batches, collate_fn, num_workers, device: torch.device | None = None):
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate_fn,
        num_workers=num_workers,
        persistent_workers=False,
        pin_memory=device is not None and device.type == "cuda",  # page-locked batches: asynchronous copies
        prefetch_factor=4 if num_workers else None,
    )
