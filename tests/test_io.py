"""radiofm.io: an output folder replaces what radiofm wrote before and nothing else."""

import json

import pytest

from radiofm.errors import OutputError
from radiofm.io import (
    OUTPUT_RECORD,
    add_written,
    atomic_path,
    check_destination,
    remove_orphans,
    write_json,
    written_entries,
)
from radiofm.reproduce.steps import prepare_folder


def _write(folder, files: dict):
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        for name, text in files.items():
            (tmp / name).write_text(text)


def _listing(folder):
    return {p.name: p.read_text() for p in folder.iterdir() if p.is_file() and p.name != OUTPUT_RECORD}


def test_a_folder_written_over_a_users_folder_keeps_the_users_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    (out / "notes").mkdir()
    (out / "notes" / "a.txt").write_text("mine")
    _write(out, {"manifest.json": "{}", "x.bin": "new"})
    assert _listing(out) == {"precious.txt": "keep", "manifest.json": "{}", "x.bin": "new"}
    assert (out / "notes" / "a.txt").read_text() == "mine"
    assert written_entries(out) == {"manifest.json", "x.bin"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary or set-aside folder left


def test_a_second_write_removes_what_the_first_wrote_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    _write(out, {"a": "1", "b": "1"})
    (out / "mine.txt").write_text("keep")
    _write(out, {"a": "2"})
    assert _listing(out) == {"a": "2", "mine.txt": "keep"}  # b was radiofm's: gone; mine.txt stays
    assert written_entries(out) == {"a"}


def test_a_users_file_with_an_outputs_name_is_kept_aside_with_the_old_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("user")
    (out / "mine.txt").write_text("keep")
    with pytest.raises(OutputError, match="report.json") as err:
        _write(out, {"report.json": "radiofm"})
    (kept,) = tmp_path.glob("out.kept-*")
    assert str(kept) in str(err.value) and "\n" not in str(err.value)
    assert _listing(out) == {"report.json": "radiofm", "mine.txt": "keep"}  # the output is in place all the same
    assert _listing(kept) == {"report.json": "user"}


def test_an_output_written_before_records_is_replaced_whole(tmp_path):
    """A folder without a record holding a JSON file of the new output's kind is an older radiofm output of the
    same kind: its stale files go (else a smaller regenerated dataset would keep the old recordings)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": "k"}))
    (out / "stale.bin").write_text("old")
    _write(out, {"manifest.json": json.dumps({"kind": "k"})})
    assert set(_listing(out)) == {"manifest.json"}
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / "manifest.json").write_text("[1, 2]")  # JSON without a kind: a user's folder, nothing is deleted
    (out2 / "mine.bin").write_text("keep")
    with pytest.raises(OutputError, match="kept whole"):
        _write(out2, {"manifest.json": json.dumps({"kind": "k"})})
    assert set(_listing(out2)) == {"manifest.json", "mine.bin"}
    (kept,) = tmp_path.glob("out2.kept-*")
    assert _listing(kept) == {"manifest.json": "[1, 2]"}


def test_a_nested_output_inside_a_run_folder_survives_the_next_save(tmp_path):
    run = tmp_path / "run"
    _write(run, {"config.json": "{}"})
    write_json(run / "eval" / "report.json", {"accuracy": 1.0})  # `evaluate --out RUN/eval`
    _write(run, {"config.json": "{}", "model.safetensors": "w"})
    assert json.loads((run / "eval" / "report.json").read_text()) == {"accuracy": 1.0}


def test_remove_orphans_puts_a_users_files_back_after_a_kill_mid_swap(tmp_path):
    out = tmp_path / "out"
    _write(out, {"a": "new"})
    # killed after the exchange, before the user's file was moved: the old folder (record: radiofm wrote b)
    old = tmp_path / ".out.123-abcd-a1b2c3d4.tmp"
    old.mkdir()
    (old / OUTPUT_RECORD).write_text(json.dumps({"entries": ["b"], "replaced": True}))
    (old / "b").write_text("old output")
    (old / "mine.txt").write_text("keep")
    # killed mid-write: a half-written folder has no record yet; nothing of it is carried
    half = tmp_path / ".out.456-abcd-e5f6g7h8.tmp"
    half.mkdir()
    (half / "partial.bin").write_text("x")
    # killed mid-write after a nested write gave it a record of its own (a run folder's checkpoint): not an old
    # folder either, so its other files are not taken for a user's
    nested = tmp_path / ".out.789-abcd-i9j0k1l2.tmp"
    nested.mkdir()
    (nested / OUTPUT_RECORD).write_text(json.dumps({"entries": ["config.json"]}))
    (nested / "config.json").write_text("{}")
    (nested / "metrics.jsonl").write_text("half")
    remove_orphans(out)
    assert _listing(out) == {"a": "new", "mine.txt": "keep"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_remove_orphans_restores_a_folder_set_aside_before_the_new_one_was_put_in(tmp_path):
    aside = tmp_path / ".out.old-99"
    aside.mkdir()
    (aside / OUTPUT_RECORD).write_text(json.dumps({"entries": [], "replaced": True}))
    (aside / "mine.txt").write_text("keep")
    remove_orphans(tmp_path / "out")
    assert _listing(tmp_path / "out") == {"mine.txt": "keep"}


def test_the_current_folder_is_never_replaced(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    (here / "mine.txt").write_text("keep")
    monkeypatch.chdir(here)
    for target in (".", str(here), str(tmp_path)):
        with pytest.raises(OutputError, match="current folder"):
            check_destination(target)
        check_destination(target, kind="into")  # a folder written into is fine
    with pytest.raises(OutputError, match="current folder"):
        _write(here, {"a": "1"})
    assert sorted(p.name for p in here.iterdir()) == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


def test_force_removes_what_a_pipeline_wrote_and_keeps_the_users_files(tmp_path):
    out = prepare_folder(tmp_path / "p", force=False)
    (out / "notes.txt").write_text("keep")
    (out / "step1").mkdir()
    (out / ".steps").mkdir()
    add_written(out, {"step1", ".steps"})
    add_written(out, {"step2.json"})
    (out / "step2.json").write_text("{}")
    assert written_entries(out) == {"step1", ".steps", "step2.json"}
    prepare_folder(out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    # a pipeline folder from before the record (.steps, no record) is removed whole, as before
    legacy = tmp_path / "legacy"
    (legacy / ".steps").mkdir(parents=True)
    (legacy / "step1").mkdir()
    prepare_folder(legacy, force=True)
    assert list(legacy.iterdir()) == []


def test_a_users_file_that_cannot_be_moved_is_kept_aside_and_named(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("radiofm.output_folders._rename_new", cross_device)
    with pytest.raises(OutputError, match="could not stay") as err:
        _write(out, {"a": "new"})
    (kept,) = tmp_path.glob("out.kept-*")
    assert str(kept) in str(err.value) and "\n" not in str(err.value)
    assert _listing(out) == {"a": "new"} and _listing(kept) == {"mine.txt": "keep"}


def test_an_interrupt_while_carrying_leaves_the_users_files_in_the_new_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("m1", "m2", "m3"):
        (out / name).write_text("keep")
    from radiofm import output_folders

    real, calls = output_folders._rename_new, []

    def interrupted_after_one(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(output_folders, "_rename_new", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        _write(out, {"a": "new"})
    monkeypatch.setattr(output_folders, "_rename_new", real)
    assert _listing(out) == {"a": "new", "m1": "keep", "m2": "keep", "m3": "keep"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_write_clears_what_dead_writers_left_and_spares_live_ones(tmp_path):
    import subprocess
    import sys

    from radiofm.output_folders import writer_tag

    host = writer_tag().split("-", 1)[1]
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)  # a process that has ended
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "out"
        _write(out, {"a": "1"})
        # (names as atomic_path makes them: mkdtemp's 8 random characters after the writer tag)
        half = tmp_path / f".out.{dead}-{host}-abc12345.tmp"  # a killed write: no record yet
        half.mkdir()
        (half / "partial.bin").write_text("x")
        aside = tmp_path / f".out.{dead}-{host}-def12345.tmp"  # killed after the swap: the old folder, a user's file
        aside.mkdir()
        (aside / OUTPUT_RECORD).write_text(json.dumps({"entries": [], "replaced": True}))
        (aside / "mine.txt").write_text("keep")
        running = tmp_path / f".out.{live.pid}-{host}-ghi12345.tmp"  # another process writing right now
        running.mkdir()
        other_host = tmp_path / f".out.{dead}-{'0000' if host != '0000' else '0001'}-jkl12345.tmp"
        other_host.mkdir()
        other_output = tmp_path / f".out.x.{dead}-{host}-mno12345.tmp"  # a write of "out.x", not of "out"
        other_output.mkdir()
        _write(out, {"a": "2"})
        assert _listing(out) == {"a": "2", "mine.txt": "keep"}
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted(["out", running.name, other_host.name, other_output.name])
    finally:
        live.kill()
        live.wait()


def test_a_write_that_fails_before_the_swap_moves_nothing_into_the_old_folder(tmp_path):
    """A run folder's save nests a checkpoint write (with its own record) inside the folder being built; when the
    save then failed (disk full), the half-copied files the record does not list were taken for a user's and
    moved into the previous run folder."""
    out = tmp_path / "run"
    _write(out, {"config.json": "old", "metrics.jsonl": "old\n"})
    with pytest.raises(OSError), atomic_path(out) as tmp:
        _write(tmp, {"config.json": "new"})  # the nested write: tmp gets a record of its own
        (tmp / "partial.jsonl").write_text("half")
        raise OSError(28, "No space left on device")
    assert _listing(out) == {"config.json": "old", "metrics.jsonl": "old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_remove_orphans_leaves_the_temporary_names_of_another_output_alone(tmp_path):
    """``.run.*.tmp`` also matched ``.run.v2.….tmp``: starting a run removed a live save of the run beside it."""
    for name in (".run.v2.123-abcd-k2j4h5g6.tmp", ".run.v2.old-7", ".run.x.k2j4h5g6.tmp"):
        (tmp_path / name).mkdir()
    for name in (".run.123-abcd-k2j4h5g6.tmp", ".run.old-7-abcd", ".run.q8w7e6r5.tmp"):  # its own: removed
        (tmp_path / name).mkdir()
    remove_orphans(tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".run.v2.123-abcd-k2j4h5g6.tmp",
        ".run.v2.old-7",
        ".run.x.k2j4h5g6.tmp",
    ]
