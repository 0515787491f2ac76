"""Small file-system helpers shared by every writer: atomic files and folders, JSON."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radiofm.errors import OutputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure remove it.

    Works for files and folders alike: the caller creates whatever it likes at the yielded path. A reader
    never sees a half-written output, and an interrupted write leaves the previous version in place. A temporary
    hard link onto ``path`` when ``path`` already is a link to the same file (an annotated copy written again) is
    removed: rename(2) leaves both names in place then.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {_reason(exc)}") from None
    tmp.rmdir()  # the caller decides whether it is a file or a folder
    try:
        yield tmp
        try:
            if final.is_dir() and not final.is_symlink() and tmp.is_dir():
                _swap_dirs(tmp, final)
            else:
                os.replace(tmp, final)
                if os.path.lexists(tmp):  # both names were hard links to one file: rename(2) then does nothing
                    tmp.unlink()
            fsync_dir(final.parent)
        except OSError as exc:
            raise OutputError(f"cannot write {final}: {_reason(exc)}") from None
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def _swap_dirs(tmp: Path, final: Path) -> None:
    """Put folder ``tmp`` in the place of folder ``final`` in one step where the system allows it.

    Linux: ``renameat2(RENAME_EXCHANGE)`` swaps the two names atomically, so no moment exists without ``final``;
    elsewhere two renames (``final`` aside, ``tmp`` in) with a short window. The old folder is then removed.
    """
    if not _exchange(tmp, final):
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        tmp = old
    shutil.rmtree(tmp, ignore_errors=True)  # after the exchange, tmp holds the old folder


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the names ``a`` and ``b`` (Linux renameat2); False when the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def remove_orphans(path: str | os.PathLike) -> None:
    """Remove what killed writes of ``path`` left beside it: the temporary (``.NAME.*.tmp``) and set-aside
    (``.NAME.old-*``) files and folders of :func:`atomic_path` and the directory swap."""
    final = Path(path)
    if not final.parent.is_dir():
        return
    for pattern in (f".{final.name}.*.tmp", f".{final.name}.old-*"):
        for orphan in final.parent.glob(pattern):
            if orphan.is_dir() and not orphan.is_symlink():
                shutil.rmtree(orphan, ignore_errors=True)
            else:
                orphan.unlink(missing_ok=True)


@contextlib.contextmanager
def build_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock for building the output ``path`` (a cache folder): a second process building the
    same output waits, then finds it built. While held, what killed builds of ``path`` left beside it (temporary
    and set-aside folders) is removed. The lock is the file ``.NAME.lock`` beside ``path`` (flock; released when
    the process dies, so a kill never leaves it held). Without fcntl (Windows) it only cleans up."""
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fh = open(final.parent / f".{final.name}.lock", "a+")  # noqa: SIM115 (held until the block ends)
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {_reason(exc)}") from None
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:
            pass
        remove_orphans(final)
        yield
    finally:
        fh.close()  # releases the lock


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_destination(path: str | os.PathLike, *, kind: str = "folder") -> None:
    """Refuse an output before any work: OutputError (one line) unless ``path`` can be written.

    kind: "folder" (a folder to create, fill or replace), "file" (a file to create or replace) or "prefix"
    (files ``PATH.*`` beside it). Checks that the nearest existing ancestor folder is a folder and writable (by
    creating and removing a probe file there), and that ``path`` is not of the wrong type already.
    """
    target = Path(path)
    if kind == "folder" and target.exists() and not target.is_dir():
        raise OutputError(f"output folder {target} exists and is not a folder")
    if kind == "file" and target.is_dir():
        raise OutputError(f"output file {target} is a folder")
    folder = target.parent
    while not folder.exists() and not folder.is_symlink():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: {folder} is not a folder")
    probes = [folder] + ([target] if kind == "folder" and target.is_dir() else [])
    for where in probes:
        try:
            fd, name = tempfile.mkstemp(prefix=".radiofm-probe-", dir=where)
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise OutputError(f"cannot write in folder {where}: {_reason(exc)}") from None


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON atomically."""
    text = json.dumps(obj, indent=indent, sort_keys=False, default=_json_default) + "\n"
    with atomic_path(path) as tmp:
        try:
            tmp.write_text(text)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {_reason(exc)}") from None


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


# --------------------------------------------------------------------------- JSON from untrusted files
MAX_JSON_BYTES = 64 << 20  # metadata, sidecars, manifests, checkpoint configs: far below this
MAX_JSON_DEPTH = 64  # nesting of arrays/objects; radiofm's own files use fewer than 10 levels
MAX_INT_DIGITS = 40  # an integer literal longer than this is no sample count, size or frequency


class JSONLimitError(ValueError):
    """Untrusted JSON broke a limit or is not strict JSON; the message is one line without the file name."""


def parse_json_untrusted(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from a file a user gave: strict (no NaN/Infinity literals, no number overflowing to inf, no
    integer literal over MAX_INT_DIGITS digits), nesting at most ``max_depth``, lone UTF-16 surrogates in
    strings replaced by '?'. Raises :class:`JSONLimitError` (one line) on any problem."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONLimitError(f"not UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except RecursionError:
        raise JSONLimitError(f"JSON nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JSONLimitError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return _clean(obj, max_depth, 0)


def read_json_untrusted(path: str | os.PathLike, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH):
    """:func:`parse_json_untrusted` of a file, refusing one over ``max_bytes`` before reading it.

    Raises :class:`JSONLimitError` for JSON problems and OSError when the file cannot be read."""
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise JSONLimitError(f"JSON file larger than {max_bytes >> 20} MiB")
    return parse_json_untrusted(raw, max_depth=max_depth)


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


def manifest_kind(path: str | os.PathLike) -> str | None:
    """The ``"kind"`` of a JSON manifest, or None when the file is missing or is not JSON."""
    try:
        return read_json(path).get("kind")
    except (OSError, ValueError):
        return None


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
