"""JSON from files a user gives: strict, with bounded size, nesting and number literals (re-exported by
:mod:`radiofm.io`)."""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any

MAX_JSON_BYTES = 64 << 20  # metadata, sidecars, manifests, checkpoint configs: far below this
MAX_JSON_DEPTH = 64  # nesting of arrays/objects; radiofm's own files use fewer than 10 levels
MAX_INT_DIGITS = 40  # an integer literal longer than this is no sample count, size or frequency


class JSONLimitError(ValueError):
    """Untrusted JSON broke a limit or is not strict JSON; the message is one line without the file name."""


def parse_json_untrusted(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, nonfinite: bool = False) -> Any:
    """Parse JSON from a file a user gave: strict (no NaN/Infinity literals, no number overflowing to inf, no
    integer literal over MAX_INT_DIGITS digits), nesting at most ``max_depth``, lone UTF-16 surrogates in
    strings replaced by '?'. Raises :class:`JSONLimitError` (one line) on any problem. ``nonfinite``: the literals
    NaN, Infinity and -Infinity are read as those floats (Python's ``json.dump`` writes them, and SigMF tools read
    them; the caller then checks the values it uses are finite)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONLimitError(f"not UTF-8 (byte {exc.start})") from None
    try:
        constant = float if nonfinite else _no_constant
        obj = json.loads(text, parse_constant=constant, parse_int=_bounded_int, parse_float=_finite_float)
    except RecursionError:
        raise JSONLimitError(f"JSON nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JSONLimitError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return _clean(obj, max_depth, 0)


def read_json_untrusted(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
    nonfinite: bool = False,
):
    """:func:`parse_json_untrusted` of a file, refusing one over ``max_bytes`` before reading it.

    Raises :class:`JSONLimitError` for JSON problems and OSError when the file cannot be read or is not a regular
    file (a FIFO would block the read)."""
    with open_regular(path) as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise JSONLimitError(f"JSON file larger than {max_bytes >> 20} MiB")
    return parse_json_untrusted(raw, max_depth=max_depth, nonfinite=nonfinite)


def open_regular(path: str | os.PathLike):
    """``open(path, "rb")`` for a regular file only: anything else (a FIFO, a device, a folder) is an OSError, raised
    without blocking."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _no_constant(name: str) -> Any:
    raise JSONLimitError(f"non-standard JSON literal {name} (NaN/Infinity are not JSON)")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONLimitError(f"integer literal with {len(text.lstrip('-'))} digits")
    return int(text)


def _finite_float(text: str) -> float:
    if len(text) > 400:
        raise JSONLimitError(f"number literal with {len(text)} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JSONLimitError(f"number {text[:20]}... overflows a double")
    return value


def _clean_str(s: str) -> str:
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:  # lone surrogates (\ud800): not encodable, replaced
        return s.encode("utf-8", "replace").decode("utf-8")


def _clean(obj: Any, max_depth: int, depth: int) -> Any:
    if isinstance(obj, str):
        return _clean_str(obj)
    if isinstance(obj, (dict, list)):
        if depth >= max_depth:
            raise JSONLimitError(f"JSON nested more than {max_depth} levels deep")
        if isinstance(obj, list):
            return [_clean(v, max_depth, depth + 1) for v in obj]
        return {_clean_str(k): _clean(v, max_depth, depth + 1) for k, v in obj.items()}
    return obj
