"""Resumable pipelines of steps, shared by the demo and the paper reproductions.

A :class:`Step` calls library functions (with config dataclasses) and returns a small summary dict. When its
output exists and its summary was recorded (``OUT/.steps/<name>.json``), a rerun skips it, so an interrupted
pipeline resumes. Progress lines go to the ``log`` callable (the CLI passes ``print``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radiofm.errors import OutputError
from radiofm.io import OUTPUT_RECORD, add_written, atomic_path, recording_writes, write_json, written_entries
from radiofm.output_folders import UNREADABLE, read_record, remove_written
from radiofm.tasks import pretrain_mae

Log = Callable[[str], None]


@dataclass
class Step:
    name: str
    output: str  # path under the pipeline folder whose existence marks the step done
    run: Callable[[Path, Any, Log | None], dict]  # (folder, settings, log) -> summary
    writes: tuple[str, ...] = ()  # the other top-level entries the step writes (recorded before it runs)


def prepare_folder(out: str | Path, *, force: bool) -> Path:
    """Create the pipeline folder; ``force`` first removes what earlier runs wrote in it (the entries its record
    lists, :func:`radiofm.io.add_written`, each as :func:`radiofm.io.remove_written` does), and leaves other files
    (a user's) in place. A pipeline folder from before the record (``.steps`` and no record) is removed whole. A
    record that cannot be read, or a removal that fails, is an OutputError."""
    out = Path(out)
    if out.is_symlink() and out.is_dir():
        out = Path(os.path.realpath(out))  # the folder it names is the pipeline folder
    try:
        if force and out.is_dir():
            rec = read_record(out)
            if rec == UNREADABLE:
                raise OutputError(
                    f"--force: cannot tell what radiofm wrote in {out}: its {OUTPUT_RECORD} cannot be read; "
                    "remove what you no longer need by hand, or choose another --out"
                )
            if rec is None and (out / ".steps").is_dir():
                remove_written(out)
            else:
                for name in sorted((rec["entries"] if rec else set()) | {".steps", OUTPUT_RECORD}):
                    remove_written(out / name)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot prepare {out}: {exc.strerror or type(exc).__name__}") from None
    return out


@contextlib.contextmanager
def pipeline_folder(out: str | Path, *, force: bool) -> Iterator[Path]:
    """The pipeline folder, prepared (:func:`prepare_folder`); on leaving, what the run wrote there through
    :func:`radiofm.io.atomic_path` is added to the folder's record (its steps' outputs and the reports written
    after them), finished or not: ``--force`` removes exactly those entries, and a file a user saves there during
    the run stays."""
    out = prepare_folder(out, force=force)
    users = _users_entries(out)
    with recording_writes(out) as written:
        try:
            yield out
        finally:
            record_written(out, written - users)


def write_report(out: Path, report: dict, table: str, text: str) -> None:
    """A reproduction's results: ``out/report.json`` and the table ``out/<table>`` (``text``, Markdown), each
    written atomically."""
    write_json(out / "report.json", report)
    with atomic_path(out / table) as tmp:
        tmp.write_text(text)


def run_recorded(out: Path, declared: set[str], run: Callable[[], dict]) -> dict:
    """Run one step of the pipeline in ``out``: its ``declared`` top-level output is recorded before it runs (a
    step killed mid-way is recorded too), and what it wrote through :func:`radiofm.io.atomic_path` after it ends,
    finished or not (:func:`record_written`)."""
    users = _users_entries(out)
    record_written(out, declared - users)
    with recording_writes(out) as written:
        try:
            return run()
        finally:
            record_written(out, written - users)


def _users_entries(out: Path) -> set[str]:
    """The top-level entries of the pipeline folder ``out`` that its record does not list: a user's, even when a
    step writes under one (``data/`` holding the user's own captures), so ``--force`` never removes them."""
    return {p.name for p in out.iterdir()} - (written_entries(out) or set())


def record_written(out: Path, names) -> None:
    """Add ``names`` (and ``.steps``) to the record of what the pipeline wrote in ``out``: ``--force`` removes
    those entries, and a user's files stay (:func:`prepare_folder`)."""
    add_written(out, set(names) | {".steps"})


FREE_SETTINGS = ("workers", "threads", "device", "progress")  # change the speed, not the results
SETTINGS_FILE = "_settings.json"  # in OUT/.steps: the settings the recorded steps were run with


def check_settings(out: Path, settings: Any) -> None:
    """Steps recorded in ``out`` are reused only for the settings they were run with (``out/.steps/_settings.json``):
    other settings are an OutputError naming the first difference (a rerun with another seed or size would
    otherwise report the old numbers under the new settings). A folder without the file takes ``settings``."""
    now = _plain(settings)
    path = out / ".steps" / SETTINGS_FILE
    try:
        was = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        was = None  # unreadable: steps recorded beside it cannot be trusted to match; with none, it is rewritten
        if any(p.name != SETTINGS_FILE for p in (out / ".steps").glob("*.json")):
            raise OutputError(f"{path} cannot be read: rerun with --force to start again") from None
    if isinstance(was, dict):
        for key in sorted(set(was) | set(now)):
            if key not in FREE_SETTINGS and was.get(key) != now.get(key):
                raise OutputError(
                    f"{out} holds the steps of a run with other settings ({key}: {json.dumps(was.get(key))[:60]} "
                    f"there, {json.dumps(now.get(key))[:60]} now); rerun with --force to start again, or choose "
                    "another --out"
                )
        return
    write_json(path, now)


def _plain(settings: Any) -> dict:
    if dataclasses.is_dataclass(settings):
        d = dataclasses.asdict(settings)
    else:
        d = dict(settings) if isinstance(settings, dict) else {"settings": settings}
    return json.loads(json.dumps(d, default=str))  # tuples as lists, as read back


def run_steps(steps: Sequence[Step], out: Path, settings: Any, *, label: str, log: Log | None = None) -> list[dict]:
    """Run (or skip, when done) each step in order; returns ``[{"name", "seconds", **summary}, ...]``. Steps done
    with other settings are refused (:func:`check_settings`)."""
    check_settings(out, settings)
    done_steps = []
    for i, step in enumerate(steps, 1):
        marker = out / ".steps" / (step.name.replace(" ", "_").replace("/", "_").replace(":", "") + ".json")
        done = (out / step.output).exists() and marker.exists()
        if log is not None:
            log(f"\n[{label} {i}/{len(steps)}] {step.name}" + (" (done, skipped)" if done else ""))
        t0 = time.perf_counter()
        if done:
            result = json.loads(marker.read_text())
        else:
            declared = {Path(step.output).parts[0], *step.writes}
            result = run_recorded(out, declared, functools.partial(step.run, out, settings, log))
            result = {**result, "seconds": round(time.perf_counter() - t0, 1)}
            write_json(marker, result)
        done_steps.append({"name": step.name, **result})
    return done_steps


def last_record(run: Path) -> dict:
    """The last epoch's record of a training run folder (its ``metrics.jsonl``)."""
    return json.loads((Path(run) / "metrics.jsonl").read_text().splitlines()[-1])


def _pretrain_configs(s: Any, model: str, mask_ratio: float):
    """(MAEPretrainConfig, TrainConfig) of a reproduction's backbone from its settings ``s``."""
    config = pretrain_mae.MAEPretrainConfig(
        model=model, mask_ratio=float(mask_ratio), image_size=tuple(s.image_size), workers=s.workers
    )
    train = dataclasses.replace(
        pretrain_mae.DEFAULT_TRAIN,
        epochs=s.pretrain_epochs,
        batch_size=s.pretrain_batch,
        lr=None if s.pretrain_lr is None else float(s.pretrain_lr),
        warmup_epochs=float(max(1, s.pretrain_epochs // 10)),
        seed=s.seed,
        device=s.device,
        progress=False,
    )
    return config, train


def _losses(run: Path) -> dict:
    last = last_record(run)
    return {"train_loss": last.get("train_loss"), "val_loss": last.get("val_loss")}


def pretrain_backbone(data: Path, run: Path, s: Any, *, model: str, mask_ratio: float, log: Log | None = None) -> dict:
    """MAE-pretrain one backbone of a reproduction on the ISM corpus ``data`` into ``run`` (resumed when it holds a
    checkpoint). ``s``: the reproduction's settings (``image_size``, ``workers``, ``pretrain_epochs``,
    ``pretrain_batch``, ``pretrain_lr`` (None: base-lr scaling), ``seed``, ``device``); warm-up is a tenth of the
    epochs (at least one). Returns the last train and validation loss."""
    config, train = _pretrain_configs(s, model, mask_ratio)
    pretrain_mae.pretrain_mae(data, config, train, run, resume=(run / "config.json").exists(), log=log)
    return _losses(run)


def pretrain_backbone_on_images(
    images, run: Path, s: Any, *, model: str, mask_ratio: float, source: str, log: Log | None = None
) -> dict:
    """:func:`pretrain_backbone` on an array of normalised 1-channel images (a task's own inputs) instead of a
    corpus of recordings: the same optimisation settings, epochs counted over ``images``."""
    config, train = _pretrain_configs(s, model, mask_ratio)
    resume = (run / "config.json").exists()
    pretrain_mae.pretrain_mae_on_images(images, config, train, run, source=source, resume=resume, log=log)
    return {**_losses(run), "images": len(images)}
