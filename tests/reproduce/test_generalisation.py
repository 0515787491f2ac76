"""``radiofm reproduce generalisation``: leave-one-regime-out folds, quick preset end to end, bad flags."""

import json

import pytest

from radiofm.cli.main import main
from radiofm.reproduce import generalisation as gen


def test_quick_preset_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "g"
    argv = ["reproduce", "generalisation", "--preset", "quick", "--out", str(out), "--held-out", "full"]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    (fold,) = report["folds"]
    assert fold["test_regime"] == "full" and fold["train_regimes"] == ["random", "matlab", "idle", "gated"]
    train = json.loads((out / "data" / "loro-full" / "train" / "manifest.json").read_text())
    assert "full" not in train["traffic"]["mix"] and "full" not in str(train["traffic"]["gated_inside"])
    for generator in ("main", "alt"):
        row = fold["rows"][generator]
        assert 0.0 <= row["pixel_mean_class_accuracy"] <= 1.0 and row["carriers"] >= 1
        assert row["carriers"] == row["carriers_NR"] + row["carriers_LTE"]
        ev = json.loads((out / "eval" / "full" / generator / "segmentation.json").read_text())
        assert ev["generator"] == generator and set(ev["per_regime"]) == {"full"}
        test = json.loads((out / "data" / "loro-full" / f"test-{generator}" / "manifest.json").read_text())
        assert {c["traffic"] for f in test["frames"] for c in f["carriers"]} == {"full"}
    md = (out / "generalisation.md").read_text()
    assert "| random, matlab, idle, gated | full | main |" in md and "| full | alt |" in md
    capsys.readouterr()
    assert main(argv) == 0  # resumes: every step skipped
    assert capsys.readouterr().out.count("(done, skipped)") == 5


def test_cpu_preset_holds_out_every_regime():
    steps = [s.name for s in gen.pipeline(gen.PRESETS["cpu"])]
    for r in ("random", "matlab", "full", "idle", "gated"):
        assert f"train without {r}" in steps and f"test on {r}" in steps
        assert r not in gen.train_regimes(r) and len(gen.train_regimes(r)) == 4


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["reproduce", "generalisation", "--preset", "quick", "--out", str(out), "--held-out", "busy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "radiofm: error: --held-out: unknown traffic regime 'busy'; valid: random, matlab, full, idle, gated"
    ]
    assert not out.exists()
    with pytest.raises(SystemExit) as exc:  # argparse: this experiment has no paper preset
        main(["reproduce", "generalisation", "--preset", "paper", "--out", str(out)])
    assert exc.value.code == 2 and "invalid choice: 'paper'" in capsys.readouterr().err
    assert not out.exists()
