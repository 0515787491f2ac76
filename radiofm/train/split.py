"""One training step's batch split across threads on the CPU (``TrainConfig.batch_threads``).

On a few CPU cores a step of a small model does not keep every core busy: its matrix products are too small for
the intra-op threads to share them well, and the elementwise work between them runs one op at a time. Splitting
the batch into ``n`` parts, each run forward and backward in its own thread with one intra-op thread, keeps the
cores busy with whole sub-steps instead (torch releases the GIL inside its kernels). Measured against Hugging
Face's ``ViTMAEForPreTraining`` in ``benchmarks/pretrain_throughput.py`` (docs/RESULTS.md, issue 13).

Only a task that takes its random draws ahead can be split: ``task.draw(model, batch, generator)`` returns the
batch with one row of draws per item (the MAE's mask noise), so that every part gets the rows the whole batch
would have drawn, and the masks do not depend on the number of parts. The task's loss must be a mean over items
of equal weight: the parts' losses weighted by their sizes then give the batch's loss, and the parts' gradients,
summed in a fixed order, its gradient — the same step as without the split, to float rounding, and the same bits
run after run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import nn

MAX_AUTO_PARTS = 8  # auto splits no finer (each part holds the GIL between kernels); only 2 cores were measured


def split_threads(wanted: int, *, fast: bool, device: torch.device, task, world_size: int, compiled: bool) -> int:
    """How many parts each batch is split into: ``wanted`` (0 = auto: the intra-op threads, at most
    :data:`MAX_AUTO_PARTS`, when ``fast``, else 1), 1 wherever splitting does not apply (not the CPU, several
    processes, a compiled step, a task without ``draw``)."""
    if device.type != "cpu" or world_size > 1 or compiled or not hasattr(task, "draw"):
        return 1
    if wanted == 0:
        return min(torch.get_num_threads(), MAX_AUTO_PARTS) if fast else 1
    return wanted


class BatchSplitter:
    """Runs a step's forward and backward as ``n`` parts of the batch in ``n`` threads; see the module doc."""

    def __init__(self, n: int, params: list[nn.Parameter], autocast: Callable[[], Any] = contextlib.nullcontext):
        self.n = n
        self.params = [p for p in params if p.requires_grad]
        self.autocast = autocast  # autocast state is per thread: each part enters it itself

    def step(self, model, task, batch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """The batch's loss and metrics; leaves the batch's gradient in each parameter's ``.grad``."""
        drawn = task.draw(model, batch, generator)
        size = batch_len(drawn)
        n = min(self.n, size)
        edges = [size * i // n for i in range(n + 1)]
        threads = torch.get_num_threads()
        inner = max(1, threads // n)

        def part(i: int):
            torch.set_num_threads(inner)
            weight = (edges[i + 1] - edges[i]) / size
            with self.autocast():
                loss, metrics = task.step(model, _rows(drawn, edges[i], edges[i + 1]), generator=None, train=True)
            grads = torch.autograd.grad(loss * weight, self.params, allow_unused=True)
            return loss.detach() * weight, {k: float(v) * weight for k, v in (metrics or {}).items()}, grads

        torch.set_num_threads(inner)
        try:
            parts = list(_pool(n).map(part, range(n)))
        finally:
            torch.set_num_threads(threads)
        for j, p in enumerate(self.params):
            got = [g[j] for _, _, g in parts if g[j] is not None]
            p.grad = None if not got else _sum(got)
        loss = _sum([lo for lo, _, _ in parts])
        metrics: dict[str, float] = {}
        for _, m, _ in parts:
            for k, v in m.items():
                metrics[k] = metrics.get(k, 0.0) + v
        return loss, metrics


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(n: int) -> ThreadPoolExecutor:
    """The process's pool of ``n`` part threads, kept from step to step: a new thread per step would start each
    step with cold per-thread state (the BLAS library's packing buffers, the allocator's caches), which costs more
    than the split gains. Idle between steps; Python joins them at exit."""
    with _POOLS_LOCK:
        if n not in _POOLS:
            _POOLS[n] = ThreadPoolExecutor(n, thread_name_prefix="radiofm-part")
        return _POOLS[n]


def _sum(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The sum, in order, into the first tensor (the parts' fresh gradients, which nothing else holds)."""
    total = tensors[0]
    for t in tensors[1:]:
        total += t
    return total


def _rows(batch: Any, lo: int, hi: int) -> Any:
    """Items ``lo:hi`` of a batch (a tensor, or tuples/lists/dicts of them)."""
    if isinstance(batch, torch.Tensor):
        return batch[lo:hi]
    if isinstance(batch, (list, tuple)):
        return type(batch)(_rows(b, lo, hi) for b in batch)
    if isinstance(batch, dict):
        return {k: _rows(v, lo, hi) for k, v in batch.items()}
    return batch


def batch_len(batch: Any) -> int:
    """Items in a batch (a tensor, or tuples/lists/dicts of them: the first one's length)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, (list, tuple)):
        return batch_len(batch[0])
    if isinstance(batch, dict):
        return batch_len(next(iter(batch.values())))
    return 1
