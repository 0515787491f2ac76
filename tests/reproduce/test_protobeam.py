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
    full = report["rows"][-1]["tota"]["2"]  # the targets are at 2 shots, not at the first k (1 here)
    assert report["targets"]["shots"] == 2 and report["targets"]["full_tota_2shot"] == full
    md = (out / "table1.md").read_text()
    assert "| + prototype norm |" in md and "81.9 / 84.5" in md and "55.26 / 64.2" in md
    for name in ("accuracy_vs_shots.png", "pca_train_front_end.png", "pca_new_front_end.png", "aoa_error_vs_shots.png"):
        assert (out / name).stat().st_size > 1000
    capsys.readouterr()
    assert main(["reproduce", "protobeam", "--preset", "cpu", "--out", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().out.count("(done, skipped)") == len(report["steps_seconds"])
    # other settings into the same folder: refused, not the old numbers under the new settings
    assert main(["reproduce", "protobeam", "--preset", "cpu", "--out", str(out), "--seed", "3", "--no-progress"]) == 2
    assert "other settings (seed: 0 there, 3 now); rerun with --force" in capsys.readouterr().err


def test_protobeam_continues_a_killed_baseline_instead_of_reporting_it(tmp_path, monkeypatch):
    """The supervised baseline and ProtoAoA were skipped whenever their weights existed, so a run killed after its
    first checkpoint was reported as trained (after 44 of 3000 epochs, or 250 of 3000 episodes)."""
    import dataclasses

    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.synth.beams import BeamConfig
    from radiofm.train import loop

    s = dataclasses.replace(protobeam.PRESETS["test"], aoa=False, supervised_steps=200)
    data = tmp_path / "data"
    generate_beam_dataset(data, BeamConfig(**s.beam_config), seed=s.seed, aoa=False, progress=False)
    run, fes = tmp_path / "runs" / "supervised", ("tx-ant-0-rx-ant-0", ["tx-ant-1-rx-ant-0"])

    class Killed(Exception):
        pass

    real, calls = loop.train_one_epoch, []

    def killed_in_epoch_2(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real(*a, **k)

    monkeypatch.setattr(loop, "train_one_epoch", killed_in_epoch_2)
    with pytest.raises(Killed):
        protobeam._supervised(s, data, run, *fes, False)
    assert (run / "model.safetensors").exists()  # the first epoch's checkpoint
    monkeypatch.setattr(loop, "train_one_epoch", real)
    protobeam._supervised(s, data, run, *fes, False)  # the rerun trains on, to the settings' steps
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = json.loads((run / "config.json").read_text())["extra"]["run"]["train_config"]["epochs"]
    assert epochs > 1 and records[-1]["epoch"] == epochs


def test_seeds_sharing_their_episodes_do_not_narrow_the_interval():
    """Training seeds are evaluated on the same episodes: their means are correlated, and the mean of two equal
    reports has the interval of one (it was 1/sqrt 2 of it); other front ends' reports are independent."""
    from radiofm.reproduce.protobeam_report import _mean_reports

    rep = {"accuracy": {"2": 0.6}, "ci95": {"2": 0.02}}
    assert _mean_reports([rep, rep], same_episodes=True)["ci95"]["2"] == pytest.approx(0.02)
    assert _mean_reports([rep, rep])["ci95"]["2"] == pytest.approx(0.02 / 2**0.5)
    other = {"accuracy": {"2": 0.7}, "ci95": {"2": 0.04}}
    both = _mean_reports([rep, other], same_episodes=True)
    assert both["accuracy"]["2"] == pytest.approx(0.65) and both["ci95"]["2"] == pytest.approx(0.03)
