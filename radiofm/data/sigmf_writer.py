"""Writing SigMF recordings: :func:`write_sigmf` (new samples) and :func:`write_sigmf_copy` (new metadata for
the samples of an existing recording, e.g. annotations found in it), both validated and atomic.
"""

from __future__ import annotations

import errno
import json
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from radiofm.data.sigmf_format import (
    DATA_EXT,
    META_EXT,
    SIGMF_VERSION,
    Annotation,
    Capture,
    Layout,
    datatype_layout,
    validate_metadata,
)
from radiofm.errors import OutputError, RecordingError
from radiofm.io import atomic_path


def _quantise(iq: np.ndarray, lay: Layout) -> np.ndarray:
    """Complex (or real) samples -> stored values (interleaved I/Q for complex), clipped for integers."""
    vals = np.stack([iq.real, iq.imag], axis=-1).reshape(-1) if lay.is_complex else np.real(iq)
    if lay.fmt == "f":
        return vals.astype(lay.component)
    half = 2.0 ** (lay.bits - 1)
    q = np.rint(vals.astype(np.float64) * half) + (half if lay.fmt == "u" else 0.0)
    lo, hi = (0.0, 2 * half - 1) if lay.fmt == "u" else (-half, half - 1)
    return np.clip(q, lo, hi).astype(lay.component)


def annotation_dict(a: Annotation | Mapping) -> dict:
    if isinstance(a, Mapping):
        return dict(a)
    if not isinstance(a, Annotation):
        raise RecordingError(f"an annotation is an Annotation or a dict of SigMF keys, got {type(a).__name__}")
    d: dict[str, Any] = {"core:sample_start": int(a.sample_start), "core:sample_count": int(a.sample_count)}
    if a.freq_lower_edge_hz is not None:
        d["core:freq_lower_edge"] = float(a.freq_lower_edge_hz)
    if a.freq_upper_edge_hz is not None:
        d["core:freq_upper_edge"] = float(a.freq_upper_edge_hz)
    if a.label:
        d["core:label"] = str(a.label)
    d.update(a.extra)
    return d


def _capture_dict(c: Capture | Mapping) -> dict:
    if isinstance(c, Mapping):
        return dict(c)
    d: dict[str, Any] = {"core:sample_start": int(c.sample_start)}
    if c.center_freq_hz is not None:
        d["core:frequency"] = float(c.center_freq_hz)
    d.update(c.extra)
    return d


def _namespaces(items: Iterable[Mapping]) -> set[str]:
    return {k.split(":", 1)[0] for d in items for k in d if ":" in k} - {"core"}


def _declare_namespaces(glob: dict, caps: Iterable[Mapping], anns: Iterable[Mapping]) -> None:
    """List in ``glob``'s ``core:extensions`` every namespace the metadata's keys use (the specification requires
    it), as optional extensions; those already declared stay as they are."""
    from radiofm import __version__

    declared = {e.get("name") for e in glob.get("core:extensions", [])}
    missing = sorted(_namespaces([glob, *caps, *anns]) - declared)
    if missing:
        glob["core:extensions"] = list(glob.get("core:extensions", [])) + [
            {"name": ns, "version": __version__ if ns == "radiofm" else "1.0.0", "optional": True} for ns in missing
        ]


def write_sigmf(
    path: str | Path,
    iq: np.ndarray,
    *,
    sample_rate_hz: float,
    center_freq_hz: float | None = None,
    annotations: Sequence[Annotation | Mapping] = (),
    datatype: str = "cf32_le",
    description: str | None = None,
    extra_global: Mapping | None = None,
    captures: Sequence[Capture | Mapping] | None = None,
) -> Path:
    """Write ``iq`` (N,) as a SigMF recording; returns the ``.sigmf-meta`` path.

    ``path`` may carry ``.sigmf-meta``/``.sigmf-data`` or none. Integer datatypes quantise values in [-1, 1) with
    clipping; real datatypes take ``iq.real`` and refuse a non-zero imaginary part. Annotation and capture extra
    keys must be namespaced (``radiofm:confidence``); their namespaces are declared in ``core:extensions``. The
    metadata is validated against the SigMF schema, then data and metadata are written atomically (data first).
    """
    lay = datatype_layout(datatype)
    iq = np.asarray(iq)
    if iq.ndim != 1:
        raise RecordingError(f"iq must be 1-D (N,), got shape {iq.shape}")
    if not (isinstance(sample_rate_hz, numbers.Real) and math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise RecordingError(f"sample_rate_hz must be positive, got {sample_rate_hz!r}")
    if not lay.is_complex and np.iscomplexobj(iq) and np.any(iq.imag != 0):
        raise RecordingError(f"cannot write complex samples with non-zero imaginary part as real datatype {datatype}")
    if lay.fmt != "f" and not np.all(np.isfinite(iq)):
        raise RecordingError(f"iq holds non-finite samples; cannot quantise them to {datatype}")
    if captures is not None and center_freq_hz is not None:
        raise RecordingError("give center_freq_hz or captures, not both")

    base = Path(path)
    if base.suffix.lower() in (META_EXT, DATA_EXT):
        base = base.with_suffix("")
    meta_path, data_path = base.with_name(base.name + META_EXT), base.with_name(base.name + DATA_EXT)

    caps = [_capture_dict(c) for c in captures] if captures is not None else [{"core:sample_start": 0}]
    if center_freq_hz is not None:
        caps[0]["core:frequency"] = float(center_freq_hz)
    anns = sorted((annotation_dict(a) for a in annotations), key=lambda d: d.get("core:sample_start", 0))
    glob: dict[str, Any] = {"core:recorder": "radiofm"}
    if description is not None:
        glob["core:description"] = description
    for key, value in (extra_global or {}).items():
        if key in ("core:datatype", "core:sample_rate", "core:version"):
            raise RecordingError(f"extra_global may not set {key}; use the write_sigmf arguments")
        glob[key] = value
    glob.update({"core:datatype": lay.datatype, "core:sample_rate": float(sample_rate_hz)})
    glob["core:version"] = SIGMF_VERSION
    _declare_namespaces(glob, caps, anns)
    meta = {"global": glob, "captures": sorted(caps, key=lambda d: d["core:sample_start"]), "annotations": anns}
    try:
        text = json.dumps(meta, indent=2, allow_nan=False, default=_json_scalar)
    except (TypeError, ValueError) as exc:
        raise RecordingError(f"metadata is not JSON-serialisable: {exc}") from None
    validate_metadata(json.loads(text), meta_path)

    data = _quantise(iq, lay)
    with atomic_path(data_path) as tmp:
        data.tofile(tmp)
    with atomic_path(meta_path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return meta_path


def _json_scalar(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def sigmf_source(rec) -> tuple[dict, list[dict]]:
    """The global object and captures describing the samples of recording ``rec`` (a :class:`Recording`) in a copy.

    SigMF input: its own global object (``core:dataset`` dropped: the copy holds the samples; ``core:sample_rate``
    the rate the recording was read at) and captures, as stored (absolute indices when the recording counts from
    ``core:offset``); ``.npy`` input: its datatype, sample rate and centre frequency. The caller edits both and
    passes them to :func:`write_sigmf_copy`.
    """
    if _is_npy(rec):
        glob = {"core:datatype": rec.datatype, "core:sample_rate": rec.sample_rate_hz}
        caps: list[dict] = [{"core:sample_start": 0}]
        if rec.center_freq_hz is not None:
            caps[0]["core:frequency"] = rec.center_freq_hz
        return glob, caps
    raw = rec.raw_meta if getattr(rec, "raw_meta", None) is not None else json.loads(rec.path.read_text("utf-8"))
    glob, caps = dict(raw["global"]), [dict(c) for c in raw.get("captures", [])]
    glob.pop("core:dataset", None)
    if glob.get("core:sample_rate") != rec.sample_rate_hz:  # none in the file, or --sample-rate overrode it
        glob["core:sample_rate"] = rec.sample_rate_hz
    return glob, caps


def write_sigmf_copy(
    rec,
    path: str | Path,
    *,
    global_meta: Mapping,
    captures: Sequence[Mapping],
    annotations: Sequence[Mapping],
    also: Mapping[Path, Callable[[Path], None]] | None = None,
    link: bool = False,
    n_samples: int | None = None,
) -> tuple[Path, Path]:
    """Write ``PATH.sigmf-meta`` + ``PATH.sigmf-data`` (a chunked byte copy of the samples of ``rec``; with
    ``link``, a hard link to its data file where :func:`link_or_copy` can make one and the file is samples alone).

    The data file is always a conforming dataset: a copy of the sample bytes only where the input's file holds
    more (header bytes before captures, trailing bytes, samples past ``n_samples``); the metadata then drops what
    described them (``core:header_bytes``, ``core:trailing_bytes``, captures past the end) and a ``core:sha512``
    is recomputed over the copy. Captures and annotations are written sorted, and every namespace used declared.

    ``global_meta`` and ``captures`` usually start from :func:`sigmf_source`; ``annotations`` are SigMF dicts whose
    ``core:sample_start`` counts from the first sample of the data file, as :class:`Recording` does (shifted here
    when the copy keeps absolute indices). ``also`` maps further output paths to functions writing them to a
    given temporary path (e.g. a picture): every file appears together or not at all; ``rec`` is only read.
    ``n_samples``: only the first samples are written (a recording that was still growing). The metadata is
    validated against the SigMF schema first. Returns (meta path, data path).
    """
    import contextlib

    base = Path(path)
    if base.suffix.lower() in (META_EXT, DATA_EXT):
        base = base.with_suffix("")
    meta_path, data_path = base.with_name(base.name + META_EXT), base.with_name(base.name + DATA_EXT)
    glob = dict(global_meta)
    caps = sorted((dict(c) for c in captures), key=lambda c: c.get("core:sample_start", 0))
    shift = 0
    if not _is_npy(rec):  # absolute indices (first capture at core:offset): the annotations follow
        offset = int(glob.get("core:offset", 0) or 0)
        shift = offset if offset and caps and caps[0].get("core:sample_start", 0) == offset else 0
    n = len(rec) if n_samples is None else int(n_samples)
    spans = rec.sample_bytes(n)
    whole = spans == [(0, os.stat(rec.data_path).st_size)]
    if not whole:  # the copy holds the samples alone: what described the rest of the input file goes
        glob.pop("core:trailing_bytes", None)
        for c in caps:
            c.pop("core:header_bytes", None)
        caps = caps[:1] + [c for c in caps[1:] if c.get("core:sample_start", 0) - shift < n]
    anns = sorted(
        ({**a, "core:sample_start": a["core:sample_start"] + shift} for a in annotations),
        key=lambda a: a["core:sample_start"],
    )
    _declare_namespaces(glob, caps, anns)
    meta = {"global": glob, "captures": caps, "annotations": anns}
    # the input's own fields pass through as they were: a custom field may hold NaN (radiofm.data.sigmf_meta); what
    # radiofm writes is finite (annotation_dict)
    text = json.dumps(meta, indent=2, allow_nan=True)
    validate_metadata(json.loads(text), meta_path)  # refused before any byte is written
    refuse_folders([data_path, meta_path, *(also or {})])  # a rename onto one fails after the others took place
    with contextlib.ExitStack() as stack:
        tmp_data = stack.enter_context(atomic_path(data_path))
        current = data_path
        try:
            link_or_copy(rec.data_path, spans, tmp_data, link=link and whole)
            if not whole and "core:sha512" in glob:  # the input's hash was of its whole file (a hash for a hash)
                glob["core:sha512"] = _sha512(tmp_data)
                text = json.dumps(meta, indent=2, allow_nan=True)
            tmp_meta = stack.enter_context(atomic_path(meta_path))
            current = meta_path
            tmp_meta.write_text(text + "\n", encoding="utf-8")
            for out, write in (also or {}).items():
                current = out
                write(stack.enter_context(atomic_path(out)))
        except OSError as exc:  # disk full, read-only: one line; every temporary file is removed
            raise OutputError(f"cannot write {current}: {exc.strerror or type(exc).__name__}") from None
    return meta_path, data_path


def refuse_folders(paths: Iterable[str | Path]) -> None:
    """OutputError (one line) when one of the output files ``paths`` is a folder (or a link to one): every file of
    an output is renamed into place together, and a rename onto a folder fails only after the ones before it
    succeeded (a new .sigmf-meta with no data beside it, a user's picture overwritten by a failed run)."""
    for p in paths:
        if Path(p).is_dir():
            raise OutputError(f"cannot write {p}: a folder of that name is in the way; choose another --out")


def _sha512(path: Path) -> str:
    import hashlib

    h = hashlib.sha512()
    with open(path, "rb") as f:
        while chunk := f.read(16 << 20):
            h.update(chunk)
    return h.hexdigest()


_NO_LINK = (errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS)


def link_or_copy(src_path: str | Path, spans: Sequence[tuple[int, int]], dst_path: str | Path, *, link: bool) -> bool:
    """``dst_path`` (which must not exist) as a hard link to ``src_path`` when ``link``, ``spans`` is the whole file
    (``[(0, size)]``) and the filesystem allows it (same filesystem, links permitted); otherwise :func:`copy_bytes`
    of the byte ``spans``. Returns True when linked.

    A hard link costs no time or space whatever the recording's size (a 60 s capture at 61.44 MS/s is 14.7 GB);
    both names then hold the same bytes, so neither may be modified in place (radiofm never does).
    """
    if link and list(spans) == [(0, os.stat(src_path).st_size)]:
        try:  # to the file itself: link(2) on a symbolic link links the link (relative: dangling elsewhere)
            os.link(os.path.realpath(src_path), dst_path)
            return True
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
    copy_bytes(src_path, spans, dst_path)
    return False


def copy_bytes(src_path: str | Path, spans: Sequence[tuple[int, int]], dst_path: str | Path) -> None:
    """Copy the byte ``spans`` ``[start, stop)`` of ``src_path`` (never past its end), one after the other, into a
    new file ``dst_path``.

    In the kernel (``os.copy_file_range``: no user-space buffer, a reflink where the filesystem offers one) when the
    platform and filesystems allow, else by 16 MiB chunks. OSError from either reaches the caller.
    """
    with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
        size = os.fstat(src.fileno()).st_size
        kernel = hasattr(os, "copy_file_range")
        for start, stop in spans:
            pos, end = start, min(int(stop), size)
            if kernel:
                try:
                    while pos < end:
                        n = os.copy_file_range(src.fileno(), dst.fileno(), end - pos, pos)
                        if n == 0:
                            break
                        pos += n
                except OSError as exc:
                    if pos != start or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                        raise
                    kernel = False
            if pos == start:  # nothing copied in the kernel: chunks through user space
                src.seek(start)
                dst.seek(0, os.SEEK_END)
                left = end - start
                while left > 0:
                    chunk = src.read(min(16 << 20, left))
                    if not chunk:
                        break
                    dst.write(chunk)
                    left -= len(chunk)
                dst.flush()


def _is_npy(rec) -> bool:
    return rec.path.suffix.lower() == ".npy"
