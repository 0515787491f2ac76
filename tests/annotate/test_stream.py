"""annotate.stream: block layout, reader thread, bounded picture and box settling — none grows with the duration."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.annotate.boxes import GAP_COLUMNS, Box, merge_boxes
from radiofm.annotate.stream import Picture, Prefetch, Settler, block_bounds, ready_blocks


def test_blocks_are_bounded_and_stable_as_the_stream_grows():
    for n in (300, 1000, 1023, 1024, 5000, 10**6):
        b = block_bounds(n, 256)
        assert b[0][0] == 0 and b[-1][1] == n and all(x[1] == y[0] for x, y in zip(b, b[1:]))
        assert max(z - a for a, z in b) < 2 * 256  # memory per block never depends on the duration
    final = block_bounds(5000, 256)
    done = 0
    for n in range(0, 5001, 97):  # a growing file: blocks handed out early are those of the finished file
        new = ready_blocks(n, 256, done)
        assert new == final[done : done + len(new)]
        done += len(new)
    assert done == len(final) - 1  # only the last block waits for the end


def test_prefetch_keeps_order_and_raises_where_it_failed():
    seen = []

    def fn(b):
        if b == 3:
            raise ValueError("bad block 3")
        return b * 10

    for depth in (0, 1, 2):
        got = []
        with pytest.raises(ValueError, match="bad block 3"):
            for b, v in Prefetch(fn, range(6), depth=depth):
                got.append((b, v))
        assert got == [(0, 0), (1, 10), (2, 20)]
        seen.append(got)
    assert list(Prefetch(lambda b: -b, [4, 5], depth=1)) == [(4, -4), (5, -5)]


def _direct_picture(power, q):
    n = power.shape[1]
    return np.stack([power[:, i : i + q].mean(axis=1) for i in range(0, n, q)], axis=1)


@pytest.mark.parametrize("n_cols", [700, 2500, 9001])
def test_picture_storage_is_fixed_and_bins_are_exact_means(n_cols):
    rng = np.random.default_rng(n_cols)
    power = rng.gamma(2.0, 1.0, size=(8, n_cols)).astype(np.float32)
    pic = Picture(8, max_columns=100)
    nbytes = pic._sum.nbytes + pic._n.nbytes
    for b0 in range(0, n_cols, 256):  # blocks in order, as the analysis feeds them
        pic.add(power[:, b0 : b0 + 256], b0)
    assert pic._sum.nbytes + pic._n.nbytes == nbytes  # independent of the duration
    q = pic.q
    assert q & (q - 1) == 0 and -(-n_cols // q) <= 100 and (q == 1 or -(-n_cols // (q // 2)) > 100)  # smallest q
    expect = 10 * np.log10(_direct_picture(power.astype(np.float64), q) + 1e-12)
    np.testing.assert_allclose(pic.db(), expect, rtol=0, atol=1e-4)


def _random_boxes(rng, n_blocks, block):
    out = []
    for i in range(n_blocks):
        for _ in range(rng.integers(0, 4)):
            lo = int(rng.integers(0, 60))
            c0 = i * block + int(rng.integers(0, block - 5))
            c1 = min((i + 1) * block, c0 + int(rng.integers(3, block)))
            if rng.random() < 0.5:  # touching the block end: continues in the next block
                c1 = (i + 1) * block
            out.append((i, Box(lo, lo + int(rng.integers(2, 8)), c0, c1, int(rng.integers(1, 3)), 1.0, c1 - c0)))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_settled_boxes_plus_rest_equal_one_merge(seed):
    rng = np.random.default_rng(seed)
    block = 40
    raw = _random_boxes(rng, 30, block)
    expect = merge_boxes([b for _, b in raw], same_class=False)  # a carrier is one box (annotate.decide)
    settler, settled = Settler(), []
    for i in range(30):
        settler.add([Box(**vars(b)) for j, b in raw if j == i])
        settled += settler.settle((i + 1) * block)
    got = settled + settler.rest()
    key = lambda b: (b.col_lo, b.row_lo, b.row_hi, b.col_hi, b.cls, b.prob_sum, b.n_pixels)  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, expect))
    assert all(b.col_hi + GAP_COLUMNS < 30 * block for b in settled)
    assert len(settler.pending) < len(raw)  # settled boxes are no longer kept
