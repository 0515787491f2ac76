"""Signal-identification datasets (CommRad RF layout and ours): a SigMF writer for the synthetic classes, a reader for
labelled SigMF folders and the class-list check. The spectrogram front end that turns a recording into an image is
:mod:`radiofm.data.signals_frontend` (its names are importable from here too).

Layouts read:

- SigMF recordings in class folders, ``ROOT/<class>/<anything>.sigmf-meta`` (+ ``.sigmf-data``), and/or recordings
  anywhere under ``ROOT`` whose metadata names the class: ``core:label`` in ``global``, or the one label all its
  annotations carry. A label in the metadata must agree with the class folder when both exist.
- Spectrogram images (PNG, label = file-name prefix before the first ``_``): :mod:`radiofm.data.spectrogram_images`.

:func:`write_signal_dataset` writes ``OUT/<class>/<class>_0000.sigmf-{meta,data}`` with one annotation per
transmission (``core:label`` = class, absolute frequency edges) and the capture's parameters under ``radiofm:``, plus
``OUT/manifest.json``. Capture *i* of class *c* is drawn from ``SeedSequence(seed, spawn_key=(c, i))`` with *c* the
class's index in :data:`radiofm.synth.signals.CLASSES`, so the bytes depend on neither ``workers`` nor ``classes``.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radiofm.data.recording_open import sigmf_data_file
from radiofm.data.signals_frontend import SignalSpectrogramParams, signal_spectrogram, zoom_band  # noqa: F401
from radiofm.data.sources import files_under
from radiofm.errors import ConfigError, DatasetError, RecordingError, check_names, check_seed
from radiofm.io import atomic_path, check_replaceable, write_json
from radiofm.workers import process_pool

MANIFEST_KIND = "signals"
SCHEMA_VERSION = 1
DATATYPES = ("cu8", "ci8", "ci16_le", "cf32_le")  # cu8: what an RTL-SDR records


@dataclass
class LabelledFiles:
    """A labelled dataset folder: ``items`` are ``(path, label)`` pairs in sorted path order; ``classes`` the sorted
    labels (case-insensitive order, so the CommRad RF names sort as its authors list them)."""

    root: Path
    items: list[tuple[Path, str]]
    classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.classes:
            self.classes = sort_classes({label for _, label in self.items})

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        """Items per class, in class order."""
        out = dict.fromkeys(self.classes, 0)
        for _, label in self.items:
            out[label] += 1
        return out


def sort_classes(labels: Iterable[str]) -> list[str]:
    """Labels sorted case-insensitively (ties by exact string): ``ads-b … pocsag, Radioteletype, remote-…``."""
    return sorted(set(labels), key=lambda s: (s.casefold(), s))


def check_classes(train_classes: Sequence[str], test_classes: Iterable[str] | LabelledFiles, where: str) -> None:
    """DatasetError (one line, naming ``where``) when ``test_classes`` holds a class the training classes lack.

    ``test_classes`` may be a :class:`LabelledFiles`; the message then also names a file of the first unknown class.
    """
    known = set(train_classes)
    files = test_classes if isinstance(test_classes, LabelledFiles) else None
    unknown = sort_classes(set(files.classes if files else test_classes) - known)
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        example = f" (e.g. {next(p for p, c in files.items if c == unknown[0])})" if files else ""
        raise DatasetError(
            f"{where}: class{'es' if len(unknown) > 1 else ''} {shown}{example} not among the {len(known)} training"
            f" classes ({', '.join(sort_classes(known)[:6])}{', …' if len(known) > 6 else ''})"
        )


# ----------------------------------------------------------------------------------------------------- reading


def _sigmf_label(meta_path: Path) -> str | None:
    """``core:label`` of the global object, else the single label of the annotations, else None."""
    from radiofm.data.sigmf_meta import load_sigmf_meta
    from radiofm.errors import RecordingError

    try:
        meta = load_sigmf_meta(meta_path)
    except RecordingError as exc:
        raise DatasetError(str(exc)) from None
    label = meta["global"].get("core:label")
    if isinstance(label, str) and label.strip():
        return label.strip()
    anns = meta.get("annotations") or []
    labels = {a["core:label"].strip() for a in anns if isinstance(a, dict) and isinstance(a.get("core:label"), str)}
    labels.discard("")
    if len(labels) > 1:
        raise DatasetError(
            f"{meta_path}: annotations carry {len(labels)} labels ({', '.join(sort_classes(labels)[:4])}); "
            "a classification recording needs one (set core:label in global)"
        )
    return labels.pop() if labels else None


def open_signal_dataset(folder: str | os.PathLike) -> LabelledFiles:
    """Index a folder of labelled SigMF recordings (class folders and/or ``core:label``); see the module docs.

    Returns :class:`LabelledFiles` with ``(meta path, label)`` items. DatasetError when the folder is missing or
    empty, when no recording has a label (naming one), when some lack one (naming the first), when a recording's
    data file is missing, or when metadata and class folder disagree.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(
            f"signal dataset folder {root} not found" if not root.exists() else f"{root} is not a folder"
        )
    metas = sorted(p for p in files_under(root) if p.suffix.lower() == ".sigmf-meta" and p.is_file())
    if not metas:
        raise DatasetError(f"no SigMF recordings (.sigmf-meta) in {root}")
    items, unlabelled = [], []
    for meta in metas:
        try:
            data = sigmf_data_file(meta)  # core:dataset's file where it names one
        except RecordingError as exc:
            raise DatasetError(str(exc)) from None
        if not data.is_file():
            raise DatasetError(f"{meta}: data file {data.name} is missing")
        rel = meta.relative_to(root).parts
        folder_label = rel[0] if len(rel) > 1 else None
        label = _sigmf_label(meta)
        if label and folder_label and label != folder_label:
            raise DatasetError(f"{meta}: label {label!r} in its metadata disagrees with class folder {folder_label!r}")
        label = label or folder_label
        if label is None:
            unlabelled.append(meta)
        else:
            items.append((meta, label))
    if unlabelled:
        if not items:
            raise DatasetError(
                f"{root}: no recording has a class label (e.g. {unlabelled[0].name}); put recordings in class folders "
                "ROOT/<class>/ or set core:label in their metadata"
            )
        raise DatasetError(
            f"{unlabelled[0]}: no class label (not in a class folder, no core:label); "
            f"{len(unlabelled)} of {len(metas)} recordings lack one"
        )
    return LabelledFiles(root, items)


# ----------------------------------------------------------------------------------------------------- writing


def _capture_job(job: tuple) -> dict:
    """Worker: synthesise capture ``i`` of class ``name`` and write it. Top level so spawn workers can pickle it."""
    from radiofm.data.sigmf_format import Annotation
    from radiofm.data.sigmf_writer import write_sigmf
    from radiofm.synth.signals import CLASSES, synthesize_capture

    name, i, seed, tmp_dir, config, datatype = job
    ci = CLASSES.index(name)
    iq, meta = synthesize_capture(name, np.random.SeedSequence(seed, spawn_key=(ci, i)), config)
    fs, fc = meta["sample_rate_hz"], meta["center_freq_hz"]
    anns = [
        Annotation(
            int(round(b["start_s"] * fs)),
            max(1, int(round(b["duration_s"] * fs))),
            max(fc + b["center_offset_hz"] - b["bandwidth_hz"] / 2, fc - fs / 2),  # edges clipped to the capture
            min(fc + b["center_offset_hz"] + b["bandwidth_hz"] / 2, fc + fs / 2),
            name,
            {"radiofm:primary": bool(b["primary"])},
        )
        for b in meta["bursts"]
    ]
    anns = [a for a in anns if a.sample_start < iq.size]
    for a in anns:
        a.sample_count = min(a.sample_count, iq.size - a.sample_start)
    capture = {k: v for k, v in meta.items() if k != "bursts"}
    stem = f"{name}_{i:04d}"
    write_sigmf(
        Path(tmp_dir) / name / stem,
        iq,
        sample_rate_hz=fs,
        center_freq_hz=fc,
        annotations=anns,
        datatype=datatype,
        description=f"radiofm synthetic {name} capture {i} (seed {seed})",
        extra_global={
            "radiofm:generator": "radiofm.synth.signals",
            "radiofm:seed": int(seed),
            "radiofm:index": int(i),
            "radiofm:class": name,
            "radiofm:capture": json.loads(json.dumps(capture, default=float)),
        },
    )
    return {"file": f"{name}/{stem}.sigmf-meta", "class": name, "snr_db": round(meta["snr_db"], 2)}


def _check_int(name: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ConfigError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def write_signal_dataset(
    out_dir: str | os.PathLike,
    *,
    per_class: int,
    seed: int,
    duration_s: float = 0.25,
    workers: int = 1,
    progress: bool = True,
    classes: str | Sequence[str] | None = None,
    config=None,
    datatype: str = "cu8",
) -> LabelledFiles:
    """Write ``per_class`` synthetic captures of each class as SigMF into ``out_dir`` (layout in the module docs).

    ``classes`` (default all): a comma-separated string or a sequence of names, read as ``--classes`` reads them
    (:func:`radiofm.errors.check_names`: whatever their case, each once).
    ``config`` (a :class:`radiofm.synth.signals.CaptureConfig`) sets the rate, SNR range and impairments;
    ``duration_s`` overrides its duration. ``datatype``: ``cu8`` (8-bit offset binary, as an RTL-SDR records;
    default), ``ci8``, ``ci16_le`` or ``cf32_le``. The folder is built aside and renamed into place, so a reader
    never sees half a dataset; an existing ``out_dir`` is replaced only when it is an earlier signal dataset (or
    empty). Returns the written dataset as :func:`open_signal_dataset` reads it.
    """
    from tqdm import tqdm

    from radiofm.synth.signals import CLASSES, CaptureConfig

    per_class, seed = _check_int("per_class", per_class, 1), check_seed(seed)
    workers = _check_int("workers", workers, 1)
    if datatype not in DATATYPES:
        raise ConfigError(f"datatype must be one of {', '.join(DATATYPES)}, got {datatype!r}")
    names = list(CLASSES) if classes is None else list(check_names(classes, CLASSES, "signal class", "classes"))
    config = dataclasses.replace(config or CaptureConfig(), duration_s=float(duration_s)).validate()
    out = Path(out_dir)
    outputs = ("manifest.json", *names)
    check_replaceable(
        out, outputs, kind_file="manifest.json", kind=MANIFEST_KIND, what="a signal dataset", error=DatasetError
    )
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        jobs = [(c, i, seed, str(tmp), config, datatype) for c in names for i in range(per_class)]
        files: list[dict] = []
        bar = tqdm(total=len(jobs), unit="capture", desc="signals", disable=not progress)
        try:
            if workers == 1 or len(jobs) == 1:
                for job in jobs:
                    files.append(_capture_job(job))
                    bar.update()
            else:
                ctx = multiprocessing.get_context("spawn")
                with process_pool(min(workers, len(jobs)), mp_context=ctx) as pool:
                    for res in pool.map(_capture_job, jobs, chunksize=4):  # ordered: output independent of workers
                        files.append(res)
                        bar.update()
        finally:
            bar.close()
        write_json(
            tmp / "manifest.json",
            {
                "kind": MANIFEST_KIND,
                "schema_version": SCHEMA_VERSION,
                "generator": "radiofm.synth.signals",
                "seed": seed,
                "per_class": per_class,
                "classes": names,
                "datatype": datatype,
                "config": config.to_dict(),
                "files": files,
            },
        )
    return open_signal_dataset(out)
