"""NTU-Fi HAR layout: v5 and v7.3 round trips, the official split, one-line errors, preprocessing statistics."""

import hashlib
import json
import shutil

import h5py
import numpy as np
import pytest
import scipy.io

from radiofm.data import ntufi
from radiofm.data.channel_norm import ChannelNorm
from radiofm.errors import ConfigError, DatasetError

SEED = 5


@pytest.fixture(scope="module")
def set_v5(tmp_path_factory):
    return ntufi.write_ntufi(tmp_path_factory.mktemp("v5") / "NTU-Fi_HAR", 2, 1, seed=SEED, progress=False)


@pytest.fixture(scope="module")
def set_v73(tmp_path_factory):
    root = tmp_path_factory.mktemp("v73") / "NTU-Fi_HAR"
    return ntufi.write_ntufi(root, 1, 1, seed=SEED, progress=False, mat_version="7.3")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_naming(exc_info, name):
    msg = str(exc_info.value)
    assert "\n" not in msg and str(name) in msg, msg
    return msg


def test_layout_and_official_split(set_v5):
    train, test = ntufi.open_ntufi(set_v5, "train"), ntufi.open_ntufi(set_v5, "test")
    assert train.classes == test.classes == ("box", "circle", "clean", "fall", "run", "walk")
    assert train.class_counts() == dict.fromkeys(ntufi.CLASSES, 2)
    assert test.class_counts() == dict.fromkeys(ntufi.CLASSES, 1)
    assert all(f.parent.parent.name == "train_amp" for f in train.files)
    assert all(f.parent.parent.name == "test_amp" for f in test.files)
    for files, labels in ((train.files, train.labels), (test.files, test.labels)):
        assert [ntufi.CLASSES[y] for y in labels] == [f.parent.name for f in files]
    train_bytes = {_digest(f) for f in train.files}
    assert not train_bytes & {_digest(f) for f in test.files}  # no test recording is a training recording
    x, y = test[0]
    assert x.shape == (3, 114, 2000) and x.dtype == np.float32 and y == 0 and np.isfinite(x).all()


def test_files_are_the_matlab_layout(set_v5, set_v73):
    f5 = set_v5 / "train_amp" / "run" / "run_0000.mat"
    assert scipy.io.loadmat(f5)["CSIamp"].shape == (342, 2000)
    assert f5.read_bytes()[:10] == b"MATLAB 5.0"
    f73 = set_v73 / "train_amp" / "run" / "run_0000.mat"
    assert f73.read_bytes()[:10] == b"MATLAB 7.3"
    with h5py.File(f73, "r") as f:
        assert f["CSIamp"].shape == (2000, 342)  # column-major: h5py sees MATLAB's transpose
        assert f["CSIamp"].attrs["MATLAB_class"] == b"single"


def test_v5_and_v73_read_the_same_recording(set_v5, set_v73):
    for rel in ("train_amp/box/box_0000.mat", "test_amp/walk/walk_0000.mat"):
        assert np.array_equal(ntufi.read_csi_mat(set_v5 / rel), ntufi.read_csi_mat(set_v73 / rel))


def test_rows_are_antenna_major(tmp_path):
    x = np.arange(342 * 2000, dtype=np.float32).reshape(342, 2000)
    scipy.io.savemat(tmp_path / "a.mat", {"CSIamp": x})
    y = ntufi.read_csi_mat(tmp_path / "a.mat")
    assert np.array_equal(y[1, 0], x[114]) and np.array_equal(y[2, 113], x[341])
    scipy.io.savemat(tmp_path / "t.mat", {"CSIamp": x.T})  # a transposed save is unambiguous (342 != 2000)
    assert np.array_equal(ntufi.read_csi_mat(tmp_path / "t.mat"), y)


def test_same_seed_same_bytes_whatever_the_set_size(set_v5, tmp_path):
    again = ntufi.write_ntufi(tmp_path / "again", 1, 1, seed=SEED, progress=False)
    for rel in ("train_amp/fall/fall_0000.mat", "test_amp/clean/clean_0000.mat"):
        assert _digest(again / rel) == _digest(set_v5 / rel)
    other = ntufi.write_ntufi(tmp_path / "other", 1, 1, seed=SEED + 1, progress=False)
    assert _digest(other / "test_amp/clean/clean_0000.mat") != _digest(set_v5 / "test_amp/clean/clean_0000.mat")


@pytest.mark.slow
def test_workers_do_not_change_the_bytes(set_v5, tmp_path):
    again = ntufi.write_ntufi(tmp_path / "again", 1, 1, seed=SEED, workers=2, progress=False)
    for rel in ("train_amp/fall/fall_0000.mat", "test_amp/clean/clean_0000.mat"):
        assert _digest(again / rel) == _digest(set_v5 / rel)


def test_write_csi_mat_is_byte_stable(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 114, 2000)).astype(np.float32)
    for version in ("5", "7.3"):
        a = ntufi.write_csi_mat(tmp_path / f"a{version}.mat", x, version=version)
        b = ntufi.write_csi_mat(tmp_path / f"b{version}.mat", x, version=version)
        assert _digest(a) == _digest(b)


def test_class_indices_do_not_depend_on_which_folders_exist(set_v5, tmp_path):
    root = shutil.copytree(set_v5, tmp_path / "copy")
    shutil.rmtree(root / "test_amp" / "box")
    test = ntufi.open_ntufi(root, "test")
    assert sorted(set(test.labels.tolist())) == [1, 2, 3, 4, 5]  # circle..walk keep their indices


def test_layout_errors_are_one_line(set_v5, tmp_path):
    with pytest.raises(DatasetError) as e:
        ntufi.open_ntufi(tmp_path / "missing")
    _one_line_naming(e, tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError) as e:
        ntufi.open_ntufi(tmp_path / "empty", "test")
    assert "test_amp" in _one_line_naming(e, tmp_path / "empty")
    root = shutil.copytree(set_v5, tmp_path / "extra")
    (root / "train_amp" / "jump").mkdir()
    with pytest.raises(DatasetError) as e:
        ntufi.open_ntufi(root)
    assert "'jump'" in _one_line_naming(e, root / "train_amp" / "jump")
    with pytest.raises(ConfigError):
        ntufi.open_ntufi(set_v5, "val")


@pytest.mark.parametrize(
    "kind, expect",
    [
        ("wrong_key", "no 'CSIamp' variable (found: amp, other)"),
        ("wrong_shape", "has shape (342, 1000)"),
        ("nan", "NaN/Inf"),
        ("complex", "real amplitude"),
        ("garbage", "unreadable .mat"),
        ("h5_wrong_key", "no 'CSIamp' variable (found: CSIphase)"),
        ("h5_wrong_shape", "has shape (2000, 114)"),
        ("newline_name", "no 'CSIamp' variable (found: \\nSIamp)"),  # a damaged name (found by make fuzz)
    ],
)
def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path, kind, expect):
    path = tmp_path / f"{kind}.mat"
    _write_bad(path, kind)
    with pytest.raises(DatasetError) as e:
        ntufi.read_csi_mat(path)
    assert expect in _one_line_naming(e, path)


def _write_bad(path, kind):
    good = np.ones((342, 2000), np.float32)
    if kind == "wrong_key":
        scipy.io.savemat(path, {"amp": good, "other": np.zeros(3)})
    elif kind == "wrong_shape":
        scipy.io.savemat(path, {"CSIamp": good[:, :1000]})
    elif kind == "nan":
        good[5, 7] = np.nan
        scipy.io.savemat(path, {"CSIamp": good})
    elif kind == "complex":
        scipy.io.savemat(path, {"CSIamp": good.astype(np.complex64)})
    elif kind == "garbage":
        path.write_bytes(b"this is not a MATLAB file at all" * 10)
    elif kind == "newline_name":  # the variable's name bytes damaged into a newline + "SIamp"
        scipy.io.savemat(path, {"XSIamp": good})
        path.write_bytes(path.read_bytes().replace(b"XSIamp", b"\nSIamp"))
    else:
        from radiofm.data.matfile import write_mat73

        name = "CSIphase" if kind == "h5_wrong_key" else "CSIamp"
        write_mat73(path, {name: good[:114].T})


@pytest.mark.parametrize(
    "kind, expect",
    [
        ("wrong_key", "no 'CSIamp' variable (found: amp, other)"),
        ("wrong_shape", "has shape (342, 1000)"),
        ("garbage", "unreadable .mat"),
        ("h5_wrong_key", "no 'CSIamp' variable (found: CSIphase)"),
        ("h5_wrong_shape", "has shape (2000, 114)"),
    ],
)
def test_the_whole_folder_check_finds_a_bad_file_from_its_header(set_v5, tmp_path, kind, expect):
    """check_ntufi (run before long work such as `reproduce table4 --ntufi`) reads every file's header only."""
    assert ntufi.check_ntufi(set_v5) == {"train": 12, "test": 6}
    root = shutil.copytree(set_v5, tmp_path / "bad")
    bad = root / "test_amp" / "walk" / "walk_0000.mat"
    _write_bad(bad, kind)
    with pytest.raises(DatasetError) as e:
        ntufi.check_ntufi(root)
    assert expect in _one_line_naming(e, bad)


def test_the_whole_folder_check_refuses_a_test_class_without_training_files(set_v5, tmp_path):
    root = shutil.copytree(set_v5, tmp_path / "gap")
    shutil.rmtree(root / "train_amp" / "fall")
    with pytest.raises(DatasetError) as e:
        ntufi.check_ntufi(root)
    assert "class(es) fall in test_amp/ but not in train_amp/" in _one_line_naming(e, root)


def test_dataset_item_names_the_damaged_file(set_v5, tmp_path):
    root = shutil.copytree(set_v5, tmp_path / "damaged")
    bad = root / "train_amp" / "circle" / "circle_0001.mat"
    bad.write_bytes(b"\x00" * 100)
    ds = ntufi.open_ntufi(root)
    i = [str(f) for f in ds.files].index(str(bad))
    with pytest.raises(DatasetError) as e:
        ds[i]
    _one_line_naming(e, bad)


def test_sensing_norm_comes_from_train_and_standardises_it(set_v5):
    train = ntufi.open_ntufi(set_v5, "train")
    with pytest.raises(ConfigError, match="train split"):
        ntufi.fit_sensing_norm(ntufi.open_ntufi(set_v5, "test"), progress=False)
    norm = ntufi.fit_sensing_norm(train, (32, 48), progress=False)
    assert norm.n_channels == 3 and norm.image_size == (32, 48) and "train_amp" in norm.source
    images = np.stack([ntufi.sensing_transform(train.read(i), norm) for i in range(len(train))])
    assert images.shape == (12, 3, 32, 48) and images.dtype == np.float32
    assert np.allclose(images.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    assert np.allclose(images.std(axis=(0, 2, 3)), 1, atol=1e-3)
    assert ChannelNorm.from_dict(norm.to_dict()) == norm
    test = ntufi.open_ntufi(set_v5, "test", transform=norm)  # evaluation reuses the train statistics
    x, _ = test[0]
    assert x.shape == (3, 32, 48) and np.array_equal(x, norm(test.read(0)))


def test_default_preprocessing_is_paper_b(set_v5):
    train = ntufi.open_ntufi(set_v5, "train")
    norm = ChannelNorm(ntufi.SENSING_IMAGE_SIZE, (40.0, 40.0, 40.0), (5.0, 5.0, 5.0))
    assert ntufi.sensing_transform(train.read(0), norm).shape == (3, 224, 224)


def test_writer_arguments_and_refuses_foreign_folders(tmp_path, set_v5):
    foreign = tmp_path / "real"
    (foreign / "train_amp").mkdir(parents=True)
    with pytest.raises(ConfigError, match="not a synthetic NTU-Fi set"):
        ntufi.write_ntufi(foreign, 1, 1, progress=False)
    for kwargs in ({"n_train_per_class": 0}, {"workers": 0}, {"seed": -1}, {"mat_version": "6"}):
        with pytest.raises(ConfigError):
            ntufi.write_ntufi(tmp_path / "x", **{"n_train_per_class": 1, "n_test_per_class": 1, **kwargs})
    with pytest.raises(ConfigError):
        ntufi.write_csi_mat(tmp_path / "y.mat", np.zeros((3, 114, 10)))
    manifest = json.loads((set_v5 / ntufi.MANIFEST).read_text())
    assert manifest["kind"] == "ntufi-har-synthetic" and len(manifest["files"]) == 18
    assert manifest["files"][0]["file"] == "train_amp/box/box_0000.mat" and "speed_mps" not in manifest["files"][0]


def test_listed_names_are_escaped_cut_and_capped():
    from radiofm.data.matfile import listed

    assert listed([]) == "none"
    assert listed(["a\nb", "c\x00"]) == "a\\nb, c\\x00"
    assert listed(["x" * 100], width=10) == "xxxxxxx..."
    assert listed([f"v{i}" for i in range(12)], limit=3) == "v0, v1, v2 and 9 more"
