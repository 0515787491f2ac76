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
