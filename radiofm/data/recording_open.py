"""Opening recordings: :func:`open_recording` for a SigMF pair (``.sigmf-meta`` + ``.sigmf-data``, or either name,
or their base name) or a complex ``.npy`` (with an optional ``.json`` sidecar), checked before any sample is read;
the samples are then read by :class:`radiofm.data.recording.Recording`. Split from :mod:`radiofm.data.recording`
(session 52), which had grown past 400 lines.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from radiofm.data.recording import Recording
from radiofm.data.sigmf_format import (
    ANNOTATION_CORE,
    DATA_EXT,
    META_EXT,
    Annotation,
    Capture,
    datatype_layout,
    one_line,
    validate_metadata,
)
from radiofm.data.sigmf_meta import (
    MAX_META_BYTES,
    MAX_META_DEPTH,
    check_freq,
    check_index,
    check_rate,
    check_sigmf_bounds,
    load_sigmf_meta,
    plain_file_name,
)
from radiofm.errors import RecordingError
from radiofm.io import JSONLimitError, read_json_untrusted


def open_recording(path: str | Path, *, sample_rate_hz: float | None = None) -> Recording:
    """Open a recording for reading: a ``.sigmf-meta``, ``.sigmf-data``, their base name, or a complex ``.npy``.

    ``sample_rate_hz`` is used when the file does not give one (SigMF without ``core:sample_rate``, ``.npy``
    without a sidecar ``.json``) and overrides the file's value otherwise. Raises RecordingError on any problem.
    """
    p = Path(path)
    if p.suffix.lower() == ".npy":
        return _open_npy(p, sample_rate_hz)
    if p.is_dir():
        raise RecordingError(f"{p} is a folder, not a recording")
    if p.suffix.lower() == ".sigmf" or p.name.lower().endswith((".sigmf.gz", ".sigmf.xz", ".sigmf.zip")):
        raise RecordingError(f"{p}: SigMF archives are not supported; extract the .sigmf-meta/.sigmf-data pair")
    if p.is_file() and p.suffix.lower() not in (META_EXT, DATA_EXT):
        raise RecordingError(f"{p}: unsupported recording type {p.suffix!r} (expected .sigmf-meta, .sigmf-data, .npy)")
    base = p.with_suffix("") if p.suffix.lower() in (META_EXT, DATA_EXT) else p
    meta_path = any_case(base.with_name(base.name + META_EXT))  # R.SIGMF-META too: a recorder's upper case
    if not meta_path.is_file():
        if p.suffix.lower() == DATA_EXT and p.is_file():
            raise RecordingError(f"{p}: metadata file {meta_path.name} is missing")
        raise RecordingError(f"recording {p} not found")
    return _open_sigmf(meta_path, sample_rate_hz)


def any_case(path: Path) -> Path:
    """``path``, or the one file beside it whose name differs from it in case only (``R.SIGMF-DATA`` for
    ``R.sigmf-data``: recorders on case-insensitive file systems write both); ``path`` when there is none or
    several."""
    if path.is_file():
        return path
    try:
        same = [q for q in path.parent.iterdir() if q.name.lower() == path.name.lower() and q.is_file()]
    except OSError:
        return path
    return same[0] if len(same) == 1 else path


def sigmf_data_file(meta_path: str | os.PathLike) -> Path:
    """The data file of the SigMF recording ``meta_path``: the one its ``core:dataset`` names (a plain name beside
    it, as the specification puts it first), else ``PREFIX.sigmf-data``. The metadata is read under the same limits
    as :func:`open_recording`'s (RecordingError)."""
    meta_path = Path(meta_path)
    dataset = load_sigmf_meta(meta_path)["global"].get("core:dataset")
    if plain_file_name(dataset):
        return meta_path.parent / dataset
    return any_case(meta_path.with_suffix(DATA_EXT))


def _open_sigmf(meta_path: Path, sample_rate_hz: float | None) -> Recording:
    from sigmf.error import SigMFError
    from sigmf.sigmffile import get_dataset_filename_from_metadata

    meta = load_sigmf_meta(meta_path)  # bounded JSON: size, depth, strict numbers, surrogates replaced
    glob = meta["global"]
    layout = datatype_layout(glob.get("core:datatype"), f"{meta_path}: ")
    rate = check_rate(
        sample_rate_hz if sample_rate_hz is not None else glob.get("core:sample_rate"), f"recording {meta_path}"
    )
    sf = validate_metadata(meta, meta_path)
    check_sigmf_bounds(meta, meta_path)  # rates, frequencies, indices, num_channels, dataset name
    if glob.get("core:metadata_only"):
        raise RecordingError(f"{meta_path}: metadata-only recording (no samples)")
    try:
        with warnings.catch_warnings():  # core:dataset beside a PREFIX.sigmf-data: core:dataset's, as the spec says
            warnings.simplefilter("ignore")
            data_path = get_dataset_filename_from_metadata(str(meta_path), meta)
    except SigMFError as exc:
        raise RecordingError(f"{meta_path}: {one_line(exc)}") from None
    if data_path is None:  # R.SIGMF-DATA beside R.SIGMF-META
        data_path = any_case(meta_path.with_suffix(DATA_EXT))
        data_path = data_path if data_path.is_file() else None
    if data_path is None:
        given = meta_path.with_suffix(DATA_EXT)
        what = "is not a regular file" if os.path.lexists(given) and not given.is_file() else "is missing"
        raise RecordingError(f"{meta_path}: data file {given.name} {what}")
    data_path = Path(data_path)
    if data_path.parent.absolute() != meta_path.parent.absolute():  # core:dataset is checked to be a plain name
        raise RecordingError(f"{meta_path}: data file {data_path} is outside the recording's folder")
    try:
        size = data_path.stat().st_size
    except OSError as exc:
        raise RecordingError(f"{data_path}: cannot read data file ({exc.strerror or exc})") from None
    if size == 0:
        raise RecordingError(f"data file {data_path} is empty")

    # absolute indices: shift by core:offset when the metadata counts from it
    raw_caps = sorted(sf.get_captures() or [{"core:sample_start": 0}], key=lambda c: c["core:sample_start"])
    offset = int(glob.get("core:offset", 0) or 0)
    if not (offset and raw_caps[0]["core:sample_start"] == offset):
        offset = 0
    # byte position of each capture's first sample: header bytes precede each capture's samples
    segments, headers, byte_pos, prev = [], 0, 0, 0
    for cap in raw_caps:
        s0 = cap["core:sample_start"] - offset
        byte_pos += (s0 - prev) * layout.sample_size + int(cap.get("core:header_bytes", 0) or 0)
        headers += int(cap.get("core:header_bytes", 0) or 0)
        segments.append((s0, byte_pos))
        prev = s0
    payload = size - headers - int(glob.get("core:trailing_bytes", 0) or 0)
    n_samples, rem = divmod(payload, layout.sample_size)
    if payload <= 0:
        raise RecordingError(f"data file {data_path} holds no samples after its header/trailing bytes")
    if rem:
        raise RecordingError(
            f"data file {data_path} is truncated: {payload} bytes is not a whole number of "
            f"{layout.sample_size}-byte {layout.datatype} samples"
        )
    if segments[-1][0] >= n_samples:
        raise RecordingError(
            f"data file {data_path} ({n_samples} samples) ends before its last capture (sample {segments[-1][0]})"
        )
    if segments[0][0] > 0:  # samples before the first capture: stored from byte 0 on
        segments.insert(0, (0, 0))

    captures = [
        Capture(
            c["core:sample_start"] - offset,
            float(c["core:frequency"]) if c.get("core:frequency") is not None else None,
            {k: v for k, v in c.items() if k not in ("core:sample_start", "core:frequency")},
        )
        for c in raw_caps
    ]
    annotations = []
    for a in sf.get_annotations():
        start = a["core:sample_start"] - offset
        count = a.get("core:sample_count", max(n_samples - start, 0))
        lo, hi = a.get("core:freq_lower_edge"), a.get("core:freq_upper_edge")
        extra = {k: v for k, v in a.items() if k not in ANNOTATION_CORE and k != "core:label"}
        annotations.append(
            Annotation(
                int(start),
                int(count),
                None if lo is None else float(lo),
                None if hi is None else float(hi),
                str(a.get("core:label", "")),
                extra,
            )
        )
    return Recording(
        meta_path,
        data_path,
        sample_rate_hz=rate,
        datatype=layout.datatype,
        n_samples=n_samples,
        captures=captures,
        annotations=annotations,
        global_meta=dict(glob),
        segments=segments,
        raw_meta=meta,
    )


def _open_npy(path: Path, sample_rate_hz: float | None) -> Recording:
    if not path.is_file():
        raise RecordingError(f"recording {path} not found")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # numpy parses a damaged header with ast/tokenize: many error types, all the file's
        if isinstance(exc, MemoryError):
            raise
        raise RecordingError(f"{path}: not a readable .npy file ({one_line(exc, 120)})") from None
    if arr.ndim != 1 or arr.dtype.kind != "c" or arr.dtype.itemsize not in (8, 16):
        raise RecordingError(f"{path}: need a 1-D complex64/complex128 array, got {arr.dtype} {arr.shape}")
    if arr.size == 0:
        raise RecordingError(f"{path}: recording is empty")
    sidecar = path.with_suffix(".json")
    side: dict = {}
    if sidecar.is_file():
        try:
            side = read_json_untrusted(sidecar, max_bytes=MAX_META_BYTES, max_depth=MAX_META_DEPTH)
        except (OSError, JSONLimitError) as exc:
            raise RecordingError(f"{sidecar}: not a readable JSON sidecar ({one_line(exc, 120)})") from None
        if not isinstance(side, dict):
            raise RecordingError(f"{sidecar}: sidecar must be a JSON object")
    rate = sample_rate_hz if sample_rate_hz is not None else side.get("sample_rate_hz")
    where = f"recording {path}" + ("" if side else f" (no sidecar {sidecar.name})")
    rate = check_rate(rate, where)
    center = check_freq(side.get("center_freq_hz"), str(sidecar), "center_freq_hz")
    annotations = _sidecar_annotations(side.get("annotations"), sidecar)
    order = "_be" if arr.dtype.byteorder == ">" else "_le"
    return Recording(
        path,
        path,
        sample_rate_hz=rate,
        datatype=("cf32" if arr.dtype.itemsize == 8 else "cf64") + order,
        n_samples=arr.size,
        captures=[Capture(0, center)],
        annotations=annotations,
        global_meta=side,
        segments=[(0, int(arr.offset))],
    )


def _sidecar_annotations(items: Any, sidecar: Path) -> list[Annotation]:
    """The ``annotations`` of a .npy sidecar: objects with Annotation's fields, checked like SigMF ones."""
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
        raise RecordingError(f"{sidecar}: 'annotations' must be an array of objects")
    fields = {"sample_start", "sample_count", "freq_lower_edge_hz", "freq_upper_edge_hz", "label", "extra"}
    out = []
    for i, a in enumerate(items):
        at = f"{sidecar} annotation {i}"
        unknown = sorted(set(a) - fields)
        if unknown or "sample_start" not in a or "sample_count" not in a:
            raise RecordingError(
                f"{at}: needs sample_start and sample_count; allowed keys: {', '.join(sorted(fields))}"
                + (f" (unknown: {one_line(', '.join(unknown), 80)})" if unknown else "")
            )
        label, extra = a.get("label", ""), a.get("extra", {})
        if not isinstance(label, str) or not isinstance(extra, dict):
            raise RecordingError(f"{at}: label must be a string and extra an object")
        out.append(
            Annotation(
                check_index(a["sample_start"], at, "sample_start"),
                check_index(a["sample_count"], at, "sample_count"),
                check_freq(a.get("freq_lower_edge_hz"), at, "freq_lower_edge_hz"),
                check_freq(a.get("freq_upper_edge_hz"), at, "freq_upper_edge_hz"),
                label,
                extra,
            )
        )
    return out
