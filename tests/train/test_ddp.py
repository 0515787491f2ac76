"""What two gloo processes must agree on (session 61's review of radiofm under torchrun).

- Training on a frozen backbone's cached features: the tasks' steps called ``model.module.head(features)``, past
  the DDP wrapper, so no gradient was ever averaged: each process trained a head of its own on its half of the
  data, and rank 0's was saved.
- An epoch's recorded train loss was rank 0's half alone (and, once summed, counted rank 0's first steps twice
  after a mid-epoch resume).
- The other ranks waited for rank 0's dataset cache at a barrier with the process group's timeout (30 minutes by
  default), so a longer build ended every waiting rank with a traceback.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints_v1"


def _cached_features_gradient(rank: int, world: int) -> dict:
    from radiofm.models import load_checkpoint
    from radiofm.tasks.segmentation import SegmentationTask

    model, _ = load_checkpoint(FIXTURES / "segmentation-last")
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(100 + rank)  # each process its own batch, as a sampler gives it
    h, w = model.image_size
    with torch.no_grad():
        features = model.encode(torch.randn(2, 1, h, w, generator=g))
    y = torch.randint(0, 3, (2, h, w), generator=g)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    loss, _ = SegmentationTask(augment=False).step(ddp, {"features": features, "y": y}, generator=g, train=True)
    loss.backward()
    grad = torch.cat([p.grad.reshape(-1) for p in model.head.parameters() if p.grad is not None])
    grads = [torch.zeros_like(grad) for _ in range(world)]
    dist.all_gather(grads, grad)
    return {"spread": float((grads[0] - grads[1]).abs().max()), "norm": float(grad.abs().max())}


class _ConstantLoss:
    """A task whose loss is rank + 1 on every batch: the epoch's mean over both processes is 1.5."""

    def step(self, model, batch, *, generator, train):
        return (model.weight * 0).sum() + float(dist.get_rank() + 1), {"acc": float(dist.get_rank())}


class _Killed(Exception):
    pass


def _epoch_train_loss(rank: int, *, killed_after: int | None = None) -> float:
    """An epoch of 4 steps per process; ``killed_after``: stopped after that step's checkpoint (``--save-every-steps``),
    then resumed from it as ``fit`` resumes (:func:`saved_progress`, :func:`resumed_progress`)."""
    from radiofm.train import TrainConfig
    from radiofm.train.distributed import DistInfo, resumed_progress, saved_progress
    from radiofm.train.loop import train_one_epoch

    model = torch.nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    cfg = TrainConfig(epochs=1, batch_size=1, progress=False, clip_grad=None, device="cpu",
                      save_every_steps=killed_after or 0)  # fmt: skip
    info = DistInfo(rank=rank, world_size=2)
    common = {"epoch": 0, "cfg": cfg, "unwrapped": model, "dist": info,
              "sched": {"total_steps": 4, "warmup_steps": 0, "peak_lr": 0.0}}  # fmt: skip
    state = {"epoch": 0, "global_step": 0, "step_in_epoch": 0}
    batch = torch.zeros(1, 1)  # as many batches on every rank, as epoch_batches gives them
    if killed_after:
        saved = []

        def kill(state, loss):
            if saved:
                raise _Killed

        try:
            train_one_epoch(model, _ConstantLoss(), [batch] * 4, opt, state=state, on_step=kill,
                            save_fn=lambda: saved.append(saved_progress(state, info)), **common)  # fmt: skip
        except _Killed:
            pass
        checkpoint = [saved[0]]  # what rank 0 wrote is what every rank reads back
        dist.broadcast_object_list(checkpoint, src=0)
        state = resumed_progress(checkpoint[0], info)
    left = [batch] * (4 - state["step_in_epoch"])
    return train_one_epoch(model, _ConstantLoss(), left, opt, state=state, **common)["train_loss"]


def _patient_build(rank: int) -> float:
    """rank 0 builds for 8 s while the process group's own timeout is 4 s."""
    from radiofm.train import distributed

    t0 = time.perf_counter()
    distributed.build_dataset_once(lambda: time.sleep(8.0 if rank == 0 else 0.0), "cpu")
    return time.perf_counter() - t0


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    import os

    from radiofm.cli.main import _peer_lost

    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=4))  # fmt: skip
    try:
        result = {
            "grad": _cached_features_gradient(rank, world),
            "train_loss": _epoch_train_loss(rank),
            "resumed_train_loss": _epoch_train_loss(rank, killed_after=2),
            "resumed_at_its_end": _epoch_train_loss(rank, killed_after=4),
            "build_s": _patient_build(rank),
            "peer_lost": _peer_lost(RuntimeError("[../third_party/gloo/...] Read error: Connection reset by peer")),
            "timeout_is_peer_lost": _peer_lost(RuntimeError("[../third_party/gloo/...] Timed out waiting 3000ms")),
        }
        if rank == 1:
            torch.save(result, out)
    finally:
        dist.destroy_process_group()


def test_two_processes_train_one_model_record_both_halves_and_wait_for_the_cache(tmp_path):
    out = tmp_path / "result.pt"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(out)), nprocs=2, join=True)
    r = torch.load(out)
    assert r["grad"]["norm"] > 0 and r["grad"]["spread"] < 1e-6
    assert abs(r["train_loss"] - 1.5) < 1e-9  # rank 0's losses are 1, rank 1's 2
    assert abs(r["resumed_train_loss"] - 1.5) < 1e-9  # killed after step 2 and resumed: the same epoch mean
    assert abs(r["resumed_at_its_end"] - 1.5) < 1e-9  # killed after the last step's checkpoint: nothing left to run
    assert not r["timeout_is_peer_lost"]  # a hang or a mismatched collective keeps its traceback
    assert r["build_s"] > 7  # rank 1 waited past the group's 4 s timeout
    assert r["peer_lost"]


def test_a_runtime_error_outside_a_process_group_is_not_a_lost_peer():
    from radiofm.cli.main import _peer_lost

    assert not _peer_lost(RuntimeError("gloo: something"))
