"""What ``--resume`` checks before it continues a run (used by :func:`radiofm.train.loop.fit`).

A resumed run must be the run that was killed: the same task, model, data and training settings, or its steps are
not the steps an uninterrupted run would have taken (a changed ``--batch-size`` re-cuts every later epoch, a changed
``--epochs`` re-draws the learning-rate schedule, a changed ``--init`` trains a head on another backbone's
features). Its saved training state is untrusted input like any file: its progress counters and optimizer moments
are checked before they are used. Every refusal is one line.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import torch

from radiofm.checkpoint_files import read_checkpoint_info
from radiofm.errors import CheckpointError, ConfigError
from radiofm.io import open_lock_file

# training settings that do not change the steps: a resume may give other values
FREE_SETTINGS = frozenset({"num_workers", "save_every_steps", "device", "progress", "compile", "batch_threads"})


def check_settings(
    out: Path, kind: str, extra: dict | None, train_config: dict, log=None, *, shape: dict | None = None
) -> None:
    """Refuse (ConfigError) to resume the run in ``out`` with settings other than its own: the task ``kind``, the
    task's ``extra`` record (model, data, fine-tuning mode and init, ...) and the ``train_config`` (but
    :data:`FREE_SETTINGS`), as its ``config.json`` holds them; a setting the run did not record (it predates it)
    is not compared. More ``epochs`` than the run's continue it, with a note to ``log`` (the learning-rate schedule
    is redrawn over the new total, so the steps after the run's own epochs are not an uninterrupted longer run's).
    ``shape`` (``train_items``, ``val_items``, ``world_size``) is compared with the run's record of it: another
    training set, ``--val-fraction`` or number of processes cuts other batches."""
    stored = read_checkpoint_info(out)  # validated: format, version, kind, extra
    old_extra = stored["extra"]
    if not isinstance(old_extra.get("run"), dict):
        raise CheckpointError(f"--resume: {out / 'config.json'} is not a radiofm training run's")
    if stored.get("kind") != kind:
        model = old_extra.get("model_name")
        hint = f"the --model it was trained with ({model})" if isinstance(model, str) else "its own command"
        raise ConfigError(
            f"--resume: {out} is a {stored.get('kind')!r} run, not {kind!r}; resume it with {hint}, or choose "
            "another --out"
        )
    if extra is None:  # a caller of fit() that records nothing of its own: its training settings are compared
        old_extra = {"run": old_extra["run"]}
    old = {**{k: v for k, v in old_extra.items() if k != "run"}, "train": old_extra["run"].get("train_config")}
    new = {**{k: v for k, v in (extra or {}).items() if k != "run"}, "train": train_config}
    old["train"] = {k: v for k, v in (old["train"] or {}).items() if k not in FREE_SETTINGS}
    new["train"] = {k: v for k, v in new["train"].items() if k not in FREE_SETTINGS}
    new = json.loads(json.dumps(new, default=str))
    note = None
    was, now = old["train"].get("epochs"), new["train"].get("epochs")
    if isinstance(was, int) and isinstance(now, int) and now > was:
        note = f"--resume: continuing {out} past its {was} epochs to {now} (the learning-rate schedule is redrawn)"
        new["train"]["epochs"] = was
    cwd = old_extra["run"].get("cwd")
    diffs = _diffs(old, new, cwd=cwd if isinstance(cwd, str) else None)
    if diffs:
        key, was, now = diffs[0]
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        raise ConfigError(
            f"--resume: {out} was trained with {key} = {_show(was)}, this command gives {_show(now)}{more}; resume "
            "with the run's own settings, or choose another --out"
        )
    recorded = old_extra["run"]
    for key, now in (shape or {}).items():
        if key in recorded and recorded[key] != now:  # runs before session 56 did not record the item counts
            raise ConfigError(
                f"--resume: {out} was trained with {recorded[key]!r} {_SHAPE_WORDS.get(key, key)}, this command "
                f"gives {now!r} (another training set, --val-fraction or number of processes); resume with the "
                "run's own, or choose another --out"
            )
    if note and log is not None:
        log(note)


_ABSENT = object()
_SHAPE_WORDS = {"train_items": "training items", "val_items": "validation items", "world_size": "processes"}


def _diffs(a, b, key: str = "", *, cwd: str | None = None) -> list[tuple[str, object, object]]:
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for k in sorted(set(a) | set(b), key=str):
            found += _diffs(a.get(k, _ABSENT), b.get(k, _ABSENT), f"{key}.{k}" if key else str(k), cwd=cwd)
        return found
    if a == b or a is _ABSENT or _same_path(a, b, cwd):  # a setting the run did not record: not compared
        return []
    return [(key, a, b)]


def _same_path(a, b, cwd: str | None = None) -> bool:
    """``a`` (as the run recorded it, relative to its working directory ``cwd`` when known) and ``b`` (as given now)
    name one existing file or folder, spelled two ways (``ism``, ``./ism``, ``/abs/ism``, ``../ism`` elsewhere)."""
    if not (isinstance(a, str) and isinstance(b, str) and a and b and "\x00" not in a + b):
        return False
    if _samefile(a, b):
        return True
    return cwd is not None and not os.path.isabs(a) and _samefile(os.path.join(cwd, a), b)


def _samefile(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _show(v) -> str:
    return "nothing" if v is _ABSENT else json.dumps(v)[:80]


def check_progress(ts: dict, out: Path, *, steps_per_epoch: int, epochs: int) -> dict:
    """The saved progress counters of ``ts`` (a loaded training state), checked: non-negative integers that agree
    with each other and with ``steps_per_epoch``, the epoch's running sums finite numbers. CheckpointError else."""
    prog = ts.get("progress") if isinstance(ts, dict) else None
    where = out / "train_state"
    if not isinstance(prog, dict) or not isinstance(ts.get("optimizer"), dict):
        raise CheckpointError(f"--resume: {where} lacks its progress or optimizer state")
    e, s, g = (prog.get(k) for k in ("epoch", "step_in_epoch", "global_step"))
    counters = (e, s, g)
    # s == steps_per_epoch: every step of the epoch taken and saved (--save-every-steps dividing the epoch), the kill
    # came before the epoch's own save closed it; resuming closes it
    if not all(type(v) is int and v >= 0 for v in counters) or s > steps_per_epoch or g != e * steps_per_epoch + s:
        raise CheckpointError(
            f"--resume: {where} holds progress counters {counters} that do not fit {steps_per_epoch} steps per epoch "
            "(another training set or --val-fraction than the run's?)"
        )
    if e > epochs:
        raise CheckpointError(f"--resume: {where} says epoch {e}, past the run's {epochs}")
    sums = prog.get("epoch_sums", {})
    if not isinstance(sums, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for k, v in sums.items()
    ):
        raise CheckpointError(f"--resume: {where} holds malformed running sums")
    return {"epoch": e, "step_in_epoch": s, "global_step": g, "epoch_sums": dict(sums)}


def load_optimizer(optimizer: torch.optim.Optimizer, state: dict, out: Path) -> None:
    """Load ``state`` into ``optimizer``, refusing (CheckpointError) a state that does not fit its parameters."""
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
        raise CheckpointError(f"--resume: the optimizer state in {out} does not fit the model ({exc})") from None
    for group in optimizer.param_groups:
        betas = group.get("betas", (0.0, 0.0))
        numbers = [group.get(k, 0.0) for k in ("lr", "weight_decay", "eps")]
        if not (
            isinstance(betas, list | tuple) and len(betas) == 2 and all(0 <= _num(b) < 1 for b in betas)
        ) or not all(0 <= _num(v) < math.inf for v in numbers):
            raise CheckpointError(f"--resume: the optimizer settings in {out} are not numbers in range")
        for p in group["params"]:
            for name, v in optimizer.state.get(p, {}).items():
                if torch.is_tensor(v) and v.dim() and v.shape != p.shape:
                    raise CheckpointError(
                        f"--resume: the optimizer state in {out} does not fit the model ({name} of shape "
                        f"{tuple(v.shape)} for a parameter of shape {tuple(p.shape)})"
                    )
                if torch.is_tensor(v) and not v.dim() and not (torch.isfinite(v) and v >= 0):
                    raise CheckpointError(f"--resume: the optimizer state in {out} holds an impossible {name}")


def _num(v) -> float:
    """``v`` as a float, NaN for anything that is not a plain number (so that every range check fails)."""
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def check_run_files(out: Path, names) -> None:
    """The run folder's carried files (``names``) are regular files, and only beside a checkpoint (without one they
    are a user's or another run's, and the new run's log would begin with their lines)."""
    found = [n for n in names if os.path.lexists(out / n)]
    for n in found:
        if not stat.S_ISREG(os.lstat(out / n).st_mode):
            raise ConfigError(f"{out / n} is not a regular file; remove it or choose another --out")
    if found and not (out / "config.json").exists():
        raise ConfigError(f"{out} holds {found[0]} but no checkpoint; remove it or choose another --out")


def saved_steps(out: str | os.PathLike) -> int | None:
    """The optimizer steps a run folder's saved training state holds (``train_state/state.json``'s progress), read
    without its tensors; None when it has no readable one. Tells a run stopped part-way from a finished one."""
    from radiofm.io import JSONLimitError, read_json_untrusted
    from radiofm.models.checkpoint import TRAIN_DIR

    try:
        state = read_json_untrusted(Path(out) / TRAIN_DIR / "state.json", max_bytes=64 << 20, max_depth=64)
        steps = state["state"]["progress"]["global_step"]
    except (OSError, JSONLimitError, KeyError, TypeError):
        return None
    return steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0 else None


@contextlib.contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold the run folder ``out`` for one training process: a second run into it (a second ``--resume`` started by
    mistake) is refused in one line instead of interleaving its checkpoints and log lines. The lock is the file
    ``.NAME.run-lock`` beside it (flock: released when the process dies); without fcntl it does nothing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    while True:
        fh = open_lock_file(out, "run-lock")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ConfigError(f"another process is training into {out}; wait for it or choose another --out") from None
        # the run that held it may have removed the file between our open and our lock: a lock on a removed file
        # holds nothing (a third run creates a new one), so lock the file that is there now
        try:
            if os.fstat(fh.fileno()).st_ino == os.stat(fh.name).st_ino:
                break
        except OSError:
            pass
        fh.close()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # released, however the run ended: nothing left beside it
            os.unlink(fh.name)
        fh.close()


def load_resume(out: Path, model) -> dict:
    """Load the run's weights into ``model``; returns its training state (ConfigError when it has none or does
    not fit the model)."""
    from radiofm.models.checkpoint import load_train_state, read_model_tensors

    ts = load_train_state(out)
    if ts is None:
        raise ConfigError(f"--resume: {out} has no train_state (it is a finished or exported model)")
    try:
        missing, unexpected = model.load_state_dict(read_model_tensors(out), strict=False)
    except RuntimeError as exc:  # a tensor of another shape
        raise ConfigError(f"--resume: {out} does not match the model ({str(exc).splitlines()[-1].strip()})") from None
    if missing or unexpected:
        raise ConfigError(
            f"--resume: {out} does not match the model (missing {len(missing)}, unexpected {len(unexpected)} tensors)"
        )
    return ts


def finished(out: Path, epochs: int, log) -> dict:
    """A resumed run that has already done its ``epochs``: says so (``log``), and returns its last epoch's record."""
    if log is not None:
        log(f"--resume: {out} already finished its {epochs} epochs")
    lines = (out / "metrics.jsonl").read_text().splitlines() if (out / "metrics.jsonl").is_file() else []
    return json.loads(lines[-1]) if lines else {}
