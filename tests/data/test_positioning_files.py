"""Positioning files: the public v7.3 layout, separate train/test files, one-line errors, scaler, statistics."""

import hashlib
import json

import h5py
import numpy as np
import pytest
import scipy.io

from radiofm.data import positioning as P
from radiofm.data.matfile import write_mat73
from radiofm.errors import ConfigError, DatasetError


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return P.write_positioning_files(tmp_path_factory.mktemp("pos") / "set", 40, 12, seed=2, progress=False)


def _one_line_naming(exc_info, path):
    msg = str(exc_info.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


def test_round_trip_and_public_layout(files):
    train, test = P.open_positioning(files["train"]), P.open_positioning(files["test"])
    assert train.features.shape == (40, 4, 16, 193) and test.features.shape == (12, 4, 16, 193)
    assert train.features.dtype == np.float32 and train.positions.shape == (40, 3)
    with h5py.File(files["train"], "r") as f:  # what public code sees: f["features"], f["labels"]["position"]
        assert f["features"].shape == (40, 4, 16, 193) and f["labels"]["position"].shape == (40, 3)
        assert np.array_equal(f["features"][()], train.features)
        assert f["labels"].attrs["MATLAB_class"] == b"struct"
    assert files["train"].read_bytes()[:19] == b"MATLAB 7.3 MAT-file"
    box = np.array([80.0, 60.0, 40.0])
    assert (train.positions >= 0).all() and (train.positions <= box).all()
    manifest = json.loads(files["scene"].read_text())
    assert manifest["scaler"] == {"low_m": [0.0, 0.0, 0.0], "high_m": [80.0, 60.0, 40.0]}
    assert manifest["n_train"] == 40 and len(manifest["scene"]["bs_m"]) == 4


def test_test_positions_are_disjoint_from_training_positions(files):
    train, test = P.open_positioning(files["train"]), P.open_positioning(files["test"])
    gap = np.linalg.norm(test.positions[:, None, :2] - train.positions[None, :, :2], axis=-1).min()
    assert gap > 0.25


def test_same_seed_same_bytes(files, tmp_path):
    again = P.write_positioning_files(tmp_path / "again", 40, 12, seed=2, progress=False)
    for split in ("train", "test"):
        assert hashlib.sha256(again[split].read_bytes()).digest() == hashlib.sha256(files[split].read_bytes()).digest()
    other = P.write_positioning_files(tmp_path / "other", 40, 12, seed=3, progress=False)
    assert not np.array_equal(
        P.open_positioning(other["train"]).positions, P.open_positioning(files["train"]).positions
    )


def test_positions_stored_the_other_way_round_are_accepted(tmp_path):
    x = np.random.default_rng(0).random((5, 4, 2, 3))
    pos = np.random.default_rng(1).random((5, 3)) * 10
    write_mat73(tmp_path / "t.mat", {"features": x, "labels/position": pos.T})
    data = P.open_positioning(tmp_path / "t.mat")
    assert np.array_equal(data.positions, pos) and data.features.dtype == np.float32


@pytest.mark.parametrize(
    "case, expect",
    [
        ("v5", "not a MATLAB v7.3 (HDF5) file"),
        ("no_features", "no 'features' dataset (found: labels/position)"),
        ("no_position", "no 'labels/position' dataset (found: features, labels/velocity)"),
        ("rank", "has shape (5, 4, 6), expected (N, C, H, W)"),
        ("mismatch", "has shape (4, 3), expected (5, 3)"),
        ("nan_features", "'features' holds 1 NaN/Inf"),
        ("nan_position", "'labels/position' holds 1 NaN/Inf"),
        ("missing", "no such file"),
        ("garbage", "not a MATLAB v7.3"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path, case, expect):
    path = tmp_path / f"{case}.mat"
    x = np.ones((5, 4, 2, 3))
    pos = np.ones((5, 3))
    if case == "v5":
        scipy.io.savemat(path, {"features": x})
    elif case == "no_features":
        write_mat73(path, {"labels/position": pos})
    elif case == "no_position":
        write_mat73(path, {"features": x, "labels/velocity": pos})
    elif case == "rank":
        write_mat73(path, {"features": x.reshape(5, 4, 6), "labels/position": pos})
    elif case == "mismatch":
        write_mat73(path, {"features": x, "labels/position": pos[:4]})
    elif case.startswith("nan"):
        (x if case == "nan_features" else pos).flat[3] = np.nan
        write_mat73(path, {"features": x, "labels/position": pos})
    elif case == "garbage":
        path.write_bytes(b"\x89HDF nope" * 20)
    with pytest.raises(DatasetError) as e:
        P.open_positioning(path)
    assert expect in _one_line_naming(e, path)


def test_scaler_maps_the_box_to_unit_cube_and_back():
    s = P.PositionScaler()
    corners = np.array([[0.0, 0.0, 0.0], [80.0, 60.0, 40.0], [40.0, 30.0, 20.0]])
    assert np.allclose(s.to_unit(corners), [[-1, -1, -1], [1, 1, 1], [0, 0, 0]])
    p = np.random.default_rng(0).random((7, 3)) * [80, 60, 40]
    assert np.allclose(s.from_unit(s.to_unit(p)), p)
    assert P.PositionScaler.from_dict(s.to_dict()) == s
    with pytest.raises(ConfigError):
        P.PositionScaler((0, 0, 0), (80, 60, 0))
    with pytest.raises(ConfigError):
        P.PositionScaler.from_dict({"low_m": [0, 0, 0]})


def test_norm_from_the_train_file_standardises_it(files):
    train = P.open_positioning(files["train"])
    norm = P.fit_positioning_norm(train, (32, 32))
    images = np.stack([norm(x) for x in train.features])
    assert images.shape == (40, 4, 32, 32)
    assert np.allclose(images.mean(axis=(0, 2, 3)), 0, atol=1e-4) and np.allclose(
        images.std(axis=(0, 2, 3)), 1, atol=1e-3
    )


def test_writer_arguments(tmp_path):
    for kwargs in ({"n_train": 0}, {"n_test": 1.5}, {"seed": -2}):
        with pytest.raises(ConfigError):
            P.write_positioning_files(tmp_path / "x", **{"n_train": 2, "n_test": 2, **kwargs}, progress=False)
    with pytest.raises(ConfigError):
        P.write_positioning(tmp_path / "y.mat", np.zeros((2, 4, 3, 3)), np.zeros((3, 3)))


def test_writer_refuses_a_foreign_folder_and_replaces_its_own(files, tmp_path):
    foreign = tmp_path / "real"
    foreign.mkdir()
    (foreign / "train.mat").write_bytes(b"keep me")  # a file of the output's name, not written by radiofm
    with pytest.raises(ConfigError, match="holds train.mat and is not a synthetic positioning set"):
        P.write_positioning_files(foreign, 2, 2, progress=False)
    assert (foreign / "train.mat").read_bytes() == b"keep me"
    mine = tmp_path / "mine"  # other files: written beside them, and kept
    mine.mkdir()
    (mine / "dataset_SNR50_outdoor.mat").write_bytes(b"keep me")
    P.write_positioning_files(mine, 2, 2, progress=False)
    assert (mine / "dataset_SNR50_outdoor.mat").read_bytes() == b"keep me" and (mine / "test.mat").is_file()
    own = P.write_positioning_files(tmp_path / "own", 3, 2, seed=1, progress=False)
    again = P.write_positioning_files(tmp_path / "own", 4, 2, seed=1, progress=False)
    assert own == again and len(P.open_positioning(again["train"])) == 4
