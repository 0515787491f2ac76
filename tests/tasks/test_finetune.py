"""What every fine-tuning task shares: its config, optimizer groups with layer decay, the feature cache, weights."""

import numpy as np
import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models import create_model, finetuned, save_checkpoint
from radiofm.tasks import finetune as ft
from radiofm.tasks.segmentation import build_segmentation_model

DEPTH = 2


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


def _tiny_mae(**over):
    torch.manual_seed(0)
    return create_model("vit-tiny", **{"img_size": (32, 32), "depth": DEPTH, "decoder_depth": 1, **over})


@pytest.fixture(scope="module")
def mae_ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ft") / "mae"
    save_checkpoint(folder, _tiny_mae(), kind="mae", extra={"model_name": "vit-tiny"})
    return folder


def _model(mae_ckpt, mode="frozen", **kw):
    info = finetuned.read_init(mae_ckpt)
    model = build_segmentation_model("mae", info["config"], head={"embed_dim": 32, "num_heads": 2, "depth": 1})
    if mode != "scratch":
        finetuned.load_backbone_into(model, mae_ckpt)
    finetuned.configure_mode(model, mode, **kw)
    return model


def test_optimizer_groups_use_layer_decay_in_full_mode(mae_ckpt):
    model = _model(mae_ckpt, "full")
    names = {n for n, _ in model.named_parameters()}
    groups = ft.optimizer_groups(model, ft.FinetuneConfig(init=mae_ckpt, mode="full"), 0.05)
    assert {round(g["lr_scale"], 6) for g in groups} >= {1.0, 0.75, round(0.75**DEPTH, 6)}
    assert sum(len(g["params"]) for g in groups) == len(names)
    flat = ft.optimizer_groups(model, ft.FinetuneConfig(init=mae_ckpt, mode="full", layer_decay=1.0), 0.05)
    assert {g["lr_scale"] for g in flat} == {1.0}


def test_finetune_config_validation(mae_ckpt):
    with pytest.raises(ConfigError, match="needs --init"):
        ft.FinetuneConfig(mode="frozen")
    with pytest.raises(ConfigError, match="--init or --model"):
        ft.FinetuneConfig(mode="scratch")
    with pytest.raises(ConfigError, match="val-fraction"):
        ft.FinetuneConfig(init=mae_ckpt, val_fraction=0.95)
    with pytest.raises(ConfigError, match="mode must be one of"):
        ft.FinetuneConfig(init=mae_ckpt, mode="linear")
    family, config, info = ft.backbone_config(ft.FinetuneConfig(mode="scratch", model="vit-tiny", image_size=(48, 64)))
    assert family == "mae" and config["img_size"] == [48, 64] and info is None


def test_feature_cache_matches_backbone(mae_ckpt):
    model = _model(mae_ckpt, "frozen")
    items = [{"x": torch.randn(1, 32, 32), "y": torch.zeros(32, 32, dtype=torch.long)} for _ in range(3)]
    cache = ft.cache_features(model, items, batch_size=2, progress=False)
    assert len(cache) == 3 and cache.others["y"].shape == (3, 32, 32) and cache.others["y"].dtype == torch.uint8
    assert cache[0]["y"].dtype == torch.int64
    ref = model.encode(items[2]["x"][None])[0]
    torch.testing.assert_close(cache[2]["features"], ref, atol=2e-2, rtol=1e-2)  # stored as float16
    with pytest.raises(ConfigError, match="frozen backbone"):
        ft.cache_features(_model(mae_ckpt, "full"), items, progress=False)


def test_inverse_frequency_weights():
    w = ft.inverse_frequency_weights(np.array([60, 30, 10]))
    raw = np.array([100 / 180, 100 / 90, 100 / 30])
    np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-5)
    assert ft.inverse_frequency_weights(np.array([5, 5, 0]))[2] == pytest.approx(1.0)
