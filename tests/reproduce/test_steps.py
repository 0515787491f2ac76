"""Resumable pipelines (radiofm.reproduce.steps): --force redoes what the pipeline wrote and keeps a user's files."""

import json

import pytest

from radiofm.errors import OutputError
from radiofm.io import OUTPUT_RECORD, add_written, atomic_path, write_json, written_entries
from radiofm.reproduce.steps import Step, pipeline_folder, prepare_folder, run_steps


def _pipeline(out, calls, *, force=False, settings=3):
    def first(folder, settings, log):
        calls.append("first")
        write_json(folder / "first" / "result.json", {"n": settings})
        return {"n": settings}

    def second(folder, settings, log):
        calls.append("second")
        (folder / "second.txt").write_text("two")
        return {}

    with pipeline_folder(out, force=force) as out:
        steps = run_steps([Step("first", "first/result.json", first), Step("second", "second.txt", second)], out,
                          settings, label="t")  # fmt: skip
        write_json(out / "summary.json", steps)
    return out


def test_force_redoes_the_pipeline_and_keeps_a_users_files(tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    calls = []
    _pipeline(out, calls)
    assert calls == ["first", "second"]
    assert written_entries(out) == {".steps", "first", "second.txt", "summary.json"}
    calls = []
    _pipeline(out, calls)  # a rerun resumes: every step is done
    assert calls == []
    _pipeline(out, calls, force=True)  # --force: both steps again, the user's notes untouched
    assert calls == ["first", "second"]
    assert (out / "notes.txt").read_text() == "keep"
    assert json.loads((out / "summary.json").read_text())[0]["n"] == 3


def test_force_removes_the_entries_a_pipeline_wrote_and_nothing_else(tmp_path):
    out = tmp_path / "p"
    _pipeline(out, [])
    (out / "notes.txt").write_text("keep")
    prepare_folder(out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_force_never_reaches_outside_the_folder(tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (tmp_path / "victim").mkdir()
    (tmp_path / "abs.txt").write_text("keep")
    (out / "notes.txt").write_text("keep")
    (out / ".steps").mkdir()
    record = {"entries": ["../victim", str(tmp_path / "abs.txt"), "", ".", "..", ".steps"]}
    (out / OUTPUT_RECORD).write_text(json.dumps(record))
    prepare_folder(out, force=True)
    assert (tmp_path / "victim").is_dir() and (tmp_path / "abs.txt").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_force_refuses_a_record_it_cannot_read(tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (out / ".steps").mkdir()
    (out / "notes.txt").write_text("keep")
    (out / OUTPUT_RECORD).write_text('{"entries": [".steps",]}')
    with pytest.raises(OutputError, match="cannot be read"):
        prepare_folder(out, force=True)
    assert sorted(p.name for p in out.iterdir()) == [".radiofm-output.json", ".steps", "notes.txt"]


def test_force_keeps_a_users_files_inside_an_output_of_the_pipeline(tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    with atomic_path(out / "run") as tmp:  # a run folder, written whole with a record of its own
        tmp.mkdir()
        (tmp / "model.safetensors").write_text("w")
    add_written(out, ["run", ".steps"])
    (out / "run" / "notes.md").write_text("keep")
    with atomic_path(out / "run" / "eval") as tmp:  # an evaluate --out inside it
        tmp.mkdir()
        (tmp / "report.json").write_text("{}")
    prepare_folder(out, force=True)
    assert sorted(p.name for p in (out / "run").iterdir()) == ["eval", "notes.md"]


def test_force_refuses_to_remove_the_current_folder(tmp_path, monkeypatch):
    out = tmp_path / "p"
    _pipeline(out, [])
    monkeypatch.chdir(out / "first")
    with pytest.raises(OutputError, match="current folder"):
        prepare_folder(out, force=True)
    assert (out / "first" / "result.json").is_file()


def test_a_steps_output_is_recorded_before_it_runs(tmp_path):
    seen = []

    def step(folder, settings, log):
        seen.append(written_entries(folder))  # what a kill at this moment would leave recorded
        (folder / "run").mkdir()
        return {}

    with pipeline_folder(tmp_path / "p", force=False) as out:
        run_steps([Step("s", "run/config.json", step)], out, None, label="t")
    assert "run" in seen[0]


def test_a_file_a_user_saves_during_a_run_is_not_the_pipelines(tmp_path):
    out = tmp_path / "p"

    def step(folder, settings, log):
        (folder / "my_notes.md").write_text("the user's, saved while the step ran")
        with atomic_path(folder / "data") as tmp:  # a folder written whole, file by file
            tmp.mkdir()
            write_json(tmp / "a.json", {})
        write_json(folder / "run" / "result.json", {})
        return {}

    with pipeline_folder(out, force=False) as out:
        run_steps([Step("s", "run/result.json", step)], out, None, label="t")
        write_json(out / "summary.json", {})
    assert written_entries(out) == {".steps", "data", "run", "summary.json"}  # no temporary names
    prepare_folder(out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["my_notes.md"]


def test_force_keeps_a_users_folder_that_a_step_writes_under(tmp_path):
    out = tmp_path / "p"
    (out / "data" / "my_capture").mkdir(parents=True)  # the user's, before the first run
    (out / "data" / "my_capture" / "c.sigmf-meta").write_text("{}")

    def step(folder, settings, log):
        write_json(folder / "data" / "ism" / "corpus.json", {})
        with atomic_path(folder / "runs" / "pretrain") as tmp:  # a run folder, with a record of its own
            tmp.mkdir()
            (tmp / "config.json").write_text("{}")
        return {}

    with pipeline_folder(out, force=False) as out:
        run_steps([Step("s", "data/ism/corpus.json", step, writes=("runs",))], out, None, label="t")
    assert written_entries(out) == {".steps", "runs"}  # data/ was the user's first
    (out / "runs" / "pretrain" / "my_notes.md").write_text("keep")
    prepare_folder(out, force=True)
    assert (out / "data" / "my_capture" / "c.sigmf-meta").is_file()
    assert sorted(p.name for p in (out / "runs" / "pretrain").iterdir()) == ["my_notes.md"]


def test_steps_done_with_other_settings_are_not_reused(tmp_path):
    """A rerun with another seed or size reused every step and labelled the old numbers with the new settings."""
    out = tmp_path / "p"
    calls = []
    _pipeline(out, calls, settings={"seed": 0, "frames": 4, "workers": 1})
    with pytest.raises(OutputError, match=r"other settings \(seed: 0 there, 7 now\); rerun with --force"):
        _pipeline(out, calls, settings={"seed": 7, "frames": 4, "workers": 1})
    assert calls == ["first", "second"]
    _pipeline(out, calls, settings={"seed": 0, "frames": 4, "workers": 2})  # workers change no result: resumed
    assert calls == ["first", "second"]
    _pipeline(out, calls, force=True, settings={"seed": 7, "frames": 4, "workers": 1})  # --force starts again
    assert calls == ["first", "second"] * 2
    assert json.loads((out / ".steps" / "_settings.json").read_text())["seed"] == 7
