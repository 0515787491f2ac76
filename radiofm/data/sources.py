"""Where recordings are: every recording file under a folder, and what a dataset builder was pointed at."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from radiofm.data.sigmf_format import META_EXT
from radiofm.errors import DatasetError, RecordingError
from radiofm.io import manifest_kind


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
