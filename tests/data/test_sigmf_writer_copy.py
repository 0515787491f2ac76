"""``copy_bytes``: the data copy of annotated recordings, in the kernel or through user space, of any byte spans;
``write_sigmf_copy``: a copy that is a conforming SigMF recording whatever the input's file held besides samples."""

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
    copy_bytes(tmp_path / "src", [(offset, len(data))], tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == data[offset:]
    copy_bytes(tmp_path / "src", [(offset, offset + 7), (offset + 20, len(data)), (len(data), len(data))],
               tmp_path / "parts")  # fmt: skip
    assert (tmp_path / "parts").read_bytes() == data[offset : offset + 7] + data[offset + 20 :]
    assert (tmp_path / "src").read_bytes() == data


def test_copy_bytes_reports_other_errors(tmp_path, monkeypatch):
    (tmp_path / "src").write_bytes(b"x" * 100)

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sigmf_writer.os, "copy_file_range", full, raising=False)
    with pytest.raises(OSError, match="space"):
        copy_bytes(tmp_path / "src", [(0, 100)], tmp_path / "dst")


def test_link_or_copy_links_whole_files_and_copies_the_rest(tmp_path):
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "src").write_bytes(b"abcdefgh")
    assert link_or_copy(tmp_path / "src", [(0, 8)], tmp_path / "a", link=True)
    assert (tmp_path / "a").samefile(tmp_path / "src")
    assert not link_or_copy(tmp_path / "src", [(2, 8)], tmp_path / "b", link=True)  # a .npy's header: the tail
    assert (tmp_path / "b").read_bytes() == b"cdefgh" and (tmp_path / "b").stat().st_nlink == 1
    assert not link_or_copy(tmp_path / "src", [(0, 6)], tmp_path / "t", link=True)  # trailing bytes: copied
    assert (tmp_path / "t").read_bytes() == b"abcdef"
    assert not link_or_copy(tmp_path / "src", [(0, 8)], tmp_path / "c", link=False)
    assert (tmp_path / "c").read_bytes() == b"abcdefgh" and not (tmp_path / "c").samefile(tmp_path / "src")


def test_a_data_file_that_is_a_relative_symbolic_link_is_linked_at_its_target(tmp_path):
    """`x.sigmf-data -> ../store/x.sigmf-data` annotated into another folder: the output was a hard link to the
    symbolic link itself, dangling at its new depth (and `annotate` then ended in a traceback; session 60's review)."""
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "x").write_bytes(b"abcdefgh")
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "x").symlink_to("../store/x")
    out = tmp_path / "deep" / "er"
    out.mkdir(parents=True)
    assert link_or_copy(tmp_path / "rec" / "x", [(0, 8)], out / "o", link=True)
    assert not (out / "o").is_symlink() and (out / "o").samefile(tmp_path / "store" / "x")


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM, errno.EMLINK])
def test_link_or_copy_copies_where_no_link_can_be_made(tmp_path, monkeypatch, code):
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "src").write_bytes(b"abcdefgh")

    def refuse(*args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(sigmf_writer.os, "link", refuse)
    assert not link_or_copy(tmp_path / "src", [(0, 8)], tmp_path / "dst", link=True)
    assert (tmp_path / "dst").read_bytes() == b"abcdefgh"


def test_link_or_copy_reports_other_errors(tmp_path, monkeypatch):
    from radiofm.data.sigmf_writer import link_or_copy

    (tmp_path / "src").write_bytes(b"x")

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sigmf_writer.os, "link", full)
    with pytest.raises(OSError, match="space"):
        link_or_copy(tmp_path / "src", [(0, 1)], tmp_path / "dst", link=True)


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


def _sigmf_input(folder, *, header=0, trailing=0, captures=None, extra_global=None, annotations=()):
    """A ci16 recording of 1000 samples written by hand: ``header`` bytes before the second capture (at 600),
    ``trailing`` bytes after the last sample, its own annotations; returns (meta path, the samples' values)."""
    import json

    rng = np.random.default_rng(1)
    vals = rng.integers(-3000, 3000, size=(1000, 2), dtype=np.int16)
    folder.mkdir(parents=True, exist_ok=True)
    body = vals[:600].tobytes() + b"H" * header + vals[600:].tobytes() + b"T" * trailing
    (folder / "r.sigmf-data").write_bytes(body)
    caps = captures or [
        {"core:sample_start": 0, "core:frequency": 1e9},
        {"core:sample_start": 600, "core:frequency": 1.1e9, "core:header_bytes": header},
    ]
    glob = {"core:datatype": "ci16_le", "core:sample_rate": 1e6, "core:version": "1.2.0", **(extra_global or {})}
    if trailing:
        glob["core:trailing_bytes"] = trailing
    meta = {"global": glob, "captures": caps, "annotations": list(annotations)}
    (folder / "r.sigmf-meta").write_text(json.dumps(meta))
    return folder / "r.sigmf-meta", vals


def _copy(meta, out, n_samples=None, link=True):
    from radiofm.data import open_recording
    from radiofm.data.sigmf_writer import sigmf_source, write_sigmf_copy

    rec = open_recording(meta)
    glob, caps = sigmf_source(rec)
    return write_sigmf_copy(rec, out, global_meta=glob, captures=caps, annotations=[], link=link,
                            n_samples=n_samples)  # fmt: skip


def _library_samples(meta_path):
    """The samples as the sigmf library reads the written recording (it validates it on the way)."""
    from sigmf.sigmffile import fromfile

    return fromfile(str(meta_path)).read_samples()


@pytest.mark.parametrize("n_samples", [None, 1000, 700, 500])
def test_a_copy_holds_the_samples_alone_and_says_so(tmp_path, n_samples):
    """Header bytes before a capture and trailing bytes after the samples are the input file's, not samples: the
    copy is a conforming .sigmf-data without them, and its metadata no longer mentions them (other SigMF readers
    apply header_bytes only to a non-conforming dataset and would read them as samples); captures past the end of
    a shortened copy go, and a core:sha512 is that of the copy."""
    import hashlib
    import json

    from radiofm.data import open_recording

    meta, vals = _sigmf_input(tmp_path / "in", header=10, trailing=6, extra_global={"core:sha512": "0" * 128})
    out_meta, out_data = _copy(meta, tmp_path / "out" / "o", n_samples)
    n = 1000 if n_samples is None else n_samples
    assert out_data.read_bytes() == vals[:n].tobytes()
    m = json.loads(out_meta.read_text())
    assert "core:trailing_bytes" not in m["global"]
    assert all("core:header_bytes" not in c for c in m["captures"])
    assert [c["core:sample_start"] for c in m["captures"]] == ([0, 600] if n > 600 else [0])
    assert m["global"]["core:sha512"] == hashlib.sha512(out_data.read_bytes()).hexdigest()
    want = (vals[:n, 0] + 1j * vals[:n, 1]) / 32768
    np.testing.assert_allclose(open_recording(out_meta).read(), want, rtol=0, atol=1e-7)
    np.testing.assert_allclose(_library_samples(out_meta), want, rtol=0, atol=1e-7)


def test_a_copy_of_a_file_of_samples_alone_is_a_link_with_its_metadata_as_it_was(tmp_path):
    import json

    meta, _ = _sigmf_input(tmp_path / "in", extra_global={"core:sha512": "0" * 128})
    out_meta, out_data = _copy(meta, tmp_path / "out" / "o")
    assert out_data.samefile(tmp_path / "in" / "r.sigmf-data")
    m = json.loads(out_meta.read_text())
    assert m["global"]["core:sha512"] == "0" * 128 and m["captures"][1]["core:header_bytes"] == 0


def test_a_non_conforming_dataset_becomes_a_conforming_copy(tmp_path):
    """core:dataset names the input's data file; the copy is PREFIX.sigmf-data, its header bytes left out."""
    import json

    meta, vals = _sigmf_input(tmp_path / "in", header=64, extra_global={"core:dataset": "cap.dat"})
    (tmp_path / "in" / "r.sigmf-data").rename(tmp_path / "in" / "cap.dat")
    out_meta, out_data = _copy(meta, tmp_path / "out" / "o")
    assert "core:dataset" not in json.loads(out_meta.read_text())["global"]
    np.testing.assert_allclose(_library_samples(out_meta), (vals[:, 0] + 1j * vals[:, 1]) / 32768, atol=1e-7)


def test_captures_and_namespaces_are_written_as_the_specification_wants(tmp_path):
    """Captures out of order (read in order) are written sorted; a namespace the input used without declaring it
    is declared in the copy."""
    import json

    caps = [{"core:sample_start": 600, "acme:gain_db": 3}, {"core:sample_start": 0}]
    meta, _ = _sigmf_input(tmp_path / "in", captures=caps)
    out_meta, _ = _copy(meta, tmp_path / "out" / "o")
    m = json.loads(out_meta.read_text())
    assert [c["core:sample_start"] for c in m["captures"]] == [0, 600]
    assert "acme" in {e["name"] for e in m["global"]["core:extensions"]}
    _library_samples(out_meta)  # the library's own checks (capture order among them) pass


@pytest.mark.parametrize("in_the_way", ["o.sigmf-data", "o.sigmf-meta", "o.png"])
def test_a_folder_in_the_way_of_one_output_file_leaves_none_written(tmp_path, in_the_way):
    """A folder at PREFIX.sigmf-data failed the last rename after the picture and the metadata had been renamed into
    place (a .sigmf-meta with no data behind it, a user's own PREFIX.png overwritten by a run that failed)."""
    from radiofm.data import open_recording
    from radiofm.data.sigmf_writer import sigmf_source, write_sigmf_copy
    from radiofm.errors import OutputError

    meta, _ = _sigmf_input(tmp_path / "in")
    out = tmp_path / "out"
    (out / in_the_way).mkdir(parents=True)
    (out / "o.png").mkdir(exist_ok=True) if in_the_way == "o.png" else (out / "o.png").write_text("mine")
    rec = open_recording(meta)
    glob, caps = sigmf_source(rec)
    with pytest.raises(OutputError, match=f"{in_the_way}: a folder of that name is in the way"):
        write_sigmf_copy(rec, out / "o", global_meta=glob, captures=caps, annotations=[],
                         also={out / "o.png": lambda p: p.write_text("new")})  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted({in_the_way, "o.png"})
    assert in_the_way == "o.png" or (out / "o.png").read_text() == "mine"
