"""`radiofm generate|finetune|evaluate sensing|positioning` end to end on tiny generated sets; bad input."""

import json

import numpy as np
import pytest
import scipy.io
import torch

from radiofm.cli.main import main
from radiofm.models import create_model, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(
    img_size=(32, 32), embed_dim=32, depth=2, num_heads=2, decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One NTU-Fi file per class and split (MATLAB v7.3), 40/10 positioning UEs, a tiny MAE checkpoint."""
    root = tmp_path_factory.mktemp("csi")
    argv = ["generate", "sensing", "--out", str(root / "ntufi"), "--train-per-class", "2", "--test-per-class", "1"]
    assert main([*argv, "--mat-version", "7.3", "--no-progress"]) == 0
    argv = ["generate", "positioning", "--out", str(root / "pos"), "--train", "40", "--test", "10", "--no-progress"]
    assert main(argv) == 0
    torch.manual_seed(0)
    save_checkpoint(root / "mae", create_model("vit-tiny", **TINY), kind="mae", extra={"model_name": "vit-tiny"})
    return root


FAST = ["--epochs", "1", "--batch-size", "4", "--no-progress"]


@pytest.mark.parametrize("mode", ["frozen", "last-k", "lora", "full", "scratch"])
def test_sensing_every_mode_then_evaluate(world, tmp_path, capsys, mode):
    run, ev = tmp_path / "run", tmp_path / "eval"
    argv = ["finetune", "sensing", "--data", str(world / "ntufi"), "--init", str(world / "mae"), "--out", str(run)]
    assert main([*argv, "--mode", mode, "--k", "1", "--lora-rank", "2", "--label-fraction", "0.5", *FAST]) == 0
    out = capsys.readouterr().out
    assert f"finetune sensing [{mode}]:" in out and f"fine-tuned sensing [{mode}] on" in out
    info = json.loads((run / "config.json").read_text())
    assert info["kind"] == "sensing" and info["extra"]["finetune"]["label_fraction"] == 0.5
    assert main(["evaluate", "sensing", "--model", str(run), "--data", str(world / "ntufi"), "--out", str(ev)]) == 0
    report = json.loads((ev / "sensing.json").read_text())
    assert report["samples"] == 6 and report["mode"] == mode and (ev / "confusion.png").exists()
    assert "accuracy" in capsys.readouterr().out


def test_positioning_frozen_and_last2_then_evaluate(world, tmp_path, capsys):
    for mode in ("frozen", "last-k"):
        run, ev = tmp_path / mode, tmp_path / f"eval-{mode}"
        argv = ["finetune", "positioning", "--data", str(world / "pos" / "train.mat"), "--init", str(world / "mae")]
        assert main([*argv, "--out", str(run), "--mode", mode, "--k", "2", "--head-hidden", "16", *FAST]) == 0
        assert (
            main(["evaluate", "positioning", "--model", str(run), "--data", str(world / "pos"), "--out", str(ev)]) == 0
        )
        report = json.loads((ev / "positioning.json").read_text())
        assert report["samples"] == 10 and report["mean_error_m"] > 0
        assert "90th percentile" in capsys.readouterr().out


def _one_line_error(capsys, argv, out_path):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("radiofm: error: ")
    assert not out_path.exists()
    return err[0]


def test_bad_input_is_one_line_and_exit_2_with_no_output(world, tmp_path, capsys):
    init = ["--init", str(world / "mae")]
    out = tmp_path / "run"
    for frac in ("0", "1.5", "-0.1"):
        argv = ["finetune", "sensing", "--data", str(world / "ntufi"), *init, "--out", str(out), "--label-fraction"]
        assert "--label-fraction must be in (0, 1]" in _one_line_error(capsys, [*argv, frac, *FAST], out)
    # a .mat with the wrong key, then one with the wrong shape
    bad = tmp_path / "ntufi"
    (bad / "train_amp" / "walk").mkdir(parents=True)
    (bad / "test_amp" / "walk").mkdir(parents=True)
    scipy.io.savemat(bad / "test_amp" / "walk" / "t.mat", {"CSIamp": np.zeros((342, 2000), np.float32)})
    scipy.io.savemat(bad / "train_amp" / "walk" / "w.mat", {"CSI": np.zeros((342, 2000), np.float32)})
    argv = ["finetune", "sensing", "--data", str(bad), *init, "--out", str(out), *FAST]
    assert "no 'CSIamp' variable (found: CSI)" in _one_line_error(capsys, argv, out)
    scipy.io.savemat(bad / "train_amp" / "walk" / "w.mat", {"CSIamp": np.zeros((300, 2000), np.float32)})
    assert "has shape (300, 2000)" in _one_line_error(capsys, argv, out)
    # a class in test but not in train
    scipy.io.savemat(bad / "train_amp" / "walk" / "w.mat", {"CSIamp": np.zeros((342, 2000), np.float32)})
    (bad / "test_amp" / "run").mkdir()
    scipy.io.savemat(bad / "test_amp" / "run" / "r.mat", {"CSIamp": np.zeros((342, 2000), np.float32)})
    assert "run in test_amp/ but not in train_amp/" in _one_line_error(capsys, argv, out)
    # an HDF5 file that is not the positioning layout
    import h5py

    with h5py.File(tmp_path / "other.mat", "w") as f:
        f["labels"] = np.zeros((5, 3))
    argv = ["finetune", "positioning", "--data", str(tmp_path / "other.mat"), *init, "--out", str(out), *FAST]
    assert "no 'features' dataset" in _one_line_error(capsys, argv, out)
    ev = tmp_path / "ev"
    argv = ["evaluate", "positioning", "--model", str(world / "mae"), "--data", str(world / "pos"), "--out", str(ev)]
    assert "checkpoint" in _one_line_error(capsys, argv, ev)


def test_generate_positioning_with_phase_channels(tmp_path, capsys):
    import h5py

    argv = ["generate", "positioning", "--out", str(tmp_path / "pos"), "--train", "6", "--test", "3", "--phase"]
    assert main([*argv, "--no-progress"]) == 0
    assert "(magnitude and phase)" in capsys.readouterr().out
    with h5py.File(tmp_path / "pos" / "train.mat", "r") as f:
        features = f["features"][()]
    assert features.shape == (6, 8, 16, 193)  # 4 magnitude channels, then 4 phase channels
    assert features[:, :4].min() >= 0 and features[:, 4:].min() < 0 <= features[:, 4:].max() <= 1
    scene = json.loads((tmp_path / "pos" / "scene.json").read_text())
    assert scene["scene"]["phase"] is True and "phase" in scene["features"]
