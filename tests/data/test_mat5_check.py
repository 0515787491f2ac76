"""The MATLAB v5 layout check that runs before scipy sees a file (radiofm.data.mat5_check)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import scipy.io

from radiofm.data import mat5_check
from radiofm.data.mat5_check import check_mat5
from radiofm.data.matfile import load_mat, mat_shapes
from radiofm.errors import DatasetError


def _savemat(variables, compress: bool) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, variables, format="5", do_compression=compress, oned_as="column")
    return buf.getvalue()


def _refused(tmp_path, data: bytes, fragment: str) -> str:
    path = tmp_path / "x.mat"
    path.write_bytes(data)
    with pytest.raises(DatasetError) as info:
        check_mat5(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and fragment in msg, msg
    with pytest.raises(DatasetError):  # and the reader refuses it before scipy runs
        load_mat(path, ["CSIamp"])
    return msg


@pytest.mark.parametrize("compress", [False, True])
def test_savemat_files_pass_and_load(tmp_path, compress):
    rng = np.random.default_rng(0)
    variables = {
        "CSIamp": rng.random((342, 20)).astype(np.float32),
        "d": rng.random((3, 4, 5)),
        "c": (rng.random((2, 2)) + 1j * rng.random((2, 2))),
        "i": np.arange(7, dtype=np.int16),
        "b": np.array([[True, False]]),
        "s": np.float64(3.5),
        "e": np.zeros((0, 3)),
    }
    path = tmp_path / "ok.mat"
    path.write_bytes(_savemat(variables, compress))
    check_mat5(path)
    version, arrays, found = load_mat(path, ["CSIamp", "c"])
    assert version == "5" and found == sorted(variables)
    np.testing.assert_array_equal(arrays["CSIamp"], variables["CSIamp"])
    np.testing.assert_array_equal(arrays["c"], variables["c"])


def test_truncated_file(tmp_path):
    data = _savemat({"CSIamp": np.ones((10, 10))}, False)
    _refused(tmp_path, data[:-40], "only")
    _refused(tmp_path, data[:100], "shorter than the 128-byte header")
    _refused(tmp_path, data[:132], "cut short")


def test_truncated_compressed_stream(tmp_path):
    data = _savemat({"CSIamp": np.random.default_rng(1).random((50, 50))}, True)
    size = struct.unpack("<I", data[132:136])[0]
    cut = data[:128] + struct.pack("<II", 15, size // 2) + data[136 : 136 + size // 2]
    _refused(tmp_path, cut, "compressed element at byte 128")


def test_bad_tag_size(tmp_path):
    data = bytearray(_savemat({"CSIamp": np.ones((10, 10))}, False))
    data[132:136] = struct.pack("<I", 10**9)
    _refused(tmp_path, bytes(data), "declares 1000000000 bytes")
    data = bytearray(_savemat({"CSIamp": np.ones((10, 10))}, False))
    data[128:132] = struct.pack("<I", 0x00090009)  # small-element form, 9 bytes: impossible
    _refused(tmp_path, bytes(data), "at most 4")


def test_bad_dims(tmp_path):
    clean = _savemat({"CSIamp": np.ones((10, 10))}, False)
    # layout: tag(8) | flags tag(8)+8 | dims tag(8)+8 at 160..168 | name ...
    data = bytearray(clean)
    data[160:164] = struct.pack("<i", 11)  # 11 x 10 doubles declared, 10 x 10 stored
    _refused(tmp_path, bytes(data), "data bytes for dimensions (11, 10)")
    data = bytearray(clean)
    data[160:164] = struct.pack("<i", -1)
    _refused(tmp_path, bytes(data), "negative dimension")
    data = bytearray(clean)
    data[156:160] = struct.pack("<I", 4)  # a single dimension
    _refused(tmp_path, bytes(data), "at least 2 miINT32")


def test_unsupported_class_and_data_type(tmp_path):
    _refused(tmp_path, _savemat({"CSIamp": {"a": np.ones(2)}}, False), "struct arrays are not supported")
    _refused(tmp_path, _savemat({"CSIamp": np.array([np.ones(2)], dtype=object)}, True), "cell arrays")
    _refused(tmp_path, _savemat({"CSIamp": "text"}, True), "char arrays")
    data = bytearray(_savemat({"CSIamp": np.ones((10, 10))}, False))
    name_end = 168 + 8 + 8  # name "CSIamp": tag + 6 bytes padded to 8
    data[name_end : name_end + 4] = struct.pack("<I", 50954)
    _refused(tmp_path, bytes(data), "unsupported type 50954")


@pytest.mark.parametrize("compress", [False, True])
def test_variables_not_read_may_be_of_other_classes(tmp_path, compress):
    """A char, struct or cell array beside the numeric one is skipped (scipy skips it by its byte count); it is
    refused only when it is the variable read, and its header is still checked."""
    csi = np.arange(12.0).reshape(3, 4)
    extra = {"note": "recorded by hand", "meta": {"a": np.ones(2)}, "cells": np.array([np.ones(2)], dtype=object)}
    data = _savemat({"CSIamp": csi, **extra}, compress)
    path = tmp_path / "x.mat"
    path.write_bytes(data)
    assert sorted(check_mat5(path, names=["CSIamp"])) == ["CSIamp", "cells", "meta", "note"]
    version, arrays, found = load_mat(path, ["CSIamp"])
    assert version == "5" and found == ["CSIamp", "cells", "meta", "note"]
    np.testing.assert_array_equal(arrays["CSIamp"], csi)
    assert set(mat_shapes(path)[1]) == {"CSIamp", "cells", "meta", "note"}
    with pytest.raises(DatasetError, match="char arrays are not supported"):
        load_mat(path, ["note"])
    with pytest.raises(DatasetError, match="arrays are not supported"):
        check_mat5(path)  # every variable read: the first one of another class is refused
    if not compress:  # a damaged dimension tag in a variable that is not read is still refused
        raw = bytearray(data)
        at = raw.index(b"note") - 16  # the size word of the dimensions tag (a 4-character name is a small element)
        raw[at : at + 4] = struct.pack("<I", 9)
        path.write_bytes(bytes(raw))
        with pytest.raises(DatasetError, match="dimensions must be"):
            load_mat(path, ["CSIamp"])


def test_oversized_decompressed_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(mat5_check, "MAX_DECOMPRESSED", 1000)
    data = _savemat({"CSIamp": np.zeros((100, 100))}, True)  # 80 kB inflated, a few hundred bytes stored
    _refused(tmp_path, data, "inflates to more than 1000 bytes")


def test_compressed_element_must_hold_a_matrix(tmp_path):
    bomb = zlib.compress(b"\0" * 4096, 9)
    header = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"
    data = header + struct.pack("<II", 15, len(bomb)) + bomb
    _refused(tmp_path, data, "holds type 0, expected miMATRIX")


def test_wrong_header(tmp_path):
    clean = _savemat({"CSIamp": np.ones((4, 4))}, False)
    _refused(tmp_path, clean[:126] + b"XX" + clean[128:], "endian indicator")
    _refused(tmp_path, clean[:124] + b"\x00\x02" + clean[126:], "version 0x0200")
    _refused(tmp_path, b"\0\0\0\0" + clean[4:], "v4 file")
    _refused(tmp_path, clean[:128], "no variables")
