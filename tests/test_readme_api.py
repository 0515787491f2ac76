"""The README's "Python API" example runs as written (at its toy sizes), so it cannot rot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Python API section has no python code block"
    return match.group(1)


@pytest.mark.usefixtures("one_thread")
def test_readme_python_api_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_example(), str(README), "exec"), {"__name__": "readme_example"})  # noqa: S102
    for path in ("runs/mae/model.safetensors", "runs/seg/config.json", "seg-eval/segmentation.json",
                 "annotated/frame0.sigmf-meta", "annotated/frame0.png"):  # fmt: skip
        assert (tmp_path / path).is_file(), path
    assert json.loads((tmp_path / "runs/seg/config.json").read_text())["kind"] == "segmentation"
    assert "segmentation FineTuneModel" in capsys.readouterr().out
