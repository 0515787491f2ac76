"""radiofm.output_folders: the record is untrusted input, and no failure or leftover costs a user's file."""

import errno
import json
import os
import signal
import subprocess
import sys

import pytest
from test_io import _write

from radiofm import output_folders
from radiofm.errors import OutputError, OutputKeptError
from radiofm.io import OUTPUT_RECORD, atomic_path, remove_orphans, write_json, written_entries
from radiofm.output_folders import read_record, writer_tag


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_record_entries_that_leave_the_folder_are_dropped(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    entries = ["../victim", str(tmp_path / "abs.txt"), "", ".", "..", "a/b", OUTPUT_RECORD, 7, "ok.txt"]
    (out / OUTPUT_RECORD).write_text(json.dumps({"entries": entries}))
    assert written_entries(out) == {"ok.txt"}


@pytest.mark.parametrize(
    "text", ["{", "[" * 100_000 + "]" * 100_000, '{"entries": "x"}', "[]", '{"entries": [1e999999]}']
)
def test_a_record_that_cannot_be_read_leaves_every_entry_to_the_user(tmp_path, text):
    out = tmp_path / "out"
    out.mkdir()
    write_json(out / "manifest.json", {"kind": "k"})  # the same kind as the new output: the pre-record rule
    (out / "notes.txt").write_text("keep")
    (out / OUTPUT_RECORD).write_text(text)
    assert read_record(out) == output_folders.UNREADABLE
    with pytest.raises(OutputKeptError) as err:  # manifest.json is the user's now: it cannot stay, so kept aside
        with atomic_path(out) as tmp:
            tmp.mkdir()
            write_json(tmp / "manifest.json", {"kind": "k"})
    (kept,) = tmp_path.glob("out.kept-*")
    assert str(kept) in str(err.value)
    assert (out / "notes.txt").read_text() == "keep" and json.loads((kept / "manifest.json").read_text())


def test_a_record_that_is_a_fifo_does_not_block(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    os.mkfifo(out / OUTPUT_RECORD)
    old = signal.signal(signal.SIGALRM, lambda *a: pytest.fail("blocked reading the record"))
    signal.alarm(20)
    try:
        assert read_record(out) == output_folders.UNREADABLE
        with pytest.raises(OutputError, match="not a radiofm record"):
            _write(out, {"a": "1"})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert _names(out) == [OUTPUT_RECORD, "notes.txt"] and _names(tmp_path) == ["out"]


def test_a_users_file_named_like_the_record_stays(tmp_path):
    out = tmp_path / "out"
    _write(out, {"a": "1"})
    (out / f"{OUTPUT_RECORD}.bak").write_text("mine")
    (out / f"{OUTPUT_RECORD}l").write_text("mine too")
    _write(out, {"a": "2"})
    assert _names(out) == [OUTPUT_RECORD, f"{OUTPUT_RECORD}.bak", f"{OUTPUT_RECORD}l", "a"]


def test_a_failure_after_the_swap_never_removes_the_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("the user's")  # clashes with the output's "a": the old folder must be kept whole
    real, calls = output_folders.tempfile.mkdtemp, []

    def no_space(*args, **kwargs):
        calls.append(kwargs.get("prefix"))
        if len(calls) > 1:  # atomic_path's own temporary name first, then the kept folder's
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(output_folders.tempfile, "mkdtemp", no_space)
    with pytest.raises(OutputKeptError) as err:
        _write(out, {"a": "new"})
    monkeypatch.undo()
    assert (out / "a").read_text() == "new"
    (left,) = [p for p in tmp_path.iterdir() if p.name != "out"]  # where the message says
    assert str(left) in str(err.value) and (left / "a").read_text() == "the user's"
    remove_orphans(out)  # its clean-up keeps it: the user's "a" still cannot move
    assert any((p / "a").is_file() and (p / "a").read_text() == "the user's" for p in tmp_path.iterdir())


def test_a_set_aside_folder_whose_output_was_moved_away_is_kept(tmp_path):
    out = tmp_path / "run"
    _write(out, {"a": "1"})
    (out / "notes.md").write_text("keep")
    output_folders.write_record(out, ["a"], replaced=True)  # as a swap leaves it, killed before the settle
    orphan = tmp_path / f".run.{_dead_pid()}-{writer_tag().split('-', 1)[1]}-abcd1234.tmp"
    os.rename(out, orphan)  # the new folder was then moved away by the user (mv run run-v1): run is gone
    remove_orphans(out)
    (kept,) = tmp_path.glob("run.kept-*")
    assert (kept / "notes.md").read_text() == "keep"


def test_an_exchange_that_fails_leaves_the_folder_and_its_record_as_they_were(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep")

    def busy(a, b, flags):
        raise OSError(errno.EBUSY, "Device or resource busy", str(b))

    monkeypatch.setattr(output_folders, "_renameat2", busy)
    with pytest.raises(OutputError, match="busy"):
        _write(out, {"a": "1"})
    assert _names(out) == ["notes.txt"]  # no record left in the user's folder
    assert _names(tmp_path) == ["out"]


def test_a_folder_another_writer_puts_in_place_first_is_replaced_as_any_other(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = os.replace

    def beaten(src, dst):
        if str(dst) == str(out) and not out.exists():  # another process's folder lands just before ours
            out.mkdir()
            (out / "b").write_text("theirs, unrecorded: kept as a user's")
        return real(src, dst)

    monkeypatch.setattr(output_folders.os, "replace", beaten)
    _write(out, {"a": "mine"})
    monkeypatch.undo()
    assert (out / "a").read_text() == "mine" and (out / "b").is_file()
    assert _names(tmp_path) == ["out"]


def test_a_symlink_to_a_folder_is_written_through(tmp_path):
    target = tmp_path / "disk" / "data"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("keep")
    link = tmp_path / "out"
    link.symlink_to(target)
    _write(link, {"a": "1"})
    assert link.is_symlink() and (target / "a").read_text() == "1" and (target / "notes.txt").is_file()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="broken symbolic link"):
        with atomic_path(tmp_path / "dangling"):
            pytest.fail("refused before any work")


def test_a_mount_point_is_refused_before_any_work(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(output_folders.os.path, "ismount", lambda p: str(p) == str(out))
    with pytest.raises(OutputError, match="mount point"):
        with atomic_path(out):
            pytest.fail("refused before any work")


def test_leftovers_of_outputs_with_glob_characters_and_of_files_are_cleared(tmp_path):
    tag = f"{_dead_pid()}-{writer_tag().split('-', 1)[1]}"
    run = tmp_path / "run[1]"
    (tmp_path / f".run[1].{tag}-abc12345.tmp").mkdir()  # a killed write of the folder run[1]
    _write(run, {"a": "1"})
    capture = tmp_path / "capture.sigmf-data"
    (tmp_path / f".capture.sigmf-data.{tag}-abc12345.tmp").write_bytes(b"\0" * 1024)  # a killed file write
    with atomic_path(capture) as tmp:
        tmp.write_bytes(b"1")
    assert _names(tmp_path) == ["capture.sigmf-data", "run[1]"]


def test_rmtree_removes_the_folder_the_kernel_names(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "b")
    (tmp_path / "a" / "x").mkdir()  # what link/../x is
    (tmp_path / "x").mkdir()  # what link/../x would be as text
    monkeypatch.chdir(tmp_path)
    output_folders.rmtree("link/../x")
    assert not (tmp_path / "a" / "x").exists() and (tmp_path / "x").is_dir()


def test_a_failed_exchange_keeps_an_unreadable_record(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    write_json(out / "manifest.json", {"kind": "k"})
    (out / "notes.txt").write_text("keep")
    (out / OUTPUT_RECORD).write_text("{")

    def failing(a, b, flags):
        raise OSError(errno.EIO, "Input/output error", str(b))

    monkeypatch.setattr(output_folders, "_renameat2", failing)
    with pytest.raises(OutputError):
        _write(out, {"manifest.json": json.dumps({"kind": "k"})})
    monkeypatch.undo()
    assert (out / OUTPUT_RECORD).read_text() == "{"
    with pytest.raises(OutputKeptError):  # still unreadable: everything stays the user's
        _write(out, {"manifest.json": json.dumps({"kind": "k"})})
    assert (out / "notes.txt").read_text() == "keep"


def test_a_folder_written_with_a_user_file_kept_aside_is_recorded(tmp_path):
    from radiofm.io import recording_writes

    out = tmp_path / "p"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "a").write_text("the user's")
    with recording_writes(out) as written:
        with pytest.raises(OutputKeptError):
            _write(out / "sub", {"a": "new"})
    assert written == {"sub"}


def test_remove_written_takes_the_cache_radiofm_kept_beside_a_data_set_it_wrote(tmp_path):
    """``--force`` kept data/ism because its .radiofm-cache (written by radiofm, outside the data set's record)
    counted as a user's file; data/ was then never recorded again, and later --force runs left it behind."""
    data = tmp_path / "data" / "ism"
    data.mkdir(parents=True)
    (data / "rec.sigmf-meta").write_text("{}")
    output_folders.write_record(data, ["rec.sigmf-meta"])
    (data / ".radiofm-cache" / "spectrograms-x").mkdir(parents=True)
    (data / ".radiofm-cache" / "spectrograms-x" / "shard_00000.npy").write_bytes(b"x")
    output_folders.remove_written(tmp_path / "data")
    assert not (tmp_path / "data").exists()
    data.mkdir(parents=True)  # a user's data set (no record): its cache and files stay
    (data / "mine.sigmf-meta").write_text("{}")
    (data / ".radiofm-cache").mkdir()
    output_folders.write_record(tmp_path / "data", [])
    output_folders.remove_written(tmp_path / "data")
    assert (data / "mine.sigmf-meta").exists() and (data / ".radiofm-cache").is_dir()
