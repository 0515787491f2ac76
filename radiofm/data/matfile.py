"""MATLAB .mat files: read v5 (scipy) and v7.3 (HDF5, h5py); write v7.3 the way MATLAB lays it out.

Orientation. MATLAB stores arrays column-major. scipy's ``loadmat`` (v5 files) returns them in MATLAB's
orientation (a 342 × 2000 variable is a (342, 2000) array). A v7.3 file is HDF5, and h5py, reading row-major,
sees every array with its axes reversed: the same variable is a (2000, 342) dataset, and a MATLAB
W × H × C × N array is (N, C, H, W). Readers here return what each library sees; the dataset readers
(:mod:`radiofm.data.ntufi`, :mod:`radiofm.data.positioning`) decide orientation from the known sizes.

A v7.3 file written by :func:`write_mat73` is what MATLAB's ``save -v7.3`` produces in structure: a 512-byte
user block holding the 128-byte MATLAB header ("MATLAB 7.3 MAT-file ... HDF5 schema 1.00"), then HDF5 with a
``MATLAB_class`` attribute on every variable ("double", "single", "struct" for groups).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from radiofm.data.mat5_check import check_mat5
from radiofm.errors import DatasetError

_USERBLOCK = 512
_CLASS = {np.dtype(np.float64): "double", np.dtype(np.float32): "single", np.dtype(np.int64): "int64"}
_CLASS.update({np.dtype(np.int32): "int32", np.dtype(np.uint8): "uint8"})


def is_hdf5(path: str | os.PathLike) -> bool:
    import h5py

    try:
        return bool(h5py.is_hdf5(os.fspath(path)))
    except OSError:
        return False


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def listed(names: Sequence[str], *, limit: int = 8, width: int = 40) -> str:
    """Variable names read from a file, for a one-line message: escaped (a newline or control character in a
    damaged file's name shows as ``\\n``), each cut to ``width`` characters, at most ``limit`` of them."""
    shown = []
    for name in list(names)[:limit]:
        text = str(name).encode("unicode_escape", "backslashreplace").decode("ascii")
        shown.append(text if len(text) <= width else text[: width - 3] + "...")
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"


def load_mat(path: str | os.PathLike, names: Sequence[str]) -> tuple[str, dict[str, np.ndarray], list[str]]:
    """Read the variables ``names`` from a .mat file (v5 or v7.3) into memory.

    Returns (version "5" or "7.3", {name: array} for the names present, every variable name in the file).
    v7.3 names may be paths into groups ("labels/position"). Arrays come back as the reading library sees
    them (see the module docstring). DatasetError naming the file when it is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if is_hdf5(path):
        return "7.3", *_load_h5(path, names)
    import scipy.io

    # scipy's compiled reader can crash (SIGSEGV) on damaged element tags: check the layout first; variables
    # radiofm does not read (a char or struct array beside the data) are checked only as far as scipy parses them
    found = sorted({k for k in check_mat5(path, names=names) if k and not k.startswith("__")})
    try:
        mat = scipy.io.loadmat(path, variable_names=list(names))
    except Exception as exc:  # scipy raises many types for a damaged file (ValueError, MatReadError, OSError...)
        raise DatasetError(f"{path}: unreadable .mat file ({_short(exc)})") from None
    return "5", {k: np.asarray(mat[k]) for k in names if k in mat}, found


def mat_shapes(path: str | os.PathLike) -> tuple[str, dict[str, tuple[int, ...]]]:
    """The variables of a .mat file (v5 or v7.3) and their shapes, without reading their data.

    Returns (version "5" or "7.3", {name: shape as :func:`load_mat` would return it}); v7.3 names may be paths
    into groups. DatasetError naming the file when it is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if is_hdf5(path):
        import h5py

        try:
            with h5py.File(path, "r") as f:
                shapes: dict[str, tuple[int, ...]] = {}
                f.visititems(lambda n, obj: shapes.setdefault(n, obj.shape) if isinstance(obj, h5py.Dataset) else None)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise DatasetError(f"{path}: unreadable MATLAB v7.3 (HDF5) file ({_short(exc)})") from None
        return "7.3", {n: tuple(int(d) for d in v) for n, v in shapes.items() if not n.startswith("#")}
    import scipy.io

    check_mat5(path, names=())  # as in load_mat: the layout is checked before scipy's compiled reader sees it
    try:
        found = scipy.io.whosmat(path)
    except Exception as exc:  # the same many exception types as loadmat
        raise DatasetError(f"{path}: unreadable .mat file ({_short(exc)})") from None
    return "5", {name: tuple(int(d) for d in shape) for name, shape, _ in found}


def _load_h5(path: Path, names: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            found: list[str] = []
            f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
            found = sorted(n for n in found if not n.startswith("#"))  # "#refs#": MATLAB's cell/struct storage
            out = {}
            for name in names:
                obj = f.get(name)
                if isinstance(obj, h5py.Dataset):
                    out[name] = obj[()]
            return out, found
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:  # h5py on damaged files
        raise DatasetError(f"{path}: unreadable MATLAB v7.3 (HDF5) file ({_short(exc)})") from None


def write_mat73(path: str | os.PathLike, variables: Mapping[str, np.ndarray]) -> None:
    """Write ``variables`` ({name or "group/name": array as h5py should see it}) as a MATLAB v7.3 file.

    Writes ``path`` directly; callers wrap it in :func:`radiofm.io.atomic_path`. Arrays are stored exactly as
    given (h5py orientation): pass the transpose of the MATLAB-orientation array.
    """
    import h5py

    path = Path(path)
    with h5py.File(path, "w", userblock_size=_USERBLOCK, libver="earliest") as f:
        for name, value in variables.items():
            value = np.asarray(value)
            parts = name.split("/")
            group = f
            for g in parts[:-1]:
                group = group.require_group(g)
                group.attrs["MATLAB_class"] = np.bytes_("struct")
            ds = group.create_dataset(parts[-1], data=value, track_times=False)  # no timestamps: same data, same bytes
            ds.attrs["MATLAB_class"] = np.bytes_(_CLASS.get(value.dtype, "double"))
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: radiofm HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as fh:
        fh.write(header.ljust(_USERBLOCK, b"\x00"))


__all__ = ["is_hdf5", "load_mat", "mat_shapes", "write_mat73"]
