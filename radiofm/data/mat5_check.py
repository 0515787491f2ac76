"""Structural check of a MATLAB v5 .mat file, in pure Python, before scipy parses it.

scipy's compiled v5 reader (``_mio5.read_var_array``) trusts the element tags of the file; a damaged tag can make
it crash the whole process (SIGSEGV) instead of raising. :func:`check_mat5` walks the file's layout first (the
128-byte header, then every top-level data element: tags, sizes, zlib-compressed elements decompressed with a
size cap, array flags, dimensions, name, data subelements) and raises a one-line DatasetError naming the file
on anything inconsistent. Every variable's tag, array flags, dimensions and name are checked (scipy parses them
to find or list variables); the variables radiofm reads must be numeric (or logical) arrays, real or complex, with
data of their declared size. Other variables may be of any class radiofm does not read (a cell, struct, object,
char or sparse array beside the numeric one: scipy skips them by their byte count); function and opaque arrays are
refused everywhere. Layout: MathWorks, "MAT-File Format" (matfile_format.pdf), chapter 1.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path

from radiofm.errors import DatasetError

MAX_DECOMPRESSED = 1 << 30  # bytes one miCOMPRESSED element may inflate to
MI_INT8, MI_INT32, MI_UINT32, MI_MATRIX, MI_COMPRESSED = 1, 5, 6, 14, 15
# miType -> item size (bytes) for the types a numeric or char array's data may be stored as
_ITEM = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8}
_NUMERIC_CLASSES = set(range(6, 16))  # mxDOUBLE .. mxUINT64
_CLASS_NAMES = {1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 16: "function", 17: "opaque"}
_SKIPPABLE = {1, 2, 3, 4, 5}  # classes whose first subelements are flags, dimensions and name, as a numeric array's
_COMPLEX = 0x0800


class _Bad(Exception):
    """A layout problem; check_mat5 turns it into a DatasetError naming the file."""


def check_mat5(
    path: str | os.PathLike, data: bytes | None = None, *, names: Collection[str] | None = None
) -> list[str]:
    """Raise DatasetError (one line, naming ``path``) unless it is a well-formed MATLAB v5 file radiofm can read.

    ``data``: the file's bytes, when already read (otherwise read from ``path``). ``names``: the variables that will
    be read, checked in full (None: every variable); the others are checked up to their names. Returns the names of
    the file's variables, in file order.
    """
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    try:
        return _check(memoryview(data), None if names is None else set(names))
    except _Bad as exc:
        raise DatasetError(f"{path}: unreadable .mat file (MATLAB v5 layout: {exc})") from None


def _check(buf: memoryview, names: set[str] | None) -> list[str]:
    if len(buf) < 128:
        raise _Bad(f"{len(buf)} bytes, shorter than the 128-byte header")
    if 0 in bytes(buf[:4]):
        raise _Bad("header text starts with a zero byte (a v4 file?)")
    endian = bytes(buf[126:128])
    if endian not in (b"IM", b"MI"):
        raise _Bad(f"endian indicator {endian!r}, expected 'IM' or 'MI'")
    order = "<" if endian == b"IM" else ">"
    (version,) = struct.unpack(order + "H", buf[124:126])
    if version != 0x0100:
        raise _Bad(f"version 0x{version:04x}, expected 0x0100")
    pos, found = 128, []
    while pos < len(buf):
        mtype, size, start, small = _tag(buf, pos, order)
        if small:
            raise _Bad(f"top-level element at byte {pos} uses the small-element form")
        if mtype == MI_COMPRESSED:
            found.append(_inner(_inflate(buf[start : start + size], pos), order, pos, names))
            pos = start + size
        elif mtype == MI_MATRIX:
            found.append(_matrix(buf[start : start + size], order, pos, names))
            pos = start + size + (-size % 8)
        else:
            raise _Bad(f"top-level element at byte {pos} has type {mtype}, expected miMATRIX or miCOMPRESSED")
    if not found:
        raise _Bad("no variables")
    return found


def _tag(buf: memoryview, pos: int, order: str) -> tuple[int, int, int, bool]:
    """(type, size, offset of the data, small form?) of the element at ``pos``; size checked against ``buf``."""
    if pos + 8 > len(buf):
        raise _Bad(f"element tag at byte {pos} cut short ({len(buf) - pos} of 8 bytes)")
    (word,) = struct.unpack(order + "I", buf[pos : pos + 4])
    if word >> 16:  # small data element: size in the upper 16 bits, data in the next 4 bytes
        size, mtype = word >> 16, word & 0xFFFF
        if size > 4:
            raise _Bad(f"small element at byte {pos} declares {size} bytes (at most 4)")
        return mtype, size, pos + 4, True
    (size,) = struct.unpack(order + "I", buf[pos + 4 : pos + 8])
    if size > len(buf) - pos - 8:
        raise _Bad(f"element at byte {pos} declares {size} bytes, only {len(buf) - pos - 8} remain")
    return word, size, pos + 8, False


def _inflate(comp: memoryview, pos: int) -> memoryview:
    d = zlib.decompressobj()
    try:
        out = d.decompress(comp, MAX_DECOMPRESSED + 1)
    except zlib.error as exc:
        raise _Bad(f"compressed element at byte {pos}: {exc}") from None
    if len(out) > MAX_DECOMPRESSED:
        raise _Bad(f"compressed element at byte {pos} inflates to more than {MAX_DECOMPRESSED} bytes")
    if not d.eof:
        raise _Bad(f"compressed element at byte {pos} is cut short")
    return memoryview(out)


def _inner(buf: memoryview, order: str, where: int, names: set[str] | None) -> str:
    """The one element inside a miCOMPRESSED element: a miMATRIX. Returns its name."""
    mtype, size, start, small = _tag(buf, 0, order)
    if small or mtype != MI_MATRIX:
        raise _Bad(f"compressed element at byte {where} holds type {mtype}, expected miMATRIX")
    return _matrix(buf[start : start + size], order, where, names)


def _matrix(buf: memoryview, order: str, where: int, names: set[str] | None) -> str:
    """The contents of one miMATRIX element (``buf``), found at byte ``where`` (for messages); its name. The data
    are checked when ``names`` is None or holds the name."""
    if len(buf) == 0:
        return ""  # an empty array ([]): scipy reads it as such
    at = f"variable at byte {where}"
    sub = _subelements(buf, order, at)
    ftype, fdata = next(sub)
    if ftype != MI_UINT32 or len(fdata) != 8:
        raise _Bad(f"{at}: array flags must be 8 bytes of miUINT32 (type {ftype}, {len(fdata)} bytes)")
    (flags,) = struct.unpack(order + "I", fdata[:4])
    cls = flags & 0xFF
    if cls not in _NUMERIC_CLASSES and cls not in _SKIPPABLE:
        what = f"{_CLASS_NAMES[cls]} arrays are" if cls in _CLASS_NAMES else f"array class {cls} is"
        raise _Bad(f"{at}: {what} not supported")
    (dtype_, ddata), (ntype, ndata) = next(sub), next(sub)
    if dtype_ != MI_INT32 or len(ddata) < 8 or len(ddata) % 4:
        raise _Bad(f"{at}: dimensions must be at least 2 miINT32 values (type {dtype_}, {len(ddata)} bytes)")
    dims = struct.unpack(order + f"{len(ddata) // 4}i", ddata)
    if min(dims) < 0:
        raise _Bad(f"{at}: negative dimension in {dims}")
    if ntype != MI_INT8:
        raise _Bad(f"{at}: name must be miINT8 (type {ntype})")
    name = bytes(ndata).decode("latin-1")
    if names is not None and name not in names:
        return name  # not read: scipy skips it by its byte count
    if cls in _SKIPPABLE:
        raise _Bad(f"{at}: {_CLASS_NAMES[cls]} arrays are not supported (numeric arrays only)")
    count = 1
    for d in dims:
        count *= d
    parts = list(sub)
    want = 2 if flags & _COMPLEX else 1
    if len(parts) != want:
        raise _Bad(f"{at}: {len(parts)} data subelements, expected {want}")
    for mtype, payload in parts:
        item = _ITEM.get(mtype)
        if item is None:
            raise _Bad(f"{at}: data stored as unsupported type {mtype}")
        if len(payload) != count * item:
            raise _Bad(f"{at}: {len(payload)} data bytes for dimensions {dims} of {item}-byte items")
    return name


def _subelements(buf: memoryview, order: str, at: str) -> Iterator[tuple[int, memoryview]]:
    """(type, payload) of each subelement of a miMATRIX, in order; at most 5 (flags, dims, name, real, imag)."""
    pos = 0
    for i in range(6):
        if pos >= len(buf):
            break
        if i == 5:
            raise _Bad(f"{at}: more than 5 subelements")
        mtype, size, start, small = _tag(buf, pos, order)
        pos = start + 4 if small else start + size + (-size % 8)
        if pos > len(buf):
            raise _Bad(f"{at}: subelement padding runs past the variable's end")
        yield mtype, buf[start : start + size]
    if i < 3:
        raise _Bad(f"{at}: {i} subelements, expected flags, dimensions, name and data")


__all__ = ["MAX_DECOMPRESSED", "check_mat5"]
