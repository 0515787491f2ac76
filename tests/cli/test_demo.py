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

    # one backbone, another head: the sensing linear probe on the demo's frozen pretrained encoder
    sensing = json.loads((out / "sensing" / "config.json").read_text())
    assert sensing["kind"] == "sensing" and sensing["extra"]["finetune"]["mode"] == "frozen"
    probe = next(s for s in summary["steps"] if s["name"].startswith("sensing"))
    assert 0.0 <= probe["accuracy"] <= 1.0 and probe["chance"] == round(1 / 6, 4) and probe["test_files"] == 6
    assert not (out / "sensing-data").exists()  # the CSI files are deleted once scored
    # "detected" is what annotate found, not the capture's true carriers that its output keeps beside them
    shown = next(s for s in summary["steps"] if s["name"] == "annotate a capture")
    meta = json.loads((out / "annotated" / "showcase.sigmf-meta").read_text())
    found = [a["core:label"] for a in meta["annotations"] if a.get("core:generator", "").endswith(" annotate")]
    assert sorted(shown["detected"].split(",")) == sorted(found or ["none"])

    # a second run skips finished steps
    assert main(["demo", "--preset", "quick", "--out", str(out)]) == 0
    assert text.count("skipped") == 0 and capsys.readouterr().out.count("(done, skipped)") == len(PIPELINE)
