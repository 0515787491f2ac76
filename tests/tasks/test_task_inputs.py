"""A task's own training inputs as 1-channel pretraining images, and MAE pretraining on them."""

import numpy as np
import pytest
import torch

from radiofm.errors import ConfigError, DatasetError
from radiofm.tasks.task_inputs import per_image_standardised, task_images

pytestmark = pytest.mark.usefixtures("one_thread")
SIZE = (16, 24)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    from radiofm.data.ntufi import write_ntufi
    from radiofm.data.positioning import write_positioning_files
    from radiofm.data.signals import write_signal_dataset

    root = tmp_path_factory.mktemp("own")
    write_positioning_files(root / "pos", 10, 3, seed=1, progress=False)
    write_ntufi(root / "ntufi", 2, 1, seed=1, progress=False)
    write_signal_dataset(root / "sig", per_class=2, seed=0, duration_s=0.02, classes=["morse", "lora"], progress=False)
    return root


@pytest.mark.parametrize(
    ("task", "data", "items", "channels"), [("positioning", "pos", 10, 4), ("sensing", "ntufi", 12, 3)]
)
def test_channel_tasks_give_one_standardised_image_per_channel(sets, task, data, items, channels):
    x = task_images(task, sets / data, SIZE)
    assert x.shape == (items * channels, 1, *SIZE) and x.dtype == np.float32 and np.isfinite(x).all()
    per_channel = x.reshape(items, channels, -1)  # item-major, channel within: standardised per channel
    np.testing.assert_allclose(per_channel.mean(axis=(0, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(per_channel.std(axis=(0, 2)), 1.0, atol=1e-3)


def test_positioning_reads_the_train_file_only(sets, tmp_path):
    """The test file never enters pretraining: the images are the same without it."""
    import shutil

    only = tmp_path / "pos"
    only.mkdir()
    shutil.copy(sets / "pos" / "train.mat", only / "train.mat")
    np.testing.assert_array_equal(
        task_images("positioning", only, SIZE), task_images("positioning", sets / "pos", SIZE)
    )


def test_signals_images_are_standardised_as_the_signals_model_does(sets):
    from radiofm.models.finetuned import FineTuneModel
    from radiofm.tasks.signals import SignalsConfig
    from radiofm.tasks.signals_data import cached_images, frontend_config, open_labelled

    x = task_images("signals", sets / "sig", SIZE)
    assert x.shape == (4, 1, *SIZE)
    files, fmt = open_labelled(sets / "sig")
    raw = cached_images(files, frontend_config(fmt, SIZE, fft_size=SignalsConfig.fft_size, hop=SignalsConfig.hop))
    stub = type("Stub", (), {"config": {"input": {"norm": "per-sample"}}})()
    expected = FineTuneModel.normalize(stub, torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(x, expected, atol=1e-4)
    flat = np.zeros((2, 1, 4, 4), np.float32)  # a constant image does not divide by zero
    assert np.isfinite(per_image_standardised(flat)).all()


def test_bad_task_or_data_is_one_clear_error(sets, tmp_path):
    with pytest.raises(ConfigError, match="weather"):
        task_images("weather", sets / "pos", SIZE)
    with pytest.raises(DatasetError):
        task_images("sensing", tmp_path / "missing", SIZE)


def test_pretraining_on_images_gives_a_backbone_a_fine_tune_can_start_from(sets, tmp_path):
    import dataclasses

    from radiofm.models.finetuned import read_init
    from radiofm.tasks.pretrain_mae import DEFAULT_TRAIN, MAEPretrainConfig, pretrain_mae_on_images

    imgs = task_images("positioning", sets / "pos", (32, 32))
    cfg = MAEPretrainConfig(model="vit-tiny", image_size=(32, 32))
    train = dataclasses.replace(DEFAULT_TRAIN, epochs=1, batch_size=8, progress=False, device="cpu")
    r = pretrain_mae_on_images(imgs, cfg, train, tmp_path / "mae", source="positioning train")
    assert (r.train_size, r.val_size) == (36, 4)
    info = read_init(tmp_path / "mae")
    assert info["kind"] == "mae" and info["extra"]["data"] == {
        "source": "positioning train", "count": 40, "images": "normalised task inputs"
    }  # fmt: skip
    with pytest.raises(ConfigError, match="must be"):
        pretrain_mae_on_images(imgs[:, :, :16], cfg, train, tmp_path / "bad", source="x")
    bad = imgs.copy()
    bad[3, 0, 1, 1] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        pretrain_mae_on_images(bad, cfg, train, tmp_path / "bad", source="x")
    assert not (tmp_path / "bad").exists()
