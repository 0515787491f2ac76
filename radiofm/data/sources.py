"""Where recordings are: every recording file under a folder, and what a dataset builder was pointed at."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from radiofm.data.sigmf_format import META_EXT
from radiofm.errors import DatasetError, RecordingError
from radiofm.io import manifest_kind
from radiofm.output_folders import CACHE_DIR

# the kinds of radiofm's built data sets that keep their arrays as .npy beside their manifest.json: an NR/LTE set's
# spectrograms.npy and labels.npy, a spectrogram or sentence dataset's shards (their modules' KIND constants)
ARRAY_DATASET_KINDS = ("nrlte-segmentation", "spectrograms", "sentences")


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
        raise DatasetError(
            no_recordings_message(source) if isinstance(source, (str, os.PathLike)) else "no recordings given"
        )
    return None, paths, cache_base


def cache_folder(kind: str, settings, base: Path, sources: Sequence[dict], root: Path | None = None) -> Path:
    """The folder of the ``kind`` cache ("spectrograms", "sentences") built with ``settings`` (JSON-able) from the
    recordings whose fingerprints are ``sources`` (:func:`radiofm.data.spectrograms.fingerprint` from ``base``): in
    ``root`` when given (``--cache-dir``), else beside ``base`` (the data folder, or the folder of one recording)
    when writable, else in ~/.cache/radiofm. Its name holds the settings and which recordings (the fingerprints'
    paths, not their contents): two runs on other recordings of one folder (the folder, one file of it) or sharing
    a ``--cache-dir`` never share a cache, so neither rebuilds it under the other while it reads."""
    blob = json.dumps([settings, sorted(s["path"] for s in sources)], sort_keys=True)
    name = f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"
    if root is not None:
        return Path(root) / name
    folder = base if base.is_dir() else base.parent
    if os.access(folder, os.W_OK):
        return folder / CACHE_DIR / name
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "radiofm"
    return home / f"{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:10]}-{name}"


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime ns, size) of ``path``, or None when it is gone: a cache rebuilt (its folder swapped whole)
    gives its manifest another identity."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def check_unchanged(folder: Path, identity: tuple | None) -> None:
    """DatasetError unless ``folder``'s manifest.json is still the one a dataset opened (``identity``): its shards
    are opened lazily, and a cache rebuilt meanwhile by another run would be read with this one's statistics."""
    if file_identity(folder / "manifest.json") != identity:
        raise DatasetError(
            f"the data set {folder} was rebuilt or removed by another radiofm process while this one read it: run "
            "again (each set of recordings now has a cache of its own)"
        )


def files_under(root: Path):
    """Every file under the folder ``root``, following symbolic links to folders (each real folder walked once: a
    link loop ends), hidden folders and files (a name starting with ".": caches, .git, temp files) left out. Paths
    are ``root`` joined with the names as they appear, links included: a class folder that is a link keeps its
    name. ``Path.rglob`` follows no link to a folder, and a data set of linked class folders lost them silently
    (session 60's review)."""
    seen: set[str] = set()
    for top, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(top) / name


def find_recordings(folder: str | Path) -> list[Path]:
    """Sorted ``.sigmf-meta`` and ``.npy`` files under ``folder`` (recursive, hidden folders skipped); may be empty.

    A ``.npy`` beside the ``manifest.json`` of one of :data:`ARRAY_DATASET_KINDS` is one of a built dataset's
    arrays (an NR/LTE set's ``labels.npy``, a spectrogram shard), not a recording, and is left out: a set written
    with ``--iq`` then gives the recordings under its ``iq/``, where its arrays had ended in "need a 1-D complex
    array". Another tool's manifest beside complex .npy captures leaves them recordings.
    """
    root = Path(folder)
    if not root.is_dir():
        raise RecordingError(f"recordings folder {root} not found" if not root.exists() else f"{root} is not a folder")
    dataset_folder: dict[Path, bool] = {}

    def is_array_of_a_dataset(path: Path) -> bool:
        if path.suffix.lower() != ".npy":
            return False
        if path.parent not in dataset_folder:
            dataset_folder[path.parent] = manifest_kind(path.parent / "manifest.json") in ARRAY_DATASET_KINDS
        return dataset_folder[path.parent]

    found = [
        p
        for p in files_under(root)
        if p.suffix.lower() in (META_EXT, ".npy") and p.is_file() and not is_array_of_a_dataset(p)
    ]
    return sorted(found)


def no_recordings_message(folder: str | Path) -> str:
    """Why ``folder`` gave no recordings, naming a built dataset's kind where it holds one."""
    kind = manifest_kind(Path(folder) / "manifest.json")
    if kind in ARRAY_DATASET_KINDS:
        return f"no recordings (.sigmf-meta or .npy) in {folder}: it holds a built {kind} dataset, not recordings"
    return f"no recordings (.sigmf-meta or .npy) found in {folder}"
