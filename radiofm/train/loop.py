"""The loop: :func:`fit` (epochs, evaluation, logging, checkpoints, resume), :func:`train_one_epoch`,
:func:`evaluate`; what each step needs is in :mod:`radiofm.train.steps`, the processes' sums in
:mod:`radiofm.train.distributed` (see :mod:`radiofm.train`)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from radiofm.errors import ConfigError, OutputError, OutputKeptError
from radiofm.io import atomic_path, remove_dead_orphans
from radiofm.models.checkpoint import save_checkpoint
from radiofm.train.config import Task, TrainConfig, TrainingDiverged, lr_at, param_groups
from radiofm.train.distributed import (
    DistInfo,
    epoch_batches,
    init_distributed,
    is_main_process,
    resumed_progress,
    saved_progress,
    summed_progress,
)
from radiofm.train.resume import (
    check_progress,
    check_run_files,
    check_settings,
    finished,
    load_optimizer,
    load_resume,
    run_lock,
)
from radiofm.train.speed import fast_wanted, make_adamw, maybe_compile, peak_rss_mb, setup_device
from radiofm.train.split import BatchSplitter, batch_len, split_threads
from radiofm.train.steps import autocast_for, make_loader, step_generator, step_rng, to_device

RUN_FILES = ("metrics.jsonl", "run.json")  # carried across checkpoint swaps


def train_one_epoch(
    model, task, loader, optimizer, *, epoch, state, sched, cfg, dist, unwrapped, save_fn=None, on_step=None,
    splitter: BatchSplitter | None = None,
) -> dict:  # fmt: skip
    """One pass over ``loader``; returns mean loss/metrics weighted by batch size, samples/s and the fraction of
    the epoch's wall time spent waiting for the next batch (``data_wait_frac``, loading and copying to the
    device). ``splitter``: each step's batch split across threads (:mod:`radiofm.train.split`)."""
    model.train()
    # the sums of this epoch so far: restored from the checkpoint when resuming mid-epoch, so the epoch's mean
    # loss covers all of its steps
    sums: dict[str, float] = state.setdefault("epoch_sums", {})
    if not state["step_in_epoch"]:
        sums.clear()
    seen = int(sums.get("__seen__", 0))
    seen_before = seen  # restored at a resume (under DDP on rank 0: every process's): not this run's speed
    wait = 0.0
    t0 = time.perf_counter()
    bar = tqdm(
        total=len(loader) + state["step_in_epoch"],
        initial=state["step_in_epoch"],
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        unit="batch",
        disable=not (cfg.progress and dist.is_main),
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    batches = iter(loader)
    while True:
        t_wait = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            break
        batch = to_device(batch, dist.device)
        wait += time.perf_counter() - t_wait
        lr = lr_at(state["global_step"], **sched)
        for g in optimizer.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)
        gen = step_generator(cfg.seed, state["global_step"], dist.rank)
        if splitter is not None:  # forward and backward of the batch's parts in threads: the gradients are set
            with step_rng(cfg.seed, state["global_step"], dist.rank, dist.device):
                loss, metrics = splitter.step(model, task, batch, gen)
        else:
            with step_rng(cfg.seed, state["global_step"], dist.rank, dist.device), autocast_for(dist.device, cfg.amp):
                loss, metrics = task.step(model, batch, generator=gen, train=True)
        finite = torch.isfinite(loss.detach()).float()
        if dist.world_size > 1:
            torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
        if finite.item() < 1:
            raise TrainingDiverged(
                f"non-finite loss at epoch {epoch + 1}, step {state['global_step']} (lr {lr:.3g}); "
                "stopped, last checkpoint kept — try a lower --lr or --clip-grad"
            )
        if splitter is None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(unwrapped.parameters(), cfg.clip_grad)
        optimizer.step()
        n = batch_len(batch)
        seen += n
        sums["__seen__"] = seen
        sums["loss"] = sums.get("loss", 0.0) + float(loss.detach()) * n
        for k, v in (metrics or {}).items():
            sums[k] = sums.get(k, 0.0) + float(v) * n
        state["global_step"] += 1
        state["step_in_epoch"] += 1
        elapsed = time.perf_counter() - t0
        sps = (seen - seen_before) * dist.world_size / elapsed
        bar.set_postfix(loss=f"{float(loss.detach()):.4f}", lr=f"{lr:.2e}", samples_per_s=f"{sps:.1f}")
        bar.update(1)
        if save_fn is not None and cfg.save_every_steps and state["global_step"] % cfg.save_every_steps == 0:
            save_fn()
        if on_step is not None:
            on_step(state, float(loss.detach()))
    bar.close()
    elapsed = time.perf_counter() - t0
    # every process's share (rank 0's was recorded)
    total = summed_progress(sums, dist) if dist.world_size > 1 else sums
    count = total.get("__seen__", 0)
    out = {f"train_{k}": v / max(count, 1) for k, v in total.items() if k != "__seen__"}
    out["samples_per_s"] = (seen - seen_before) * dist.world_size / max(elapsed, 1e-9)
    out["data_wait_frac"] = wait / max(elapsed, 1e-9)
    out["lr"] = lr_at(max(state["global_step"] - 1, 0), **sched)
    return out


@torch.no_grad()
def evaluate(
    model, task, dataset, *, batch_size, dist: DistInfo, seed=0, collate_fn=None, amp="auto", num_workers=0
) -> dict:
    """Mean loss/metrics over ``dataset`` (fixed masks from ``seed``), on the main process."""
    model.eval()
    batches = epoch_batches(len(dataset), batch_size, seed=seed, epoch=0, shuffle=False, drop_last=False)
    sums: dict[str, float] = {}
    seen = 0
    for i, batch in enumerate(make_loader(dataset, batches, collate_fn, num_workers)):
        batch = to_device(batch, dist.device)
        with autocast_for(dist.device, amp):
            loss, metrics = task.step(model, batch, generator=step_generator(seed, i, 0), train=False)
        n = batch_len(batch)
        seen += n
        sums["loss"] = sums.get("loss", 0.0) + float(loss) * n
        for k, v in (metrics or {}).items():
            sums[k] = sums.get(k, 0.0) + float(v) * n
    return {f"val_{k}": v / max(seen, 1) for k, v in sums.items()}


def refuse_existing_run(out: Path, resume: bool) -> None:
    """ConfigError when ``out`` already holds a run and this is no ``resume`` of it."""
    if not resume and (Path(out) / "config.json").exists():
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")


def fit(model: nn.Module, task: Task, train_set, *, cfg: TrainConfig, out_dir: str | os.PathLike, **kwargs) -> dict:
    """Train ``model`` on ``train_set`` with ``task`` and keep the run folder ``out_dir`` as its checkpoint; see
    :func:`_fit` for the arguments. The run folder is held for this run (:func:`radiofm.train.resume.run_lock`)."""
    lock = run_lock(Path(out_dir)) if is_main_process() else contextlib.nullcontext()
    with lock:
        return _fit(model, task, train_set, cfg=cfg, out_dir=out_dir, **kwargs)


def _fit(
    model: nn.Module,
    task: Task,
    train_set,
    *,
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    extra: dict | None = None,
    val_set=None,
    resume: bool = False,
    groups: list[dict] | None = None,
    collate_fn: Callable | None = None,
    on_step: Callable | None = None,
    run_info: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Train ``model`` on ``train_set`` with ``task`` and keep the run folder ``out_dir`` as its checkpoint.

    Returns the last epoch's log record. With ``resume=True`` continues from ``out_dir``'s train state
    (mid-epoch too) and gives exactly the steps an uninterrupted run would have taken. ``log`` receives each
    epoch's JSON line on the main process (also appended to ``metrics.jsonl``).
    """
    out = Path(out_dir)
    dist = init_distributed(cfg.device)
    setup_device(dist.device)
    model.to(dist.device)
    unwrapped = model
    if dist.is_main:
        remove_dead_orphans(out)  # a live write of the same folder (another process) is left alone
        check_run_files(out, RUN_FILES)
    if resume and not (out / "config.json").exists():
        if out.exists() and (not out.is_dir() or any(p.name not in (*RUN_FILES, "split.json") for p in out.iterdir())):
            raise ConfigError(f"--resume: {out} holds no radiofm checkpoint but other files; choose another --out")
        if dist.is_main and log is not None:
            log(f"--resume: no complete checkpoint in {out} yet; starting from the beginning")
        resume = False
    if resume:
        check_settings(
            out, task.kind, extra, _cfg_dict(cfg), log if dist.is_main else None, shape=_shape(train_set, val_set, dist)
        )  # the run's own
        ts = load_resume(out, unwrapped)
    else:
        ts = None
        if dist.is_main:
            refuse_existing_run(out, resume=False)
    if dist.world_size > 1:
        ddp_kwargs = {"device_ids": [dist.device.index]} if dist.device.type == "cuda" else {}
        model = torch.nn.parallel.DistributedDataParallel(model, **ddp_kwargs)

    batches0 = epoch_batches(
        len(train_set), cfg.batch_size, seed=cfg.seed, epoch=0, rank=dist.rank, world=dist.world_size
    )
    steps_per_epoch = len(batches0)
    if steps_per_epoch == 0:
        raise ConfigError(f"training set has {len(train_set)} samples: too few for {dist.world_size} process(es)")
    eff_batch = cfg.batch_size * dist.world_size
    peak = cfg.lr if cfg.lr is not None else cfg.base_lr * eff_batch / 256
    sched = dict(
        total_steps=cfg.epochs * steps_per_epoch,
        warmup_steps=int(round(cfg.warmup_epochs * steps_per_epoch)),
        peak_lr=peak,
        min_lr=cfg.min_lr,
    )
    fast = fast_wanted(cfg.fast, dist.device)
    adamw = make_adamw if fast else torch.optim.AdamW
    optimizer = adamw(groups or param_groups(unwrapped, cfg.weight_decay), lr=peak, betas=cfg.betas)
    step_model = maybe_compile(model, cfg.compile, dist.device, log if dist.is_main else None)
    parts = split_threads(
        cfg.batch_threads, fast=fast, device=dist.device, task=task, world_size=dist.world_size,
        compiled=step_model is not model,
    )  # fmt: skip
    if cfg.batch_threads > 1 and parts == 1 and dist.is_main and log is not None:
        why = (
            "batches are split on the CPU only, in one process, without torch.compile"
            if hasattr(task, "draw")
            else f"{task.kind} batches are not split (only MAE pretraining's are)"
        )
        log(f"note: --batch-threads {cfg.batch_threads} ignored: {why}")
    splitter = (
        BatchSplitter(parts, list(unwrapped.parameters()), lambda: autocast_for(dist.device, cfg.amp))
        if parts > 1
        else None
    )
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0}
    if ts is not None:
        saved = check_progress(ts, out, steps_per_epoch=steps_per_epoch, epochs=cfg.epochs)
        state.update(resumed_progress(saved, dist))
        load_optimizer(optimizer, ts["optimizer"], out)
        if state["epoch"] >= cfg.epochs:  # nothing left to do
            return finished(out, cfg.epochs, log if dist.is_main else None)
    info = {
        "task": task.kind,
        "train_config": _cfg_dict(cfg),
        "peak_lr": peak,
        "effective_batch": eff_batch,
        "steps_per_epoch": steps_per_epoch,
        "batch_threads": parts,
        **_shape(train_set, val_set, dist),
        "cwd": os.getcwd(),  # where the run's relative paths (data, init) start: --resume from elsewhere finds them
        "threads": torch.get_num_threads(),  # CPU sums run in another order on another count: weights differ ~1e-7
        **(run_info or {}),
    }

    def save(line: str | None = None):
        progress = saved_progress(state, dist)
        if not dist.is_main:
            return
        train_state = {"optimizer": optimizer.state_dict(), "progress": progress}
        _save_run(out, unwrapped, task.kind, {**(extra or {}), "run": info}, train_state, save_checkpoint, line)

    record: dict = {}
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        batches = epoch_batches(
            len(train_set), cfg.batch_size, seed=cfg.seed, epoch=epoch, rank=dist.rank, world=dist.world_size
        )[state["step_in_epoch"] :]
        loader = make_loader(train_set, batches, collate_fn, cfg.num_workers, dist.device)
        t0 = time.perf_counter()
        record = train_one_epoch(
            step_model,
            task,
            loader,
            optimizer,
            epoch=epoch,
            state=state,
            sched=sched,
            cfg=cfg,
            dist=dist,
            unwrapped=unwrapped,
            save_fn=save,
            on_step=on_step,
            splitter=splitter,
        )
        if val_set is not None and dist.is_main and len(val_set):
            record.update(
                evaluate(
                    unwrapped,
                    task,
                    val_set,
                    batch_size=cfg.batch_size,
                    dist=dist,
                    seed=cfg.seed,
                    collate_fn=collate_fn,
                    amp=cfg.amp,
                )
            )
        state["epoch"] += 1
        state["step_in_epoch"] = 0
        state["epoch_sums"] = {}
        record = {
            "epoch": state["epoch"],
            "step": state["global_step"],
            **record,
            "epoch_time_s": time.perf_counter() - t0,
            "peak_rss_mb": peak_rss_mb(),
        }
        line = _line(record)
        save(line)  # the epoch's metrics line is committed with the checkpoint: a kill never duplicates it
        if dist.is_main and log is not None:
            log(line)
    return record


# ------------------------------------------------------------------------------------------- run folder


def _shape(train_set, val_set, dist) -> dict:
    """What cuts the batches besides the settings: the items trained and validated on, and the processes."""
    return {"train_items": len(train_set), "val_items": len(val_set) if val_set else 0, "world_size": dist.world_size}


def _cfg_dict(cfg: TrainConfig) -> dict:
    d = dataclasses.asdict(cfg)
    d["betas"] = list(cfg.betas)
    return d


def _line(record: dict) -> str:
    return json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in record.items()})


def _save_run(out: Path, model, kind, extra, train_state, save_checkpoint, line: str | None = None) -> None:
    """Replace the run folder atomically with a fresh checkpoint, carrying the run's logs across and appending
    ``line`` to its ``metrics.jsonl`` in the same step. A failed write (disk full) leaves the previous one."""
    try:
        with atomic_path(out) as tmp:
            save_checkpoint(tmp, model, kind=kind, extra=extra, train_state=train_state)
            for name in RUN_FILES:
                if (out / name).exists():
                    shutil.copy2(out / name, tmp / name)
            if line is not None:
                with open(tmp / "metrics.jsonl", "a") as fh:
                    fh.write(line + "\n")
    except OSError as exc:
        raise OutputError(
            f"cannot write checkpoint {out}: {exc.strerror or type(exc).__name__}; the previous checkpoint is intact"
        ) from None
    except OutputKeptError:  # the checkpoint is written; the folder it replaced, with a user's files, is kept aside
        raise
    except OutputError as exc:
        raise OutputError(f"{exc}; the previous checkpoint in {out} is intact") from None
