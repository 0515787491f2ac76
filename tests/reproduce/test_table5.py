import json

from radiofm.cli.main import main
from radiofm.reproduce import table5


def test_table5_test_preset_end_to_end_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(table5.PRESETS, "cpu", table5.PRESETS["test"])
    out = tmp_path / "t5"
    assert main(["reproduce", "table5", "--preset", "cpu", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    row = report["mean_class_accuracy"]["vit-tiny"]
    assert set(row) == {"0.75", "scratch"} and all(0.0 <= v <= 1.0 for v in row.values())
    mix = report["mean_class_accuracy"]["vit-tiny, mix readout"]  # second readout: its own row, no scratch
    assert 0.0 <= mix["0.75"] <= 1.0 and mix["scratch"] is None
    mix_run = json.loads((out / "runs" / "vit-tiny-seg-0.75-mix" / "config.json").read_text())
    assert mix_run["config"]["readout"] == "mix"
    md = (out / "table5.md").read_text()
    assert "Paper B (Table V)" in md and "| vit-m | 97.9 |" in md and "| vit-tiny |" in md
    assert "| vit-tiny, mix readout |" in md and "—" in md
    capsys.readouterr()
    assert main(["reproduce", "table5", "--preset", "cpu", "--out", str(out)]) == 0  # resumes: all skipped
    assert capsys.readouterr().out.count("(done, skipped)") == len(table5.pipeline(table5.PRESETS["test"]))


def test_pipeline_covers_every_size_and_ratio():
    steps = table5.pipeline(table5.PRESETS["paper"])
    names = [s.name for s in steps]
    for model in ("vit-s", "vit-m", "vit-l"):
        assert f"segment {model} scratch" in names
        for r in ("0.70", "0.75", "0.80"):
            assert f"pretrain {model} mask {r}" in names and f"segment {model} mask {r}" in names
