import json

from radiofm.cli.main import main
from radiofm.reproduce.demo import PIPELINE


def test_quick_demo_runs_every_step_and_resumes(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--preset", "quick", "--out", str(out)]) == 0
    summary = json.loads((out / "demo_summary.json").read_text())
    assert [s["name"] for s in summary["steps"]] == [s.name for s in PIPELINE]
    for step in PIPELINE:
        assert (out / step.output).exists(), step.output
    text = capsys.readouterr().out
    assert "radiofm demo summary" in text and "gallery.png" in text

    # a second run skips finished steps
    assert main(["demo", "--preset", "quick", "--out", str(out)]) == 0
    assert text.count("skipped") == 0 and capsys.readouterr().out.count("(done, skipped)") == len(PIPELINE)
