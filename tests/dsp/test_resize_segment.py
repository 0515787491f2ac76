"""resize and segment."""

import numpy as np
import pytest

from radiofm.dsp import resize, segment, segment_length
from radiofm.errors import ConfigError, RecordingError


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "area"])
@pytest.mark.parametrize(("src", "dst"), [((1024, 1919), (224, 224)), ((16, 16), (40, 8)), ((7, 5), (7, 5))])
def test_resize_shapes(mode, src, dst):
    x = np.random.default_rng(0).standard_normal((2, 3, *src)).astype(np.float32)
    y = resize(x, dst, mode=mode)
    assert y.shape == (2, 3, *dst) and y.dtype == np.float32
    assert resize(x[0, 0], dst, mode=mode).shape == dst


def test_nearest_keeps_label_values_and_dtype():
    labels = np.random.default_rng(1).integers(0, 3, size=(256, 256)).astype(np.uint8)
    for shape in [(224, 224), (300, 97), (13, 512)]:
        y = resize(labels, shape, mode="nearest")
        assert y.dtype == np.uint8 and y.shape == shape
        assert set(np.unique(y)) <= {0, 1, 2}


def test_nearest_uses_pixel_centres():
    x = np.arange(4.0)[None, :]
    np.testing.assert_array_equal(resize(x, (1, 2), mode="nearest"), [[1.0, 3.0]])
    np.testing.assert_array_equal(resize(x, (1, 8), mode="nearest"), [[0, 0, 1, 1, 2, 2, 3, 3]])


def test_area_is_block_mean_and_bilinear_keeps_constants():
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_allclose(resize(x, (2, 2), mode="area"), [[2.5, 4.5], [10.5, 12.5]])
    assert resize(x, (2, 2), mode="area").dtype == np.float64
    const = np.full((50, 70), 3.25, np.float32)
    np.testing.assert_allclose(resize(const, (224, 224)), 3.25, rtol=1e-6)
    np.testing.assert_allclose(resize(const, (9, 11)), 3.25, rtol=1e-6)


def test_bilinear_downsampling_is_antialiased():
    # alternating columns average to their mean when shrunk 2x; plain bilinear would alias
    x = np.tile(np.array([0.0, 1.0], np.float32), (8, 32))
    np.testing.assert_allclose(resize(x, (8, 16))[:, 1:-1], 0.5, atol=1e-6)  # edges see a clipped kernel


def test_resize_errors():
    x = np.zeros((4, 4))
    with pytest.raises(ConfigError, match="mode"):
        resize(x, (2, 2), mode="bicubic")
    with pytest.raises(ConfigError):
        resize(x, (0, 2))
    with pytest.raises(ConfigError):
        resize(np.zeros(4), (2, 2))


def test_segment_shapes_and_view():
    iq = np.arange(1000, dtype=np.complex64)
    seg = segment(iq, 1000.0, segment_s=0.3)
    assert seg.shape == (3, 300)
    assert np.shares_memory(seg, iq)
    np.testing.assert_array_equal(seg[1], iq[300:600])
    assert segment_length(61.44e6) == 983_040
    assert segment(np.zeros(983_040 * 2 + 5, np.complex64), 61.44e6).shape == (2, 983_040)
    assert segment(iq, 1000.0, segment_s=2.0).shape == (0, 2000)


def test_segment_errors():
    with pytest.raises(ConfigError):
        segment(np.zeros(10), 0.0)
    with pytest.raises(ConfigError):
        segment(np.zeros(10), 100.0, segment_s=0.001)
    with pytest.raises(RecordingError):
        segment(np.zeros((2, 10)), 100.0)
