"""Positioning task: the regression head overfits one batch, separate train/test files, errors, bad input."""

import dataclasses
import json

import h5py
import numpy as np
import pytest
import torch

from radiofm.data.positioning import write_positioning
from radiofm.errors import ConfigError, DatasetError
from radiofm.models import create_model, save_checkpoint
from radiofm.models.finetuned import configure_mode, rebuild
from radiofm.tasks import positioning as pos

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(
    img_size=(32, 32), embed_dim=32, depth=2, num_heads=2, decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2
)


@pytest.fixture(scope="module")
def mae_dir(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("mae") / "mae", create_model("vit-tiny", **TINY), kind="mae")


def _files(folder, n_train=40, n_test=10):
    rng = np.random.default_rng(1)
    for split, n in (("train", n_train), ("test", n_test)):
        p = rng.uniform([0, 0, 1.5], [40, 30, 1.5], (n, 3))
        x = rng.standard_normal((n, 4, 8, 20)).astype(np.float32) + p[:, :1, None, None] / 10  # position-dependent
        write_positioning(folder / f"{split}.mat", x, p)
    return folder


def test_regression_head_overfits_one_batch():
    torch.manual_seed(0)
    mae = create_model("vit-tiny", **TINY)
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in mae.config.__dict__.items()}
    model = rebuild(
        {
            "task": "positioning",
            "backbone_family": "mae",
            "backbone": {**cfg, "in_chans": 4},
            "head": {"type": "pooled", "in_dim": 32, "out_dim": 3, "hidden": [64]},
            "input": {"norm": "dataset", "mean_db": 0.0, "std_db": 1.0},
            "readout": "last",
            "lora": None,
        }
    )
    configure_mode(model, "frozen")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        feats = model.encode(torch.randn(8, 4, 32, 32, generator=g))
    batch = {"features": feats, "y": torch.rand(8, 3, generator=g) * 2 - 1}
    task = pos.PositioningTask((20.0, 15.0, 1.0))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    first = None
    for _ in range(200):
        loss, metrics = task.step(model, batch, generator=g, train=True)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.1 * first and metrics["err_m"] < 5.0


def test_scaler_errors_and_file_resolution(tmp_path):
    s = pos.fit_scaler(np.array([[0.0, 0.0, 1.5], [10.0, 20.0, 1.5]]))
    assert s.low_m == (-1.0, -2.0, 1.0) and s.high_m == (11.0, 22.0, 2.0)  # 10 % margin, >= 1 m wide
    r = pos.error_report(np.array([1.0, 2.0, 3.0, 4.0, 10.0]))
    assert r["mean_error_m"] == 4.0 and r["median_error_m"] == 3.0 and r["p90_error_m"] == pytest.approx(7.6)
    with pytest.raises(DatasetError, match="no test.mat"):
        pos.resolve_file(tmp_path, "test")


def test_run_on_the_train_file_and_evaluation_on_the_test_file(tmp_path, mae_dir):
    folder = _files(tmp_path / "pos")
    train = dataclasses.replace(pos.DEFAULT_TRAIN, epochs=2, batch_size=8, progress=False, device="cpu")
    for mode, adapt in (("frozen", "separate"), ("last-k", "separate"), ("frozen", "mean")):
        config = pos.PositioningConfig(init=mae_dir, mode=mode, k=1, head_hidden=(16,), adapt=adapt)
        result = pos.finetune_positioning(folder, config, train, tmp_path / f"{mode}-{adapt}")
        assert result.train_size + result.val_size == 40
        info = json.loads((tmp_path / f"{mode}-{adapt}" / "config.json").read_text())
        assert info["extra"]["data"]["source"].endswith("train.mat")
        # separate (the default): the 1-channel encoder sees each base station apart, the head pools 4 groups
        chans, groups = (1, 4) if adapt == "separate" else (4, 1)
        assert info["config"]["backbone"]["in_chans"] == chans and info["config"]["head"]["groups"] == groups
        assert info["config"]["channels"] == ("separate" if adapt == "separate" else "joint")
    assert pos.PositioningConfig(init=mae_dir).adapt == "separate"
    report = pos.evaluate_positioning_run(tmp_path / "last-k-separate", folder / "test.mat", tmp_path / "eval")
    assert report["samples"] == 10 and report["data"].endswith("test.mat") and len(report["errors_m"]) == 10
    assert 0 < report["median_error_m"] <= report["p90_error_m"] <= report["max_error_m"]
    assert {p.name for p in (tmp_path / "eval").iterdir()} == {
        ".radiofm-output.json",
        "positioning.json",
        "error_cdf.png",
        "error_map.png",
    }
    assert info["extra"]["data"]["feature_hw"] == [8, 20]
    other = tmp_path / "other.mat"  # another array or band: 6 antennas x 20 subcarriers
    write_positioning(other, np.zeros((3, 4, 6, 20), np.float32), np.zeros((3, 3)))
    with pytest.raises(DatasetError, match="CSI images of 6x20 .* trained on 8x20") as exc:
        pos.evaluate_positioning_run(tmp_path / "last-k-separate", other, tmp_path / "eval-other")
    assert "\n" not in str(exc.value) and not (tmp_path / "eval-other").exists()
    assert report["split"] == "test file"


def test_the_training_file_is_scored_on_its_held_out_ues_only(tmp_path, mae_dir):
    """The public dataset is one file without a split: evaluating on it must not report training errors."""
    folder = _files(tmp_path / "pos")
    copy = tmp_path / "renamed.mat"  # the same data under another name is still the training file
    copy.write_bytes((folder / "train.mat").read_bytes())
    train = dataclasses.replace(pos.DEFAULT_TRAIN, epochs=1, batch_size=8, progress=False, device="cpu")
    config = pos.PositioningConfig(init=mae_dir, head_hidden=(16,), val_fraction=0.25)
    result = pos.finetune_positioning(folder, config, train, tmp_path / "run")
    held = json.loads((tmp_path / "run" / "config.json").read_text())["extra"]["data"]["held_out"]
    assert len(held) == result.val_size == 10
    report = pos.evaluate_positioning_run(tmp_path / "run", copy, tmp_path / "eval")
    assert report["samples"] == 10 and report["split"].startswith("held-out part of the training file (10 of 40")
    test = pos.evaluate_positioning_run(tmp_path / "run", folder, tmp_path / "eval-test")
    assert test["samples"] == 10 and test["split"] == "test file"
    none_held = pos.PositioningConfig(init=mae_dir, head_hidden=(16,), val_fraction=0.0)
    pos.finetune_positioning(folder, none_held, train, tmp_path / "run0")
    with pytest.raises(DatasetError, match="is the file this run was trained on, and the run held none of it out"):
        pos.evaluate_positioning_run(tmp_path / "run0", copy, tmp_path / "eval0")
    assert not (tmp_path / "eval0").exists()


def test_an_hdf5_file_that_is_not_the_positioning_layout_is_a_one_line_error(tmp_path, mae_dir):
    bad = tmp_path / "bad.mat"
    with h5py.File(bad, "w") as f:
        f["csi"] = np.zeros((4, 4))
    train = dataclasses.replace(pos.DEFAULT_TRAIN, epochs=1, progress=False, device="cpu")
    with pytest.raises(DatasetError, match="no 'features' dataset") as exc:
        pos.finetune_positioning(bad, pos.PositioningConfig(init=mae_dir), train, tmp_path / "run")
    assert "\n" not in str(exc.value) and not (tmp_path / "run").exists()
    with pytest.raises(ConfigError):
        pos.PositioningConfig(init=mae_dir, label_fraction=0.0)
    with pytest.raises(ConfigError, match="--adapt must be one of mean, separate"):
        pos.PositioningConfig(init=mae_dir, adapt="replicate")
