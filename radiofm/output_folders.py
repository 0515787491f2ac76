"""Output folders: the record of what radiofm wrote in a folder, the atomic swap of a folder that keeps what it
did not write, and the clean-up of what killed writes left (used by :func:`radiofm.io.atomic_path`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

from radiofm.errors import OutputError
from radiofm.json_untrusted import MAX_JSON_BYTES

OUTPUT_RECORD = ".radiofm-output.json"  # JSON list of the top-level entries radiofm wrote in the folder that holds it


def record_text(names: list[str], replaced: bool = False) -> str:
    return json.dumps({"written_by": "radiofm", "entries": names, **({"replaced": True} if replaced else {})}) + "\n"


def write_record(folder: Path, names: list[str], *, replaced: bool = False) -> None:
    """Write ``folder``'s record (through a temporary name: a kill never leaves half of it). ``replaced`` marks a
    folder about to be swapped out: after the swap, a folder so marked is the old one, which may hold a user's
    entries, and never a half-written new one (whose own record, if a nested write left one, has no mark)."""
    part = folder / f"{OUTPUT_RECORD}.{os.getpid()}.part"
    part.write_text(record_text(names, replaced))
    os.replace(part, folder / OUTPUT_RECORD)


def _read_record(folder: str | os.PathLike) -> dict | None:
    """``folder``'s record as a dict; None when it has none or it is not a JSON object."""
    try:
        raw = json.loads((Path(folder) / OUTPUT_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def was_replaced(folder: Path) -> bool:
    """True when ``folder`` is an old folder that a swap put aside (its record says so)."""
    return (_read_record(folder) or {}).get("replaced") is True


def written_entries(folder: str | os.PathLike) -> set[str] | None:
    """The top-level names radiofm wrote in ``folder`` (from its :data:`OUTPUT_RECORD`); None without a record."""
    names = (_read_record(folder) or {}).get("entries")
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else None


def settle_old(old: Path, final: Path) -> tuple[Path | None, list[str]]:
    """Move the top-level entries of ``old`` (a replaced or orphaned folder) that radiofm did not write there
    into ``final``, then remove ``old``. An entry of a user's that cannot move (``final`` has an entry of that
    name, or the rename fails: another file system mounted there) is never deleted: ``old`` is then kept whole
    beside ``final`` as ``NAME.kept-…``. Returns (that kept folder or None, the names that could not move)."""
    owned = written_entries(old) or set()
    stuck = []
    for entry in sorted(old.iterdir()):
        if entry.name.startswith(OUTPUT_RECORD) or entry.name in owned:  # the record (or a killed write of it)
            continue
        if os.path.lexists(final / entry.name):
            stuck.append(entry.name)
            continue
        try:
            os.rename(entry, final / entry.name)
        except FileNotFoundError:  # moved by a concurrent clean-up
            continue
        except OSError:
            stuck.append(entry.name)
    if not stuck:
        shutil.rmtree(old, ignore_errors=True)
        return None, []
    kept = Path(tempfile.mkdtemp(prefix=f"{final.name}.kept-", dir=final.parent))
    os.replace(old, kept)  # onto the empty folder just made: a name nobody else holds
    return kept, stuck


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
    is first rewritten with the ``replaced`` mark (made from :func:`_legacy_outputs` when it had none), so that
    :func:`remove_orphans` can tell, after a kill, a set-aside folder holding a user's files from a half-written
    one.
    """
    owned = written_entries(final)
    write_record(final, sorted(owned) if owned is not None else _legacy_outputs(final, tmp), replaced=True)
    if not _exchange(tmp, final):
        old = final.with_name(f".{final.name}.old-{writer_tag()}")
        os.replace(final, old)
        os.replace(tmp, final)
        tmp = old
    kept, stuck = settle_old(tmp, final)  # after the exchange, tmp holds the old folder
    if kept is not None:
        names = ", ".join(stuck[:3]) + (f" and {len(stuck) - 3} more" if len(stuck) > 3 else "")
        raise OutputError(
            f"wrote {final}, but files radiofm did not write there ({names}) could not stay beside it (an output "
            f"has the same name, or they cannot be moved): the folder it replaced is kept whole as {kept}"
        )


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
    (``.NAME.old-*``) files and folders of :func:`atomic_path` and the directory swap.

    A folder killed mid-swap may still hold what radiofm did not write (a user's files): those are moved into
    ``path`` first, and a set-aside folder with ``path`` missing (a kill between the two renames) is put back."""
    final = Path(path)
    for orphan, _, _ in _orphans(final):
        _clear_orphan(orphan, final)


def _orphans(final: Path) -> list[tuple[Path, int | None, str | None]]:
    """The temporary (``.NAME.[PID-HOST-]XXXXXXXX.tmp``) and set-aside (``.NAME.old-PID[-HOST]``) names of writes of
    ``final`` beside it, each with its writer's pid and host tag (None in names from before the tag). Exactly this
    output's names: not those of ``NAME.v2`` beside it, which may be a live write."""
    if not final.parent.is_dir():
        return []
    ours = re.compile(
        rf"\.{re.escape(final.name)}\."
        r"(?:(?:(?P<pid>\d+)-(?P<host>[0-9a-f]{4})-)?[a-z0-9_]{8}\.tmp|old-(?P<old_pid>\d+)(?:-(?P<old_host>[0-9a-f]{4}))?)"
    )
    found = []
    for orphan in sorted(final.parent.glob(f".{final.name}.*")):
        m = ours.fullmatch(orphan.name)
        if m is not None:
            pid = m["pid"] or m["old_pid"]
            found.append((orphan, None if pid is None else int(pid), m["host"] or m["old_host"]))
    return found


def _clear_orphan(orphan: Path, final: Path) -> None:
    if orphan.is_dir() and not orphan.is_symlink():
        if was_replaced(orphan):  # an old folder a killed swap put aside (not a half-written new one)
            if not os.path.lexists(final) and ".old-" in orphan.name:
                os.replace(orphan, final)
                return
            if final.is_dir() and not final.is_symlink():
                settle_old(orphan, final)  # removes it, or keeps it whole when a user's entry cannot move
                return
        shutil.rmtree(orphan, ignore_errors=True)
    else:
        orphan.unlink(missing_ok=True)


def writer_tag() -> str:
    """``PID-HOST``: which process writes a temporary name (HOST: 4 hex digits of the host name, so that a folder
    shared between machines is never cleaned of another machine's live writes)."""
    import socket  # here: radiofm's start-up (annotate's) does not need it

    return f"{os.getpid()}-{zlib.crc32(socket.gethostname().encode()) & 0xFFFF:04x}"


def remove_dead_orphans(final: Path) -> None:
    """Clear (:func:`_clear_orphan`) what writes of ``final`` killed on this machine left beside it: the
    temporary and set-aside names whose writer process is gone. A live writer's names are left alone."""
    if os.name != "posix":  # os.kill(pid, 0) is the liveness probe; elsewhere it would end the process
        return
    host = writer_tag().split("-", 1)[1]
    for orphan, pid, tag in _orphans(final):
        if pid is None or tag != host or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # alive (or another user's): not ours to clear
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, OSError):
            continue
        _clear_orphan(orphan, final)


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
        if Path(path).stat().st_size > MAX_JSON_BYTES:
            return None
        kind = json.loads(Path(path).read_text()).get("kind")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return kind if isinstance(kind, str) else None
