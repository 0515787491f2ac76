"""``copy_bytes``: the data copy of annotated recordings, in the kernel or through user space, from any offset."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from radiofm.data import sigmf_writer
from radiofm.data.sigmf_writer import copy_bytes


@pytest.mark.parametrize("offset", [0, 1, 128, 5000])
@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "chunks"])
def test_copy_bytes_copies_the_tail_from_the_offset(tmp_path, monkeypatch, offset, kernel):
    data = np.random.default_rng(0).integers(0, 256, size=5000, dtype=np.uint8).tobytes()
    (tmp_path / "src").write_bytes(data)
    if not kernel:

        def unsupported(*args):
            raise OSError(errno.EXDEV, "cross-device")

        monkeypatch.setattr(sigmf_writer.os, "copy_file_range", unsupported, raising=False)
    copy_bytes(tmp_path / "src", offset, tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == data[offset:]
    assert (tmp_path / "src").read_bytes() == data


def test_copy_bytes_reports_other_errors(tmp_path, monkeypatch):
    (tmp_path / "src").write_bytes(b"x" * 100)

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sigmf_writer.os, "copy_file_range", full, raising=False)
    with pytest.raises(OSError, match="space"):
        copy_bytes(tmp_path / "src", 0, tmp_path / "dst")


def test_link_or_copy_links_whole_files_and_copies_the_rest(tmp_path):
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "src").write_bytes(b"abcdefgh")
    assert link_or_copy(tmp_path / "src", 0, tmp_path / "a", link=True)
    assert (tmp_path / "a").samefile(tmp_path / "src")
    assert not link_or_copy(tmp_path / "src", 2, tmp_path / "b", link=True)  # a .npy's header: copy the tail
    assert (tmp_path / "b").read_bytes() == b"cdefgh" and (tmp_path / "b").stat().st_nlink == 1
    assert not link_or_copy(tmp_path / "src", 0, tmp_path / "c", link=False)
    assert (tmp_path / "c").read_bytes() == b"abcdefgh" and not (tmp_path / "c").samefile(tmp_path / "src")


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM, errno.EMLINK])
def test_link_or_copy_copies_where_no_link_can_be_made(tmp_path, monkeypatch, code):
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "src").write_bytes(b"abcdefgh")

    def refuse(*args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(sigmf_writer.os, "link", refuse)
    assert not link_or_copy(tmp_path / "src", 0, tmp_path / "dst", link=True)
    assert (tmp_path / "dst").read_bytes() == b"abcdefgh"


def test_link_or_copy_reports_other_errors(tmp_path, monkeypatch):
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "src").write_bytes(b"x")

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sigmf_writer.os, "link", full)
    with pytest.raises(OSError, match="space"):
        link_or_copy(tmp_path / "src", 0, tmp_path / "dst", link=True)


def test_writing_the_same_linked_copy_twice_leaves_no_temporary_file(tmp_path):
    """An annotated copy written again to the same prefix: its data is already a hard link to the input's file, and
    rename(2) of one link onto another of the same file does nothing, which left the temporary link behind (a
    hidden ``.o.sigmf-data.*.tmp`` per rerun, holding the samples once the input is gone)."""
    from radiofm.data import open_recording, write_sigmf
    from radiofm.data.sigmf_writer import sigmf_source, write_sigmf_copy

    iq = np.random.default_rng(0).standard_normal(2000).astype(np.float32).view(np.complex64)
    rec = open_recording(write_sigmf(tmp_path / "in" / "r", iq, sample_rate_hz=1e6))
    glob, caps = sigmf_source(rec)
    for _ in range(2):
        meta, data = write_sigmf_copy(rec, tmp_path / "out" / "o", global_meta=glob, captures=caps, annotations=[],
                                      link=True)  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["o.sigmf-data", "o.sigmf-meta"]
    assert data.samefile(rec.data_path) and rec.data_path.stat().st_nlink == 2
    np.testing.assert_array_equal(open_recording(meta).read(), iq)


def test_atomic_path_onto_a_link_of_the_same_file(tmp_path):
    from radiofm.io import atomic_path

    (tmp_path / "src").write_bytes(b"abc")
    os.link(tmp_path / "src", tmp_path / "final")
    with atomic_path(tmp_path / "final") as tmp:
        os.link(tmp_path / "src", tmp)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final", "src"]
    assert (tmp_path / "final").samefile(tmp_path / "src")
