"""ChannelNorm: per-channel statistics after resizing, exact on known data, validated descriptions."""

import numpy as np
import pytest

from radiofm.data.channel_norm import ChannelNorm, fit_channel_norm
from radiofm.errors import ConfigError


def test_statistics_are_those_of_the_resized_images():
    rng = np.random.default_rng(0)
    images = [rng.normal([[[1.0]], [[-5.0]]], [[[2.0]], [[0.5]]], (2, 8, 8)) for _ in range(4)]
    norm = fit_channel_norm(images, (8, 8), source="unit test")  # same size: no interpolation
    stacked = np.stack(images)
    assert np.allclose(norm.mean, stacked.mean(axis=(0, 2, 3))) and np.allclose(norm.std, stacked.std(axis=(0, 2, 3)))
    out = norm(images[0])
    assert out.dtype == np.float32 and out.shape == (2, 8, 8)
    assert np.allclose(
        out, (images[0] - np.array(norm.mean)[:, None, None]) / np.array(norm.std)[:, None, None], atol=1e-5
    )
    assert ChannelNorm.from_dict(norm.to_dict()) == norm and norm.source == "unit test"


def test_constant_image_resizes_to_constant():
    norm = fit_channel_norm([np.full((1, 5, 7), 3.0)], (4, 9))
    assert norm.mean == pytest.approx((3.0,)) and norm.image_size == (4, 9) and norm.std == (1.0,)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_size": (0, 4), "mean": (0.0,), "std": (1.0,)},
        {"image_size": (4, 4), "mean": (0.0, 1.0), "std": (1.0,)},
        {"image_size": (4, 4), "mean": (0.0,), "std": (0.0,)},
        {"image_size": (4, 4), "mean": (float("nan"),), "std": (1.0,)},
    ],
)
def test_invalid_norms_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        ChannelNorm(**kwargs)


def test_wrong_inputs_are_config_errors():
    norm = ChannelNorm((4, 4), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    with pytest.raises(ConfigError, match=r"\(3, H, W\)"):
        norm(np.zeros((1, 4, 4)))
    with pytest.raises(ConfigError, match="no images"):
        fit_channel_norm([], (4, 4))
    with pytest.raises(ConfigError, match="channels"):
        fit_channel_norm([np.zeros((1, 4, 4)), np.zeros((2, 4, 4))], (4, 4))
    with pytest.raises(ConfigError):
        ChannelNorm.from_dict({"mean": [0.0]})
