"""Output folders: the record of what radiofm wrote in a folder, the atomic swap of a folder that keeps what it
did not write, and the clean-up of what killed writes left (used by :func:`radiofm.io.atomic_path`)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import zlib
from pathlib import Path

from radiofm.errors import OutputError, OutputKeptError
from radiofm.json_untrusted import MAX_JSON_BYTES, open_regular, read_json_untrusted

CACHE_DIR = ".radiofm-cache"  # the caches radiofm keeps beside a data folder (spectrograms, sentences, signals)
OUTPUT_RECORD = ".radiofm-output.json"  # JSON list of the top-level entries radiofm wrote in the folder that holds it
UNREADABLE = "unreadable"  # what :func:`read_record` gives for a record that exists but cannot be trusted
_RECORD_PART = re.compile(rf"{re.escape(OUTPUT_RECORD)}\.\d+\.part")  # a killed write of the record


def record_text(names: list[str], replaced: bool = False) -> str:
    return json.dumps({"written_by": "radiofm", "entries": names, **({"replaced": True} if replaced else {})}) + "\n"


def write_record(folder: Path, names: list[str], *, replaced: bool = False) -> None:
    """Write ``folder``'s record (through a temporary name, flushed to disk first: neither a kill nor a power loss
    leaves half of it). ``replaced`` marks a folder about to be swapped out: after the swap, a folder so marked is
    the old one, which may hold a user's entries, and never a half-written new one (whose own record, if a nested
    write left one, has no mark)."""
    part = folder / f"{OUTPUT_RECORD}.{os.getpid()}.part"
    with open(part, "w") as fh:
        fh.write(record_text(names, replaced))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, folder / OUTPUT_RECORD)


def read_record(folder: str | os.PathLike) -> dict | str | None:
    """``folder``'s record: ``{"entries": set of names, "replaced": bool}``; None when it has none;
    :data:`UNREADABLE` when one is there but cannot be trusted (not a regular file, too large, not JSON, too deeply
    nested, not a record). The record is untrusted input: an entry that is not one plain name inside the folder
    (``..``, ``a/b``, an absolute path) is dropped, so no use of it can reach outside the folder."""
    path = Path(folder) / OUTPUT_RECORD
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return UNREADABLE
    if not stat.S_ISREG(st.st_mode):  # a link would lead elsewhere (the size is bounded by the reader below)
        return UNREADABLE
    try:
        raw = read_json_untrusted(path)
    except (OSError, ValueError, RecursionError):
        return UNREADABLE
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
        return UNREADABLE
    return {"entries": {n for n in raw["entries"] if plain_name(n)}, "replaced": raw.get("replaced") is True}


def plain_name(name) -> bool:
    """True for one plain entry name of a folder (not the record itself): no separator, not ``.``/``..``."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..", OUTPUT_RECORD)
        and "\0" not in name
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
    )


def was_replaced(folder: Path) -> bool:
    """True when ``folder`` is an old folder that a swap put aside (its record says so)."""
    rec = read_record(folder)
    return isinstance(rec, dict) and rec["replaced"]


def written_entries(folder: str | os.PathLike) -> set[str] | None:
    """The top-level names radiofm wrote in ``folder`` (from its :data:`OUTPUT_RECORD`); None without a record
    that can be read."""
    rec = read_record(folder)
    return set(rec["entries"]) if isinstance(rec, dict) else None


def rmtree(path: str | os.PathLike) -> None:
    """Remove the folder ``path`` with what radiofm wrote in it, read-only sub-folders included (made writable
    first); what still cannot go stays. Nothing above ``path`` is touched."""
    top = os.path.join(os.getcwd(), os.fspath(path))  # not normalised: "link/../x" is not "x" to the kernel

    def inside(q: str) -> bool:  # shutil names what it removes by joining names onto top
        return q == top or q.startswith(top + os.sep)

    def retry(func, p, _exc) -> None:  # a read-only folder: made writable (only below top), then tried again
        try:
            if inside(os.path.dirname(p)):
                os.chmod(os.path.dirname(p), stat.S_IRWXU)
            if os.path.isdir(p) and not os.path.islink(p) and inside(p):
                os.chmod(p, stat.S_IRWXU)
                shutil.rmtree(p, ignore_errors=True)
            elif inside(p):
                func(p)
        except OSError:
            pass

    shutil.rmtree(top, **({"onexc": retry} if sys.version_info >= (3, 12) else {"onerror": retry}))


def _rename_new(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` only if ``dst`` does not exist (FileExistsError otherwise): atomically where Linux
    allows (``renameat2(RENAME_NOREPLACE)``), else checked just before."""
    if _renameat2(src, dst, 1) is None:
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
        os.rename(src, dst)


def keep_whole(old: Path, final: Path) -> Path:
    """Put the folder ``old`` beside ``final`` as ``NAME.kept-…`` (a name nobody else holds); where even that
    fails, it stays where it is. Returns where it is."""
    try:
        kept = Path(tempfile.mkdtemp(prefix=f"{final.name}.kept-", dir=final.parent))
    except OSError:
        return old
    try:
        os.replace(old, kept)  # onto the empty folder just made
    except OSError:
        with contextlib.suppress(OSError):
            kept.rmdir()
        return old
    return kept


def settle_old(old: Path, final: Path) -> tuple[Path | None, list[str]]:
    """Move the top-level entries of ``old`` (a replaced or orphaned folder) that radiofm did not write there
    into ``final``, then remove ``old``. An entry of a user's that cannot move (``final`` has an entry of that
    name, or the rename fails: another file system mounted there) is never deleted: ``old`` is then kept whole
    beside ``final`` as ``NAME.kept-…`` (:func:`keep_whole`). Returns (where ``old`` was kept, or None; the names
    that could not move). A record of ``old`` that cannot be read leaves every entry to the user."""
    owned = written_entries(old) or set()
    stuck = []
    for entry in sorted(old.iterdir()):
        if entry.name == OUTPUT_RECORD or _RECORD_PART.fullmatch(entry.name) or entry.name in owned:
            continue
        try:
            _rename_new(entry, final / entry.name)
        except FileNotFoundError:  # moved by a concurrent clean-up
            continue
        except OSError:  # the name is taken in final (FileExistsError), or the entry cannot move
            stuck.append(entry.name)
    if not stuck:
        rmtree(old)
        return None, []
    return keep_whole(old, final), stuck


def _legacy_outputs(old: Path, new: Path) -> list[str]:
    """What radiofm wrote in ``old``, a folder without a record: everything when it is the same kind of output
    written before folders had records (a JSON file of ``new``'s is there with the same ``"kind"``), else nothing
    (a user's folder)."""
    for entry in sorted(new.iterdir()):
        if entry.suffix == ".json" and entry.name != OUTPUT_RECORD and entry.is_file() and not entry.is_symlink():
            kind = manifest_kind(entry)
            if kind is not None and (old / entry.name).is_file() and manifest_kind(old / entry.name) == kind:
                return sorted(e.name for e in old.iterdir())
    return []


def check_not_cwd(final: Path) -> None:
    """Refuse to replace the current folder or a folder above it: the process (and the shell that started it)
    would be left in a removed folder."""
    here, target = Path.cwd().resolve(), final.resolve()
    if here == target or target in here.parents:
        raise OutputError(f"cannot replace folder {final}: it holds the current folder; name a new folder")


def swap_dirs(tmp: Path, final: Path) -> None:
    """Put folder ``tmp`` in the place of folder ``final`` in one step where the system allows it.

    Linux: ``renameat2(RENAME_EXCHANGE)`` swaps the two names atomically, so no moment exists without ``final``;
    elsewhere two renames (``final`` aside, ``tmp`` in) with a short window. What radiofm did not write in the old
    folder is then moved into the new one and the old folder removed (:func:`settle_old`). The old folder's record
    is first rewritten with the ``replaced`` mark (made from :func:`_legacy_outputs` when it had none, and empty when
    it cannot be read: everything stays the user's), so that :func:`remove_orphans` can tell, after a kill, a
    set-aside folder holding a user's files from a half-written one; a failed swap restores the record.
    """
    rec = read_record(final)
    owned = _legacy_outputs(final, tmp) if rec is None else [] if rec == UNREADABLE else sorted(rec["entries"])
    record = final / OUTPUT_RECORD
    before = None
    if rec is not None:  # restored if the swap fails, even when unreadable: it keeps the folder the user's
        st = os.lstat(record)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_JSON_BYTES:
            raise OutputError(f"cannot replace {final}: its {OUTPUT_RECORD} is not a radiofm record; remove it")
        before = record.read_bytes()
    write_record(final, owned, replaced=True)
    try:
        if _renameat2(tmp, final, 2):  # RENAME_EXCHANGE
            old = tmp
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-{writer_tag()}-", dir=final.parent))
            os.replace(final, old)
            try:
                os.replace(tmp, final)
            except OSError:
                os.replace(old, final)
                raise
    except OSError:
        with contextlib.suppress(OSError):  # the folder is as it was, its record too
            record.write_bytes(before) if before is not None else record.unlink()
        raise
    try:
        kept, stuck = settle_old(old, final)
    except OSError as exc:
        kept, stuck = keep_whole(old, final), [f"({exc.strerror or type(exc).__name__})"]
    if kept is not None:
        names = ", ".join(stuck[:3]) + (f" and {len(stuck) - 3} more" if len(stuck) > 3 else "")
        raise OutputKeptError(
            f"wrote {final}, but files radiofm did not write there ({names}) could not stay beside it (an output "
            f"has the same name, or they cannot be moved): the folder it replaced is kept whole as {kept}"
        )


def _renameat2(a: Path, b: Path, flags: int) -> bool | None:
    """Linux ``renameat2(a, b, flags)``: True when done, None when the system cannot (another OS, a file system
    without the flag); raises OSError for any other failure."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flags)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this file system cannot
        return None
    raise OSError(err, os.strerror(err), str(b))


def remove_orphans(path: str | os.PathLike) -> None:
    """Remove what killed writes of ``path`` left beside it: the temporary (``.NAME.*.tmp``) and set-aside
    (``.NAME.old-*``) files and folders of :func:`atomic_path` and the directory swap. Only where no write of
    ``path`` can be running (under :func:`radiofm.io.build_lock`); elsewhere :func:`remove_dead_orphans`.

    A folder killed mid-swap may still hold what radiofm did not write (a user's files): those are moved into
    ``path`` first, and a set-aside folder with ``path`` missing (a kill between the two renames) is put back."""
    final = Path(path)
    for orphan, _, _ in _orphans(final):
        _clear_orphan(orphan, final)


_TAG = r"(?P<{0}pid>\d+)-(?P<{0}host>[0-9a-f]{{8}}|[0-9a-f]{{4}})"  # writer_tag(); 4 hex digits before session 55
TEMP_NAME = re.compile(rf"\..+\.{_TAG.format('')}-[a-z0-9_]{{8}}\.tmp")  # what atomic_path is writing: .NAME.TAG-x.tmp


def _orphans(final: Path) -> list[tuple[Path, int | None, str | None]]:
    """The temporary (``.NAME.[PID-HOST-]XXXXXXXX.tmp``) and set-aside (``.NAME.old-PID[-HOST][-XXXXXXXX]``)
    names of writes of ``final`` beside it, each with its writer's pid and host tag (None in names from before the
    tag). Exactly this output's names: not those of ``NAME.v2`` beside it, which may be a live write."""
    ours = re.compile(
        rf"\.{re.escape(final.name)}\."
        rf"(?:(?:{_TAG.format('')}-)?[a-z0-9_]{{8}}\.tmp|old-(?P<old_pid>\d+)"
        rf"(?:-(?P<old_host>[0-9a-f]{{8}}|[0-9a-f]{{4}}))?(?:-[a-z0-9_]{{8}})?)"
    )
    # a write nested in another (a checkpoint saved into a run folder's temporary name): ..NAME.TAG-x.tmp.TAG-y.tmp
    nested = re.compile(rf"\.\.{re.escape(final.name)}\.{_TAG.format('outer_')}-[a-z0-9_]{{8}}\.tmp\.{_TAG.format('')}"
                        r"-[a-z0-9_]{8}\.tmp")  # fmt: skip
    prefix = f".{final.name}."
    try:
        with os.scandir(final.parent) as it:
            names = sorted(e.name for e in it if e.name.startswith((prefix, "." + prefix)))
    except OSError:
        return []
    found = []
    for name in names:
        m = ours.fullmatch(name) or nested.fullmatch(name)
        if m is not None:
            pid = m["pid"] or m.groupdict().get("old_pid")
            found.append(
                (final.parent / name, None if pid is None else int(pid), m["host"] or m.groupdict().get("old_host"))
            )
    return found


def _clear_orphan(orphan: Path, final: Path) -> None:
    """Clear one leftover: a half-written folder or file is removed; an old folder a killed swap put aside is put
    back (``final`` missing after a kill between the two renames), emptied into ``final`` (:func:`settle_old`) or
    kept whole as ``NAME.kept-…``; a folder whose record cannot be read is kept whole. Never deletes a user's
    entry."""
    if not (orphan.is_dir() and not orphan.is_symlink()):
        orphan.unlink(missing_ok=True)
        return
    rec = read_record(orphan)
    if rec == UNREADABLE:
        keep_whole(orphan, final)
    elif isinstance(rec, dict) and rec["replaced"]:  # an old folder a killed swap put aside (not a half-written one)
        if not os.path.lexists(final) and ".old-" in orphan.name:
            os.replace(orphan, final)
        elif final.is_dir() and not final.is_symlink():
            settle_old(orphan, final)  # removes it, or keeps it whole when a user's entry cannot move
        else:
            keep_whole(orphan, final)
    else:
        rmtree(orphan)


def writer_tag() -> str:
    """``PID-HOST``: which process writes a temporary name (HOST: 8 hex digits of the host name, so that a folder
    shared between machines is never cleaned of another machine's live writes)."""
    import socket  # here: radiofm's start-up (annotate's) does not need it

    return f"{os.getpid()}-{zlib.crc32(socket.gethostname().encode()):08x}"


def remove_dead_orphans(final: Path) -> None:
    """Clear (:func:`_clear_orphan`) what writes of ``final`` killed on this machine left beside it: the
    temporary and set-aside names whose writer process is gone. A live writer's names are left alone."""
    if os.name != "posix":  # os.kill(pid, 0) is the liveness probe; elsewhere it would end the process
        return
    host = writer_tag().split("-", 1)[1]
    for orphan, pid, tag in _orphans(final):
        if pid is None or tag not in (host, host[-4:]) or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # alive (or another user's): not ours to clear
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, OSError):
            continue
        with contextlib.suppress(OSError):
            _clear_orphan(orphan, final)


def remove_written(path: Path) -> None:
    """Remove what radiofm wrote at ``path`` (an entry of a folder's record, for ``--force``): a file; a folder
    with a record of its own, only the entries its record lists (the same way, at any depth), so that a user's
    files inside stay; a folder without one (made on the way to outputs, as ``runs/`` is) entry by entry the same
    way; then the folder itself, once empty. Refuses (OutputError) the current folder or one above it, and a folder
    whose record cannot be read."""
    if not os.path.lexists(path):
        return
    if not path.is_dir() or path.is_symlink():
        path.unlink()
        return
    check_not_cwd(path)
    rec = read_record(path)
    if rec == UNREADABLE:
        raise OutputError(f"cannot tell what radiofm wrote in {path}: its {OUTPUT_RECORD} cannot be read")
    if rec is None:  # a folder made on the way (runs/ of runs/NAME): all of it, but by the records below it
        for entry in sorted(path.iterdir()):
            remove_written(entry)
    else:
        for name in sorted(rec["entries"]):
            remove_written(path / name)
        (path / OUTPUT_RECORD).unlink()
        cache = path / CACHE_DIR  # radiofm's cache beside a data set it wrote (data/ism/.radiofm-cache): its own too
        if cache.is_dir() and not cache.is_symlink():
            remove_written(cache)
    with contextlib.suppress(OSError):  # not empty: a user's files are there
        path.rmdir()


def check_replaceable(
    folder: str | os.PathLike, outputs, *, kind_file: str, kind: str, what: str, error: type[Exception] = OutputError
) -> None:
    """Refuse, before any work, to write the output ``what`` into ``folder`` when the folder already holds entries
    with the output's top-level names (``outputs``) and is not an output of the same ``kind`` (the ``"kind"`` of its
    ``kind_file``): it may be the real dataset whose layout the output imitates. Other entries (a user's notes) are
    fine: :func:`atomic_path` keeps them. ``error`` is the exception class raised (one line)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise error(f"output path exists and is not a folder: {folder}")
    if not folder.is_dir() or manifest_kind(folder / kind_file) == kind:
        return
    clash = sorted(n for n in set(outputs) if os.path.lexists(folder / n))
    if clash:
        raise error(
            f"{folder} holds {', '.join(clash[:3])}{' and more' if len(clash) > 3 else ''} and is not {what} written "
            "by radiofm (it may be the real dataset); choose another folder"
        )


def manifest_kind(path: str | os.PathLike) -> str | None:
    """The ``"kind"`` of a JSON manifest, or None when the file is missing, is not JSON or has no kind."""
    try:
        with open_regular(path) as fh:  # a FIFO would block the read
            raw = fh.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            return None
        kind = json.loads(raw).get("kind")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return kind if isinstance(kind, str) else None
