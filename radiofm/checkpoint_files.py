"""The checkpoint folder's files, read without torch: ``config.json``'s envelope and ``model.safetensors``' header.

A checkpoint folder (written by :func:`radiofm.models.save_checkpoint`) holds ``model.safetensors`` and
``config.json`` = ``{"format": "radiofm-checkpoint", "version": 1, "family", "kind", "config", "extra", "tied"}``.
This module checks both files' structure and nothing about the model, so that code which never builds a torch
model (the numpy inference engine of :mod:`radiofm.annotate.engine`) can distrust a folder as
:mod:`radiofm.models.checkpoint_check` does, without importing torch. Every failure is one
:class:`~radiofm.errors.CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

from radiofm.errors import CheckpointError
from radiofm.io import JSONLimitError, parse_json_untrusted, read_json_untrusted
from radiofm.json_untrusted import open_regular

FORMAT = "radiofm-checkpoint"
VERSION = 1
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MAX_HEADER_BYTES = 64 << 20
# safetensors dtype name -> bytes per element (the dtypes radiofm reads)
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read_checkpoint_info(folder: str | Path) -> dict:
    """Parse and validate ``folder/config.json``; CheckpointError naming the problem otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        if folder.exists():
            raise CheckpointError(f"{folder} is a file, not a checkpoint folder (give the run folder that holds it)")
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    cfg_path = folder / CONFIG_FILE
    if not cfg_path.is_file() or not (folder / MODEL_FILE).is_file():
        raise CheckpointError(f"{folder} is not a radiofm checkpoint (needs {CONFIG_FILE} and {MODEL_FILE})")
    try:
        info = read_json_untrusted(cfg_path, max_bytes=16 << 20, max_depth=32)
    except OSError as exc:
        raise CheckpointError(f"cannot read {cfg_path}: {exc.strerror or type(exc).__name__}") from None
    except JSONLimitError as exc:
        raise CheckpointError(f"{cfg_path} is malformed: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{folder} is not a radiofm checkpoint ({cfg_path} lacks format {FORMAT!r})")
    if info.get("version") != VERSION:
        raise CheckpointError(f"{cfg_path} has unsupported version {info.get('version')!r} (expected {VERSION})")
    for key, typ in (("kind", str), ("config", dict), ("extra", dict)):
        if not isinstance(info.get(key), typ):
            raise CheckpointError(f"{cfg_path} is malformed: {key!r} must be a {typ.__name__}")
    if info.get("family") is not None and not isinstance(info["family"], str):
        raise CheckpointError(f"{cfg_path} is malformed: 'family' must be a string or null")
    tied = info.get("tied")
    if tied is not None and (
        not isinstance(tied, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tied.items())
    ):
        raise CheckpointError(f"{cfg_path} is malformed: 'tied' must map tensor names to tensor names")
    return info


def _ints(value: Any, max_len: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= max_len
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2**53 for v in value)
    )


def read_safetensors_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{tensor name: (safetensors dtype name, shape)} from a safetensors file's header, read without its data.

    Every entry is checked against the file: a dtype of :data:`ITEMSIZE`, a shape of at most 8 non-negative ints,
    a byte range inside the data whose length is the shape's, no two ranges overlapping. A pickle or any other
    file fails here.
    """
    try:
        size = path.stat().st_size
        with open_regular(path) as fh:
            head = fh.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if not 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
                raise CheckpointError(f"{path} is not a safetensors file (no valid header length)")
            raw = fh.read(n)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        header = parse_json_untrusted(raw, max_depth=4)
    except JSONLimitError as exc:
        raise CheckpointError(f"{path} is not a safetensors file (header {exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file (header is not an object)")
    data_bytes = size - 8 - n
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name[:80]!r}"
        if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str) or entry["dtype"] not in ITEMSIZE:
            raise CheckpointError(f"{where} has no supported dtype")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not _ints(shape, 8) or not _ints(offsets, 2) or len(offsets) != 2:
            raise CheckpointError(f"{where} has a malformed shape or data_offsets")
        numel = math.prod(shape)
        lo, hi = offsets
        if not 0 <= lo <= hi <= data_bytes or hi - lo != numel * ITEMSIZE[entry["dtype"]]:
            raise CheckpointError(f"{where}: shape {shape} does not match its bytes in the file")
        spans.append((lo, hi))
        out[name] = (entry["dtype"], tuple(shape))
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        raise CheckpointError(f"{path}: tensors overlap in the file")
    return out


__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "ITEMSIZE",
    "MODEL_FILE",
    "VERSION",
    "read_checkpoint_info",
    "read_safetensors_header",
]


def check_input_norm(config: dict, where: str) -> dict:
    """A fine-tuned model's ``input`` normalisation (its config's "input", default per-sample), checked without
    torch (the numpy engine and :mod:`radiofm.models.checkpoint_check` both use it): ``{"norm": "per-sample"}`` or
    ``{"norm": "dataset"}`` with a finite ``mean_db`` and ``std_db`` > 0. Returns it; CheckpointError otherwise."""
    inp = config.get("input") or {"norm": "per-sample"}
    ok = isinstance(inp, dict) and inp.get("norm") in ("per-sample", "dataset")
    if ok and inp["norm"] == "dataset":
        stats = (inp.get("mean_db"), inp.get("std_db"))
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in stats)
        ok = ok and stats[1] > 0
    if not ok:
        raise CheckpointError(f"{where}: 'input' must be per-sample or dataset with a finite mean_db and std_db > 0")
    return inp
