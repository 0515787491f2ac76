"""Reading SigMF metadata from an untrusted file: bounded JSON (:func:`radiofm.io.read_json_untrusted`) plus
radiofm's own bounds on top of the SigMF schema, checked once, in the reader, before anything uses a value.

Bounds (each failure is a :class:`RecordingError` naming the file and the key):

- sample rate: a finite number in [MIN_RATE_HZ, MAX_RATE_HZ]; frequencies (capture centres, annotation edges):
  finite, |f| <= MAX_FREQ_HZ;
- sample indices, counts, byte counts: integers in [0, MAX_INDEX] (booleans are not integers);
- ``core:num_channels``: absent or exactly 1;
- ``core:dataset``: a plain file name in the recording's own folder (no separator, no ``..``);
- ``captures`` / ``annotations``: arrays of objects; labels are strings (lone surrogates already replaced);
- NaN and Infinity (JSON literals Python's ``json.dump`` writes, which the ``sigmf`` library reads) in a field of
  another namespace (``"sdr:gain_db": NaN``), but in no ``core:`` field: a recording was refused whole for a custom
  field's NaN (docs/RESULTS.md, session 60).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from radiofm.errors import RecordingError
from radiofm.io import JSONLimitError, read_json_untrusted

MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 1e12
MAX_FREQ_HZ = 1e13
MAX_INDEX = 2**62
MAX_META_BYTES = 256 << 20  # a metadata file with a million annotations is ~200 MB
MAX_META_DEPTH = 32


def load_sigmf_meta(meta_path: Path) -> dict:
    """The metadata of ``meta_path`` parsed under the JSON limits (schema and :func:`check_sigmf_bounds` next)."""
    try:
        meta = read_json_untrusted(meta_path, max_bytes=MAX_META_BYTES, max_depth=MAX_META_DEPTH, nonfinite=True)
    except OSError as exc:
        raise RecordingError(f"{meta_path}: cannot read ({exc.strerror or exc})") from None
    except JSONLimitError as exc:
        raise RecordingError(f"{meta_path}: metadata is {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("global"), dict):
        raise RecordingError(f"{meta_path}: metadata has no 'global' object")
    sections = [("global", meta["global"])] + [
        (f"{name} {i}", item)
        for name in ("captures", "annotations")
        if isinstance(meta.get(name), list)
        for i, item in enumerate(meta[name])
        if isinstance(item, dict)
    ]
    for where, obj in sections:
        for key, value in obj.items():
            if str(key).startswith("core:") and _nonfinite(value):
                raise RecordingError(f"{meta_path}: {where}: {key} holds NaN or Infinity")
    return meta


def _nonfinite(value: Any) -> bool:
    """Whether ``value`` is, or holds (in a list or object), a float that is NaN or infinite."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(_nonfinite(v) for v in value.values())
    return False


def check_rate(rate: Any, where: str) -> float:
    """A plausible sample rate (Hz) or RecordingError; None means the file gave none."""
    if rate is None:
        raise RecordingError(f"{where} has no sample rate; pass sample_rate_hz (--sample-rate)")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise RecordingError(f"{where} has an invalid sample rate {_short(rate)} (need a positive number of Hz)")
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise RecordingError(
            f"{where} has an implausible sample rate {rate:g} Hz (need {MIN_RATE_HZ:g} Hz to {MAX_RATE_HZ:g} Hz)"
        )
    return float(rate)


def check_freq(value: Any, where: str, key: str) -> float | None:
    """None, or a finite frequency within +-MAX_FREQ_HZ as float; RecordingError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordingError(f"{where}: {key} must be a finite number of Hz, got {_short(value)}")
    if abs(value) > MAX_FREQ_HZ:
        raise RecordingError(f"{where}: {key} {value:g} Hz is implausible (|f| <= {MAX_FREQ_HZ:g} Hz)")
    return float(value)


def check_index(value: Any, where: str, key: str, *, default: int | None = 0) -> int | None:
    """A non-negative integer index/count (absent or null: ``default``); RecordingError otherwise."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INDEX:
        raise RecordingError(f"{where}: {key} must be a non-negative integer, got {_short(value)}")
    return value


def plain_file_name(name: Any) -> bool:
    """Whether ``name`` (a ``core:dataset``) is a plain file name in the recording's own folder: a non-empty string
    with no separator, not ``.`` or ``..``, no NUL."""
    return (
        isinstance(name, str)
        and bool(name)
        and not any(c in name for c in (os.sep, "/", "\\", "\0"))
        and name not in (".", "..")
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_sigmf_bounds(meta: dict, where: Path) -> None:
    """radiofm's bounds on parsed SigMF metadata (see the module doc); raises RecordingError."""
    glob = meta["global"]
    if "core:sample_rate" in glob:
        check_rate(glob["core:sample_rate"], f"recording {where}")
    if "core:num_channels" in glob:
        n = glob["core:num_channels"]
        if isinstance(n, bool) or n != 1 or not isinstance(n, int):
            raise RecordingError(f"{where}: core:num_channels is {_short(n)}; only single-channel (1) is supported")
    for key in ("core:offset", "core:trailing_bytes"):
        check_index(glob.get(key), str(where), key)
    dataset = glob.get("core:dataset")
    if dataset is not None and not plain_file_name(dataset):
        raise RecordingError(f"{where}: core:dataset must be a file name in the recording's folder")
    for section in ("captures", "annotations"):
        items = meta.get(section, [])
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise RecordingError(f"{where}: '{section}' must be an array of objects")
    for i, cap in enumerate(meta.get("captures") or []):
        at = f"{where} capture {i}"
        check_index(cap.get("core:sample_start"), at, "core:sample_start")
        check_index(cap.get("core:header_bytes"), at, "core:header_bytes")
        check_freq(cap.get("core:frequency"), at, "core:frequency")
    for i, ann in enumerate(meta.get("annotations") or []):
        at = f"{where} annotation {i}"
        check_index(ann.get("core:sample_start"), at, "core:sample_start")
        check_index(ann.get("core:sample_count"), at, "core:sample_count")
        for key in ("core:freq_lower_edge", "core:freq_upper_edge"):
            check_freq(ann.get(key), at, key)
        label = ann.get("core:label")
        if label is not None and not isinstance(label, str):
            raise RecordingError(f"{at}: core:label must be a string, got {type(label).__name__}")
