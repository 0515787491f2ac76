"""``radiofm reproduce paper-a`` end to end at toy sizes (the cpu preset's sizes monkeypatched down)."""

from __future__ import annotations

import json

import pytest

from radiofm.cli.main import main
from radiofm.reproduce import paper_a

TOY = paper_a.PaperASettings(
    ism_recordings=10,
    ism_kwargs={"sample_rate_choices_hz": (1e6,), "duration_s_range": (0.04, 0.04)},
    nrlte_train=3,
    nrlte_test=1,
    pretrain_epochs=1,
    pretrain_batch=8,
    forecast_epochs=1,
    seg_epochs=1,
    seg_batch=2,
    eval_max_windows=16,
    workers=1,
    device="cpu",
)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


def test_paper_a_runs_end_to_end_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(paper_a.PRESETS, "cpu", TOY)
    out = tmp_path / "pa"
    assert main(["reproduce", "paper-a", "--preset", "cpu", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    fc = report["forecasting"]
    assert fc["horizons"] == [1, 2, 3, 4] and len(fc["freq_blocks"]) * len(fc["time_blocks"]) >= 16
    assert set(fc) >= {"fine-tuned", "scratch", "persistence"}
    assert len(fc["fine-tuned"]["grid_mean_detection_rate"]) == 4
    seg = report["segmentation"]
    assert set(seg) == {"fine-tuned", "scratch"}
    assert set(seg["scratch"]["per_class_accuracy"]) == {"noise", "NR", "LTE"}
    assert [s["name"] for s in report["steps"]] == [s.name for s in paper_a.PIPELINE]
    for name in ("heatmaps.png", "segmentation_matrices.png", "paper_a.md"):
        assert (out / name).stat().st_size > 500, name
    md = (out / "paper_a.md").read_text()
    assert "| result | paper A | ours | verdict |" in md and "slightly ahead" in md
    capsys.readouterr()

    assert main(["reproduce", "paper-a", "--preset", "cpu", "--out", str(out)]) == 0  # everything skipped
    assert capsys.readouterr().out.count("(done, skipped)") == len(paper_a.PIPELINE)


@pytest.mark.parametrize(
    ("ft4", "sc4", "verdict"),
    [
        (0.60, 0.50, "differs: fine-tuned ahead by 0.100"),
        (0.50, 0.52, "agrees: scratch ahead by 0.020"),
        (0.50, 0.60, "differs: scratch ahead by 0.100 (more than slightly)"),
        (0.500, 0.502, "tie: difference 0.002, below 0.005"),
    ],
)
def test_forecasting_verdict_names_who_is_ahead(ft4, sc4, verdict):
    """The paper found scratch slightly ahead: a fine-tuned lead is a difference, never an agreement (it read
    "agrees: scratch ahead by -0.100")."""
    from radiofm.reproduce.paper_a_report import _verdicts

    seg = {
        "per_class_accuracy": {"noise": 0.9, "NR": 0.5, "LTE": 0.7},
        "mean_class_accuracy": 0.7,
        "binary_per_class_accuracy": {"signal": 0.8},
    }
    rates = {"fine-tuned": ft4, "scratch": sc4, "persistence": 0.1}
    fc = {"horizons": [1, 2, 3, 4], **{k: {"grid_mean_detection_rate": [0, 0, 0, v]} for k, v in rates.items()}}
    r = {"forecasting": fc, "segmentation": {"fine-tuned": seg, "scratch": seg}}
    assert _verdicts(r)[0][3] == verdict
