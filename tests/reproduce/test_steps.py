"""Resumable pipelines (radiofm.reproduce.steps): --force redoes what the pipeline wrote and keeps a user's files."""

import json

from radiofm.io import write_json, written_entries
from radiofm.reproduce.steps import Step, pipeline_folder, prepare_folder, run_steps


def _pipeline(out, calls, *, force=False):
    def first(folder, settings, log):
        calls.append("first")
        write_json(folder / "first" / "result.json", {"n": settings})
        return {"n": settings}

    def second(folder, settings, log):
        calls.append("second")
        (folder / "second.txt").write_text("two")
        return {}

    with pipeline_folder(out, force=force) as out:
        steps = run_steps([Step("first", "first/result.json", first), Step("second", "second.txt", second)], out, 3,
                          label="t")  # fmt: skip
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
