import json

import numpy as np
import scipy.io

from radiofm.cli.main import main
from radiofm.reproduce import table4


def test_table4_quick_preset_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "t4"
    assert main(["reproduce", "table4", "--preset", "quick", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    row = report["accuracy"]["vit-tiny"]
    assert set(row) == {"0.75", "scratch"} and all(0.0 <= v <= 1.0 for v in row.values())
    cm = report["confusion"]["vit-tiny scratch"]
    assert len(cm) == 6 and sum(map(sum, cm)) == 6  # one test file per class
    assert set(report["run_walk"]["vit-tiny mask 0.75"]) == {"run_as_walk", "walk_as_run"}
    run = json.loads((out / "runs" / "vit-tiny-sensing-0.75" / "config.json").read_text())
    assert run["config"]["backbone"]["in_chans"] == 3 and run["extra"]["finetune"]["mode"] == "frozen"
    md = (out / "table4.md").read_text()
    assert "| vit-m | 92.0 | 93.9 | 85.9 | 98.9 |" in md and "| vit-tiny (ours) |" in md and "run→walk" in md
    assert (out / "fig7.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["reproduce", "table4", "--preset", "quick", "--out", str(out)]) == 0  # resumes: all skipped
    assert capsys.readouterr().out.count("(done, skipped)") == len(table4.pipeline(table4.PRESETS["quick"]))


def test_pipeline_covers_every_size_and_ratio():
    names = [s.name for s in table4.pipeline(table4.PRESETS["paper"])]
    assert table4.PRESETS["paper"].image_size == (224, 224)
    for model in ("vit-s", "vit-m", "vit-l"):
        assert f"sensing {model} scratch" in names
        for r in ("0.70", "0.75", "0.80"):
            assert f"pretrain {model} mask {r}" in names and f"sensing {model} mask {r}" in names


def test_run_walk_fractions():
    cm = [[0] * 6 for _ in range(6)]
    cm[4][4], cm[4][5], cm[5][5] = 3, 1, 2  # run: 3 right, 1 called walk; walk: 2 right
    assert table4.run_walk(cm) == {"run_as_walk": 0.25, "walk_as_run": 0.0}


def test_a_bad_ntufi_folder_fails_before_any_work(tmp_path, capsys):
    out = tmp_path / "t4"
    assert main(["reproduce", "table4", "--preset", "quick", "--out", str(out), "--ntufi", str(tmp_path / "no")]) == 2
    assert capsys.readouterr().err.startswith("radiofm: error: ") and not out.exists()


def test_a_bad_file_in_the_ntufi_folder_fails_before_any_work(tmp_path, capsys):
    from radiofm.data.ntufi import write_ntufi

    root = write_ntufi(tmp_path / "har", 1, 1, seed=0, progress=False)
    bad = root / "train_amp" / "run" / "run_0000.mat"
    scipy.io.savemat(bad, {"CSIphase": np.ones((342, 2000))})
    out = tmp_path / "t4"
    assert main(["reproduce", "table4", "--preset", "quick", "--out", str(out), "--ntufi", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiofm: error: ") and str(bad) in err and "CSIamp" in err and err.count("\n") == 1
    assert not out.exists()
