"""Registry: presets, overrides, errors, pluggable families."""

import dataclasses

import pytest
import torch
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models import (
    create_model,
    get_config,
    list_models,
    model_from_config,
    register_family,
    register_model,
    registry,
)
from radiofm.models.mae import MAEConfig, MaskedAutoencoderViT


def test_list_models_has_presets():
    names = list_models()
    assert names == sorted(names)
    assert {"vit-tiny", "vit-s", "vit-m", "vit-l"} <= set(names)
    assert "vit-s" in list_models("mae") and all(isinstance(get_config(n), MAEConfig) for n in list_models("mae"))


def test_unknown_model_lists_names():
    with pytest.raises(ConfigError, match=r"unknown model 'nope'; valid models: .*vit-l, vit-m, vit-s, vit-tiny"):
        create_model("nope")
    with pytest.raises(ConfigError, match="valid models"):
        get_config("nope")


def test_overrides_and_config_copy():
    model = create_model("vit-tiny", img_size=[32, 64], depth=1, decoder_depth=1)
    assert isinstance(model, MaskedAutoencoderViT)
    assert model.config.img_size == (32, 64) and model.grid_size == (2, 4)
    assert get_config("vit-tiny").depth == 12  # the preset is untouched
    with pytest.raises(ConfigError, match="unknown MAEConfig field"):
        create_model("vit-tiny", depthh=2)


def test_create_from_config_and_dict():
    cfg = MAEConfig(img_size=(16, 32), depth=1, decoder_depth=1)
    assert create_model(cfg).config == cfg
    model = model_from_config("mae", dataclasses.asdict(cfg))
    assert model.config == cfg
    with pytest.raises(ConfigError, match="unknown model family"):
        model_from_config("nope", {})
    with pytest.raises(ConfigError, match="unknown MAEConfig field"):
        model_from_config("mae", {"bogus": 1})


@dataclasses.dataclass
class _ToyConfig:
    width: int = 4  # linear width


class _Toy(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.lin = nn.Linear(config.width, config.width)

    def forward(self, x):
        return self.lin(x)


def test_pluggable_family(monkeypatch):
    # private copies, so the toy family does not leak into other tests' list_models()
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    register_family("toy-family", _ToyConfig, _Toy)
    register_model("toy-1", "toy-family", _ToyConfig(width=3))
    assert "toy-1" in list_models() and list_models("toy-family") == ["toy-1"]
    model = create_model("toy-1", width=5)
    assert model(torch.zeros(2, 5)).shape == (2, 5)
