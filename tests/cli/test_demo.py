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
    # both segmentation runs (pretrained and its scratch baseline) train with the same NR-vs-LTE balanced loss
    for run in ("segmentation", "segmentation-scratch"):
        weights = json.loads((out / run / "config.json").read_text())["extra"]["finetune"]["class_weights"]
        assert len(weights) == 3 and weights[0] == 1.0, (run, weights)

    # a second run skips finished steps
    assert main(["demo", "--preset", "quick", "--out", str(out)]) == 0
    assert text.count("skipped") == 0 and capsys.readouterr().out.count("(done, skipped)") == len(PIPELINE)
