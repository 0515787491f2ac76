"""Resource grids on hand-computed examples."""

import numpy as np
import pytest

from radiofm.dsp import grid_agreement, grid_detection, grid_threshold, pool_blocks, resource_grid
from radiofm.errors import ConfigError

# 4 x 6 spectrogram (F x T), plus a cropped 5th row and 7th column
SPEC = np.array(
    [
        [1, 2, 3, 10, 10, 10, 99],
        [1, 2, 3, 10, 10, 10, 99],
        [4, 4, 4, 0, 0, 0, 99],
        [4, 4, 4, 0, 0, 0, 99],
        [99, 99, 99, 99, 99, 99, 99],
    ],
    dtype=np.float64,
)
CORE = SPEC[:4, :6]


def test_pool_blocks_by_hand():
    # block (2, 3): means of [1,2,3,1,2,3] = 2, [10]*6 = 10, [4]*6 = 4, [0]*6 = 0; row 5 / column 7 cropped
    np.testing.assert_allclose(pool_blocks(SPEC, (2, 3)), [[2.0, 10.0], [4.0, 0.0]])


def test_threshold_by_hand():
    # mean = 96 / 24 = 4; E[x^2] = (28 + 600 + 96) / 24 = 30.1667; var = 14.1667; std = 3.7639
    assert grid_threshold(CORE, k=0.5) == pytest.approx(4 + 0.5 * np.sqrt(14.0 + 1 / 6))
    assert grid_threshold(CORE, k=0.0) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0.5, [[False, True], [False, False]]),  # delta = 5.88: only the 10 block
        (0.0, [[False, True], [False, False]]),  # delta = 4: the 4 block is not strictly above
        (-0.5, [[False, True], [True, False]]),  # delta = 2.12
        (2.0, [[False, False], [False, False]]),  # delta = 11.53
    ],
)
def test_resource_grid_by_hand(k, expected):
    grid = resource_grid(CORE, (2, 3), k=k)
    assert grid.dtype == bool
    np.testing.assert_array_equal(grid, expected)


def test_statistics_come_from_the_uncropped_input():
    # with the 99s included the threshold is far above every block mean
    assert not resource_grid(SPEC, (2, 3)).any()


def test_batch_thresholds_each_sample_separately():
    batch = np.stack([CORE, CORE * 100.0 + 7.0])  # affine change: same grid
    grids = resource_grid(batch, (2, 3))
    assert grids.shape == (2, 2, 2)
    np.testing.assert_array_equal(grids[0], grids[1])


def test_grid_agreement():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 64, 64))
    assert grid_agreement(a, a, (8, 8)) == 1.0
    b = a.copy()
    b[1] = np.flip(a[1])  # one differing sample
    ga, gb = resource_grid(a, (8, 8)), resource_grid(b, (8, 8))
    assert grid_agreement(a, b, (8, 8)) == pytest.approx(np.mean(ga == gb))
    # hand example: 1 x 4 grids [T, T, F, F] and [T, F, T, F] agree on 2 of 4 blocks
    assert grid_agreement(np.array([[10.0, 10, 0, 0]]), np.array([[10.0, 0, 10, 0]]), (1, 1)) == 0.5


def test_grid_detection_by_hand():
    true = np.array([[10.0, 10.0, 0.0, 0.0]])  # mean 5, std 5, delta 7.5 -> [T, T, F, F]
    pred = np.array([[10.0, 0.0, 0.0, 0.0]])  # mean 2.5, std 4.33, delta 4.67 -> [T, F, F, F]
    got = grid_detection(true, pred, (1, 1))
    assert (got["tp"], got["fp"], got["fn"], got["tn"], got["blocks"]) == (1, 0, 1, 2, 4)
    assert got["detection_rate"] == 0.5
    assert got["false_alarm_rate"] == 0.0
    assert got["precision"] == 1.0
    assert got["f1"] == pytest.approx(2 / 3)
    got = grid_detection(true, np.array([[10.0, 0.0, 10.0, 0.0]]), (1, 1))
    assert (got["detection_rate"], got["false_alarm_rate"], got["precision"], got["f1"]) == (0.5, 0.5, 0.5, 0.5)


def test_grid_detection_zero_denominators_are_none():
    flat = np.zeros((4, 4))  # std 0: nothing is strictly above the mean
    got = grid_detection(flat, flat, (2, 2))
    assert got["detection_rate"] is None and got["precision"] is None and got["f1"] is None
    assert got["false_alarm_rate"] == 0.0


def test_grid_errors():
    with pytest.raises(ConfigError):
        resource_grid(CORE, (5, 1))
    with pytest.raises(ConfigError):
        resource_grid(CORE, (0, 1))
    with pytest.raises(ConfigError):
        resource_grid(np.zeros(5), (1, 1))
    with pytest.raises(ConfigError, match="shapes differ"):
        grid_agreement(CORE, CORE[:, :3], (1, 1))
