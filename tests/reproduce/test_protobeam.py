import json

import pytest

from radiofm.cli.main import main
from radiofm.reproduce import protobeam

pytestmark = pytest.mark.usefixtures("one_thread")


def test_protobeam_test_preset_end_to_end_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(protobeam.PRESETS, "cpu", protobeam.PRESETS["test"])
    out = tmp_path / "pb"
    assert main(["reproduce", "protobeam", "--preset", "cpu", "--out", str(out), "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [r["setup"] for r in report["rows"]] == list(protobeam.SETUPS)
    for row in report["rows"]:
        assert set(row["ttsa"]) == set(row["tota"]) == {"1", "2"}
        assert all(0.0 <= v <= 1.0 for v in [*row["ttsa"].values(), *row["tota"].values()])
    base = report["baselines"]
    assert 0 <= base["supervised_cross_front_end"]["tota"] <= 1 and set(base["supervised_finetuned"]["tota"]) == {
        "1",
        "2",
    }
    assert report["aoa"]["unseen_angles"] and "tx-ant-0-rx-ant-0" in report["aoa"]["protoaoa"]
    assert len(report["targets"]["tota_raised_by_each_improvement"]) == 3
    md = (out / "table1.md").read_text()
    assert "| + prototype norm |" in md and "81.9 / 84.5" in md and "55.26 / 64.2" in md
    for name in ("accuracy_vs_shots.png", "pca_train_front_end.png", "pca_new_front_end.png", "aoa_error_vs_shots.png"):
        assert (out / name).stat().st_size > 1000
    capsys.readouterr()
    assert main(["reproduce", "protobeam", "--preset", "cpu", "--out", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().out.count("(done, skipped)") == len(report["steps_seconds"])
