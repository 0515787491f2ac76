"""Small file-system helpers shared by every writer: atomic files and folders, JSON."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radiofm.errors import OutputError, OutputKeptError
from radiofm.json_untrusted import (  # noqa: F401 (re-exported: radiofm.io is where callers find them)
    MAX_INT_DIGITS,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    JSONLimitError,
    parse_json_untrusted,
    read_json_untrusted,
)
from radiofm.output_folders import (  # noqa: F401 (check_replaceable, manifest_kind, remove_orphans: re-exported)
    OUTPUT_RECORD,
    TEMP_NAME,
    check_not_cwd,
    check_replaceable,
    manifest_kind,
    record_text,
    remove_dead_orphans,
    remove_orphans,
    rmtree,
    settle_old,
    swap_dirs,
    was_replaced,
    write_record,
    writer_tag,
    written_entries,
)

_RECORDING: contextvars.ContextVar[tuple] = contextvars.ContextVar("radiofm_recording", default=())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure remove it.

    Works for files and folders alike: the caller creates whatever it likes at the yielded path. A reader
    never sees a half-written output, and an interrupted write leaves the previous version in place. A temporary
    hard link onto ``path`` when ``path`` already is a link to the same file (an annotated copy written again) is
    removed: rename(2) leaves both names in place then.

    A folder replaces the previous folder of that name whole, except for what radiofm did not write there: each
    folder written here lists its entries in :data:`OUTPUT_RECORD`, and the top-level entries of the previous folder
    not in its list (a user's notes, an ``evaluate --out RUN/eval`` inside a run folder) are moved into the new one.
    A folder without a list is a user's, and every entry in it is kept that way, unless it holds a JSON file of the
    new folder's with the same ``"kind"`` (the same output, written by a radiofm from before the lists: replaced
    whole). A user's entry that cannot stay (the new folder has an entry of that name) is never deleted: the old
    folder is kept whole as ``NAME.kept-…`` and OutputError says so, after the new folder is in place.
    """
    final = _destination(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{writer_tag()}-", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {_reason(exc)}") from None
    tmp.rmdir()  # the caller decides whether it is a file or a folder
    swapping = False  # from here on, an interrupted write may leave the *old* folder at tmp's name
    try:
        yield tmp
        try:
            if tmp.is_dir() and not tmp.is_symlink():
                write_record(tmp, sorted(e.name for e in tmp.iterdir() if e.name != OUTPUT_RECORD))
            if final.is_dir() and not final.is_symlink() and tmp.is_dir():
                check_not_cwd(final)
                swapping = True
                swap_dirs(tmp, final)
            else:
                try:
                    os.replace(tmp, final)
                except OSError as exc:  # another writer put a folder there first: replace it as any other
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not (tmp.is_dir() and final.is_dir()):
                        raise
                    swapping = True
                    swap_dirs(tmp, final)
                if os.path.lexists(tmp) and not swapping:  # both names were links to one file: rename(2) did nothing
                    tmp.unlink()
            if (final.is_dir() and not final.is_symlink()) or not any(
                TEMP_NAME.fullmatch(q.name) for q in final.parents
            ):
                remove_dead_orphans(final)  # a file inside a folder being written has no leftovers to look for
            fsync_dir(final.parent)
            _note_written(final)
        except OSError as exc:
            why = "another write replaced it at the same moment" if swapping and exc.errno == errno.ENOENT else None
            raise OutputError(f"cannot write {final}: {why or _reason(exc)}") from None
    except BaseException as exc:
        if isinstance(exc, OutputKeptError):  # the new folder is in place
            _note_written(final)
        if tmp.is_dir() and not tmp.is_symlink():
            if swapping and was_replaced(tmp):  # interrupted after the exchange: tmp is the old folder
                if final.is_dir():  # its user's entries go beside the new one; never removed whole
                    with contextlib.suppress(OSError):
                        settle_old(tmp, final)
            else:
                rmtree(tmp)
        elif os.path.lexists(tmp):
            tmp.unlink()
        raise


@contextlib.contextmanager
def recording_writes(folder: str | os.PathLike) -> Iterator[set[str]]:
    """Collect the top-level names of ``folder`` under which :func:`atomic_path` writes, in this thread, while the
    block runs (a pipeline's record of what it wrote: a user's file saved there meanwhile is not among them)."""
    names: set[str] = set()
    token = _RECORDING.set((*_RECORDING.get(), (os.path.realpath(folder), names)))
    try:
        yield names
    finally:
        _RECORDING.reset(token)


def _note_written(final: Path) -> None:
    recorders = _RECORDING.get()
    if recorders:
        where = os.path.realpath(final)
        for folder, names in recorders:
            rel = os.path.relpath(where, folder)
            top = rel.split(os.sep, 1)[0]
            if top not in (".", "..") and not TEMP_NAME.fullmatch(top):  # inside a folder being written: not yet
                names.add(top)


def _destination(path: str | os.PathLike) -> Path:
    """Where :func:`atomic_path` writes ``path``: a symbolic link to a folder is written through (the folder it
    names is replaced, on its own file system); refused before any work: a broken link, a mount point (it cannot be
    replaced)."""
    final = Path(path)
    if final.name in ("", ".", ".."):
        final = final.resolve()
    if final.is_symlink():
        if not final.exists():
            raise OutputError(f"cannot write {final}: it is a broken symbolic link")
        if final.is_dir():
            final = Path(os.path.realpath(final))
    if final.is_dir() and os.path.ismount(final):
        raise OutputError(f"cannot write {final}: it is a mount point, which cannot be replaced; name a folder in it")
    return final


def add_written(folder: str | os.PathLike, names) -> None:
    """Add ``names`` to the record of what radiofm wrote in ``folder`` (a folder it writes into piece by piece,
    such as a pipeline's), so that a later ``--force`` removes those and nothing else."""
    names = set(names) | (written_entries(folder) or set())
    names.discard(OUTPUT_RECORD)
    with atomic_path(Path(folder) / OUTPUT_RECORD) as tmp:
        tmp.write_text(record_text(sorted(names)))


def open_lock_file(final: Path, suffix: str):
    """The open lock file ``.NAME.SUFFIX`` beside the output ``final`` (made with its folder when missing); the
    caller flocks it and closes it to release the lock. OutputError (one line) when it cannot be made."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return open(final.parent / f".{final.name}.{suffix}", "a+")  # noqa: SIM115 (the caller holds it)
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {_reason(exc)}") from None


@contextlib.contextmanager
def build_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock for building the output ``path`` (a cache folder): a second process building the
    same output waits, then finds it built. While held, what killed builds of ``path`` left beside it (temporary
    and set-aside folders) is removed. The lock is the file ``.NAME.lock`` beside ``path`` (flock; released when
    the process dies, so a kill never leaves it held). Without fcntl (Windows) it only cleans up."""
    final = Path(path)
    fh = open_lock_file(final, "lock")
    try:
        try:
            import fcntl

            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # say why nothing happens: the other build may take long (or be stopped)
                print(f"radiofm: waiting for another process building {final}", file=sys.stderr, flush=True)
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

    kind: "folder" (a folder to create or replace whole), "into" (a folder to create or write files in),
    "file" (a file to create or replace) or "prefix" (files ``PATH.*`` beside it). Checks that the nearest existing
    ancestor folder is a folder and writable (by creating and removing a probe file there), that ``path`` is not of
    the wrong type already, and that a folder to replace does not hold the current folder, is no mount point and is
    no broken link (a link to a folder is checked as that folder).
    """
    target = _destination(path) if kind == "folder" else Path(path)  # a broken link, a mount point: refused here
    is_folder = kind in ("folder", "into")
    if is_folder and target.exists() and not target.is_dir():
        raise OutputError(f"output folder {target} exists and is not a folder")
    if kind == "folder" and target.is_dir():
        check_not_cwd(target)
    if kind == "file" and target.is_dir():
        raise OutputError(f"output file {target} is a folder")
    folder = target.parent
    while not folder.exists() and not folder.is_symlink():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: {folder} is not a folder")
    probes = [folder] + ([target] if is_folder and target.is_dir() else [])
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
