"""Recordings: SigMF (``.sigmf-meta`` + ``.sigmf-data``) and plain complex ``.npy``, read by memory map.

Metadata is parsed and schema-checked through the ``sigmf`` library; samples are read with ``numpy.memmap`` from
byte offsets computed from the datatype, so taking a 16 ms segment of a 2 GB recording touches only those bytes.

Decisions:

- Sample indices (``Recording.read``, captures, annotations) count samples from the start of the data file. When
  ``core:offset`` > 0 and the metadata uses absolute indices (first capture starts at the offset), the offset is
  subtracted.
- Integer datatypes scale to [-1, 1): signed ``x / 2**(b-1)``, unsigned ``(x - 2**(b-1)) / 2**(b-1)``.
- Real datatypes (``rf*``, ``ri*``, ``ru*``) are read as complex with zero imaginary part (``is_complex`` is False);
  the spectrum of such a recording is symmetric about DC.
- ``cf16`` is not a SigMF datatype (the schema rejects it), so it is refused like any unknown datatype.
- Multi-channel recordings (``core:num_channels`` > 1) are refused; SigMF archives (``.sigmf``) too.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from radiofm.errors import DatasetError, RecordingError
from radiofm.io import atomic_path, manifest_kind

META_EXT = ".sigmf-meta"
DATA_EXT = ".sigmf-data"

_DATATYPE_RE = re.compile(r"^(?P<kind>[cr])(?P<fmt>[fiu])(?P<bits>8|16|32|64)(?P<endian>_le|_be)?$")
SUPPORTED_DATATYPES = tuple(
    f"{k}{f}{b}{e}"
    for k in "cr"
    for f, bits in (("f", (64, 32)), ("i", (32, 16, 8)), ("u", (32, 16, 8)))
    for b in bits
    for e in (("",) if b == 8 else ("_le", "_be"))
)
_ANNOTATION_CORE = ("core:sample_start", "core:sample_count", "core:freq_lower_edge", "core:freq_upper_edge")


@dataclass
class Annotation:
    """One labelled region: samples [sample_start, sample_start + sample_count), frequency edges in absolute Hz."""

    sample_start: int
    sample_count: int
    freq_lower_edge_hz: float | None = None
    freq_upper_edge_hz: float | None = None
    label: str = ""
    extra: dict = field(default_factory=dict)  # other keys, e.g. {"radiofm:confidence": 0.93}


@dataclass
class Capture:
    """A capture segment: from ``sample_start`` on, the receiver was tuned to ``center_freq_hz``."""

    sample_start: int
    center_freq_hz: float | None = None
    extra: dict = field(default_factory=dict)  # other capture keys, e.g. {"core:datetime": "..."}


@dataclass(frozen=True)
class _Layout:
    """How samples of one datatype sit in the file."""

    datatype: str
    is_complex: bool
    fmt: str  # "f", "i" or "u"
    bits: int
    component: np.dtype  # one I or Q (or real) value, with byte order

    @property
    def sample_size(self) -> int:
        return self.component.itemsize * (2 if self.is_complex else 1)


def _layout(datatype: Any, where: str = "") -> _Layout:
    m = _DATATYPE_RE.match(datatype) if isinstance(datatype, str) else None
    if m is None or (m["fmt"] == "f" and m["bits"] not in ("32", "64")) or (m["fmt"] != "f" and m["bits"] == "64"):
        raise RecordingError(
            f"{where}unsupported datatype {datatype!r} (supported: cf64/cf32/ci32/ci16/cu32/cu16 and rf/ri/ru "
            "with _le or _be, ci8/cu8/ri8/ru8)"
        )
    bits = int(m["bits"])
    if bits > 8 and m["endian"] is None:
        raise RecordingError(f"{where}datatype {datatype!r} needs an endianness suffix (_le or _be)")
    order = ">" if m["endian"] == "_be" else "<"
    component = np.dtype(f"{order if bits > 8 else '|'}{m['fmt']}{bits // 8}")
    return _Layout(datatype, m["kind"] == "c", m["fmt"], bits, component)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Recording:
    """A recording opened for memory-mapped reading (see :func:`open_recording`).

    Attributes: ``path`` (the .sigmf-meta or .npy), ``data_path``, ``sample_rate_hz``, ``datatype``, ``is_complex``,
    ``captures``, ``annotations``, ``global_meta``, ``n_samples`` (complex samples), ``center_freq_hz``.
    """

    def __init__(
        self,
        path: Path,
        data_path: Path,
        *,
        sample_rate_hz: float,
        datatype: str,
        n_samples: int,
        captures: list[Capture],
        annotations: list[Annotation],
        global_meta: dict,
        segments: list[tuple[int, int]],
    ) -> None:
        self.path = path
        self.data_path = data_path
        self.sample_rate_hz = float(sample_rate_hz)
        self.datatype = datatype
        self.n_samples = int(n_samples)
        self.captures = captures
        self.annotations = annotations
        self.global_meta = global_meta
        self._layout = _layout(datatype, f"{path}: ")
        self.is_complex = self._layout.is_complex
        self._segments = segments  # (first sample, byte offset of that sample), ascending
        self._map: np.ndarray | None = None  # the whole data file as a read-only uint8 memmap, opened lazily

    @property
    def center_freq_hz(self) -> float | None:
        """The first capture's centre frequency (Hz), or None when unknown."""
        return self.captures[0].center_freq_hz if self.captures else None

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        return (
            f"Recording({str(self.path)!r}, datatype={self.datatype!r}, sample_rate_hz={self.sample_rate_hz:g}, "
            f"n_samples={self.n_samples}, captures={len(self.captures)}, annotations={len(self.annotations)})"
        )

    def close(self) -> None:
        """Release the memory map (reopened on the next read)."""
        self._map = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict:
        # never pickle the memory map: numpy would copy the whole file into the pickle
        return {**self.__dict__, "_map": None}

    def require_samples(self, n: int) -> None:
        """Raise RecordingError unless the recording holds at least ``n`` samples."""
        if self.n_samples < n:
            raise RecordingError(f"recording {self.path} has {self.n_samples} samples, need at least {n}")

    def _memmap(self) -> np.ndarray:
        if self._map is None:
            try:
                self._map = np.memmap(self.data_path, dtype=np.uint8, mode="r")
            except (OSError, ValueError) as exc:
                raise RecordingError(f"{self.data_path}: cannot map data file ({_one_line(exc)})") from None
        return self._map

    def read_raw(self, start: int, count: int) -> np.ndarray:
        """The stored values of samples [start, start+count) as a view of the memmap (no copy, no scaling).

        Returns (count, 2) of the component dtype for complex datatypes, (count,) for real ones. The span must not
        cross a capture with header bytes (use :meth:`read` for that).
        """
        s0, b0 = next((s, b) for s, b in reversed(self._segments) if s <= start)
        size = self._layout.sample_size
        lo = b0 + (start - s0) * size
        raw = self._memmap()[lo : lo + count * size].view(self._layout.component)
        return raw.reshape(count, 2) if self.is_complex else raw

    def read(self, start: int = 0, count: int | None = None, *, nonfinite: str = "error") -> np.ndarray:
        """Samples [start, start+count) as complex64 (count,), scaled to [-1, 1) for integer datatypes.

        Reads only the requested span from the memory map. ``nonfinite="error"`` raises RecordingError when the span
        holds NaN/Inf; ``"repair"`` sets those samples to 0 and warns with how many.
        """
        if nonfinite not in ("error", "repair"):
            raise ValueError(f"nonfinite must be 'error' or 'repair', not {nonfinite!r}")
        start = int(start)
        count = self.n_samples - start if count is None else int(count)
        if start < 0 or count < 0 or start + count > self.n_samples:
            raise RecordingError(
                f"samples [{start}, {start + count}) are outside recording {self.path} ({self.n_samples} samples)"
            )
        out = np.empty(count, dtype=np.complex64)
        # split the span at segment boundaries (captures with header bytes); usually a single piece
        bounds = [s for s, _ in self._segments[1:] if start < s < start + count] + [start + count]
        pos = start
        for stop in bounds:
            out[pos - start : stop - start] = self._convert(self.read_raw(pos, stop - pos))
            pos = stop
        if self._layout.fmt == "f":
            bad = ~np.isfinite(out)
            n_bad = int(np.count_nonzero(bad))
            if n_bad:
                where = f"[{start}, {start + count}) of {self.path}"
                if nonfinite == "error":
                    raise RecordingError(f"{n_bad} non-finite (NaN/Inf) samples within {where}; use nonfinite='repair'")
                out[bad] = 0
                warnings.warn(f"repaired {n_bad} non-finite (NaN/Inf) samples within {where} (set to 0)", stacklevel=2)
        return out

    def _convert(self, raw: np.ndarray) -> np.ndarray:
        """Stored values -> complex64 (or float32 for real data, which numpy widens on assignment)."""
        lay = self._layout
        if lay.fmt == "f":
            vals = raw.astype(np.float32)
        else:
            half = float(2 ** (lay.bits - 1))
            vals = raw.astype(np.float64 if lay.bits == 32 else np.float32)
            if lay.fmt == "u":
                vals -= half
            vals = (vals / half).astype(np.float32)
        if not lay.is_complex:
            return vals
        return vals.view(np.complex64).reshape(-1)


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
    from sigmf.sigmffile import get_sigmf_filenames

    meta_path = Path(get_sigmf_filenames(p)["meta_fn"])
    if not meta_path.is_file():
        if p.suffix.lower() == DATA_EXT and p.is_file():
            raise RecordingError(f"{p}: metadata file {meta_path.name} is missing")
        raise RecordingError(f"recording {p} not found")
    return _open_sigmf(meta_path, sample_rate_hz)


def _check_rate(rate: Any, where: str) -> float:
    if rate is None:
        raise RecordingError(f"{where} has no sample rate; pass sample_rate_hz")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise RecordingError(f"{where} has an invalid sample rate {rate!r} (need a positive number of Hz)")
    return float(rate)


def _load_meta(meta_path: Path) -> dict:
    try:
        raw = meta_path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{meta_path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{meta_path}: metadata is not UTF-8 (byte {exc.start})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{meta_path}: metadata is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("global"), dict):
        raise RecordingError(f"{meta_path}: metadata has no 'global' object")
    return meta


def _validate(meta: dict, where: Path) -> Any:
    """Schema-check ``meta`` with the sigmf library; returns the SigMFFile (metadata only)."""
    import jsonschema
    from sigmf.error import SigMFError
    from sigmf.sigmffile import SigMFFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undeclared extension namespaces: tolerated when reading
            sf = SigMFFile(metadata=meta)
            sf.validate()
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(k) for k in exc.absolute_path) or "metadata"
        raise RecordingError(f"{where}: invalid SigMF metadata at {loc}: {_one_line(exc.message, 160)}") from None
    except (SigMFError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{where}: invalid SigMF metadata ({_one_line(exc, 160)})") from None
    return sf


def _open_sigmf(meta_path: Path, sample_rate_hz: float | None) -> Recording:
    from sigmf.error import SigMFError
    from sigmf.sigmffile import get_dataset_filename_from_metadata

    meta = _load_meta(meta_path)
    glob = meta["global"]
    layout = _layout(glob.get("core:datatype"), f"{meta_path}: ")
    rate = _check_rate(
        sample_rate_hz if sample_rate_hz is not None else glob.get("core:sample_rate"), f"recording {meta_path}"
    )
    sf = _validate(meta, meta_path)
    if int(glob.get("core:num_channels", 1)) != 1:
        raise RecordingError(f"{meta_path}: {glob['core:num_channels']} channels; only single-channel is supported")
    if glob.get("core:metadata_only"):
        raise RecordingError(f"{meta_path}: metadata-only recording (no samples)")
    try:
        data_path = get_dataset_filename_from_metadata(str(meta_path), meta)
    except SigMFError as exc:
        raise RecordingError(f"{meta_path}: {_one_line(exc)}") from None
    if data_path is None:
        raise RecordingError(f"{meta_path}: data file {meta_path.with_suffix(DATA_EXT).name} is missing")
    data_path = Path(data_path)
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
    if segments[-1][0] > n_samples:
        raise RecordingError(f"data file {data_path} ends before its last capture (sample {segments[-1][0]})")

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
        extra = {k: v for k, v in a.items() if k not in _ANNOTATION_CORE and k != "core:label"}
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
    )


def _open_npy(path: Path, sample_rate_hz: float | None) -> Recording:
    if not path.is_file():
        raise RecordingError(f"recording {path} not found")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: not a readable .npy file ({_one_line(exc, 120)})") from None
    if arr.ndim != 1 or arr.dtype.kind != "c" or arr.dtype.itemsize not in (8, 16):
        raise RecordingError(f"{path}: need a 1-D complex64/complex128 array, got {arr.dtype} {arr.shape}")
    if arr.size == 0:
        raise RecordingError(f"{path}: recording is empty")
    sidecar = path.with_suffix(".json")
    side: dict = {}
    if sidecar.is_file():
        try:
            side = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordingError(f"{sidecar}: not a readable JSON sidecar ({_one_line(exc, 120)})") from None
        if not isinstance(side, dict):
            raise RecordingError(f"{sidecar}: sidecar must be a JSON object")
    rate = sample_rate_hz if sample_rate_hz is not None else side.get("sample_rate_hz")
    where = f"recording {path}" + ("" if side else f" (no sidecar {sidecar.name})")
    rate = _check_rate(rate, where)
    center = side.get("center_freq_hz")
    try:
        annotations = [Annotation(**a) for a in side.get("annotations", [])]
    except TypeError as exc:
        raise RecordingError(f"{sidecar}: bad annotation ({_one_line(exc, 120)})") from None
    order = "_be" if arr.dtype.byteorder == ">" else "_le"
    return Recording(
        path,
        path,
        sample_rate_hz=rate,
        datatype=("cf32" if arr.dtype.itemsize == 8 else "cf64") + order,
        n_samples=arr.size,
        captures=[Capture(0, None if center is None else float(center))],
        annotations=annotations,
        global_meta=side,
        segments=[(0, int(arr.offset))],
    )


def resolve_sources(
    source: str | os.PathLike | Sequence[str | os.PathLike], *, built_kind: str
) -> tuple[Path | None, list[Path], Path]:
    """What a dataset builder was pointed at: a folder, one recording, or a list of recordings.

    Returns (the folder itself when it already holds a built dataset whose manifest kind is ``built_kind``,
    else None; the recording files; the folder a default cache sits beside). DatasetError when the path is
    missing or holds no recording.
    """
    if isinstance(source, (str, os.PathLike)):
        src = Path(source)
        if not src.exists():
            raise DatasetError(f"data path not found: {src}")
        if src.is_dir() and manifest_kind(src / "manifest.json") == built_kind:
            return src, [], src
        paths = find_recordings(src) if src.is_dir() else [src]
        cache_base = src
    else:
        paths = [Path(p) for p in source]
        cache_base = paths[0].parent if paths else Path(".")
    if not paths:
        raise DatasetError(f"no recordings (.sigmf-meta or .npy) found in {source}")
    return None, paths, cache_base


def find_recordings(folder: str | Path) -> list[Path]:
    """Sorted ``.sigmf-meta`` and ``.npy`` files under ``folder`` (recursive, hidden folders skipped); may be empty."""
    root = Path(folder)
    if not root.is_dir():
        raise RecordingError(f"recordings folder {root} not found" if not root.exists() else f"{root} is not a folder")
    found = [
        p
        for p in root.rglob("*")
        if p.suffix.lower() in (META_EXT, ".npy")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)  # skip caches, .git, temp files
    ]
    return sorted(found)


# ---------------------------------------------------------------------------------------------------- writing


def _quantise(iq: np.ndarray, lay: _Layout) -> np.ndarray:
    """Complex (or real) samples -> stored values (interleaved I/Q for complex), clipped for integers."""
    vals = np.stack([iq.real, iq.imag], axis=-1).reshape(-1) if lay.is_complex else np.real(iq)
    if lay.fmt == "f":
        return vals.astype(lay.component)
    half = 2.0 ** (lay.bits - 1)
    q = np.rint(vals.astype(np.float64) * half) + (half if lay.fmt == "u" else 0.0)
    lo, hi = (0.0, 2 * half - 1) if lay.fmt == "u" else (-half, half - 1)
    return np.clip(q, lo, hi).astype(lay.component)


def _annotation_dict(a: Annotation | Mapping) -> dict:
    if isinstance(a, Mapping):
        return dict(a)
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
    from sigmf import __specification__

    from radiofm import __version__

    lay = _layout(datatype)
    iq = np.asarray(iq)
    if iq.ndim != 1:
        raise ValueError(f"iq must be 1-D (N,), got shape {iq.shape}")
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz!r}")
    if not lay.is_complex and np.iscomplexobj(iq) and np.any(iq.imag != 0):
        raise ValueError(f"cannot write complex samples with non-zero imaginary part as real datatype {datatype}")
    if lay.fmt != "f" and not np.all(np.isfinite(iq)):
        raise ValueError(f"iq holds non-finite samples; cannot quantise them to {datatype}")
    if captures is not None and center_freq_hz is not None:
        raise ValueError("give center_freq_hz or captures, not both")

    base = Path(path)
    if base.suffix.lower() in (META_EXT, DATA_EXT):
        base = base.with_suffix("")
    meta_path, data_path = base.with_name(base.name + META_EXT), base.with_name(base.name + DATA_EXT)

    caps = [_capture_dict(c) for c in captures] if captures is not None else [{"core:sample_start": 0}]
    if center_freq_hz is not None:
        caps[0]["core:frequency"] = float(center_freq_hz)
    anns = sorted((_annotation_dict(a) for a in annotations), key=lambda d: d.get("core:sample_start", 0))
    glob: dict[str, Any] = {"core:recorder": "radiofm"}
    if description is not None:
        glob["core:description"] = description
    for key, value in (extra_global or {}).items():
        if key in ("core:datatype", "core:sample_rate", "core:version"):
            raise ValueError(f"extra_global may not set {key}; use the write_sigmf arguments")
        glob[key] = value
    glob.update({"core:datatype": lay.datatype, "core:sample_rate": float(sample_rate_hz)})
    glob["core:version"] = __specification__
    declared = {e.get("name") for e in glob.get("core:extensions", [])}
    missing = sorted(_namespaces([glob, *caps, *anns]) - declared)
    if missing:
        glob["core:extensions"] = list(glob.get("core:extensions", [])) + [
            {"name": ns, "version": __version__ if ns == "radiofm" else "1.0.0", "optional": True} for ns in missing
        ]
    meta = {"global": glob, "captures": sorted(caps, key=lambda d: d["core:sample_start"]), "annotations": anns}
    try:
        text = json.dumps(meta, indent=2, allow_nan=False, default=_json_scalar)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata is not JSON-serialisable: {exc}") from None
    _validate(json.loads(text), meta_path)

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
