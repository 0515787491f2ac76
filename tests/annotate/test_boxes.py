"""annotate.boxes: band-edge alias ramps (issue 8: a spurious 1-2 MHz box at the edge of a 30.72 MS/s capture)."""

from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

import radiofm.annotate as A
from radiofm.annotate.boxes import Box, absorb, edge_alias
from radiofm.data import open_recording, write_sigmf
from tests.annotate.test_annotate import band_capture, carrier


def energy_predictor(images, frames):
    """A stand-in for a model that calls anything 3 dB above the image's floor a carrier (LTE): what a trained
    model does with the alias ramp at the band edge."""
    out = np.zeros((len(images), 3, 256, 256), np.float32)
    for i, img in enumerate(images):
        m = (img > np.percentile(img, 30) + 3).astype(np.float32)
        out[i, 2], out[i, 1], out[i, 0] = 0.9 * m, 0.05 * m, 1 - 0.95 * m
    return out


def test_decimated_capture_has_no_alias_box_at_the_far_edge(tmp_path):
    """A 61.44 MS/s capture holding a carrier from -20 to -8 MHz, decimated to 30.72 MS/s with resample_poly:
    the part beyond -15.36 MHz folds into the upper edge through the filter's transition band (a ramp rising
    toward +15.36 MHz). Before the fix it came out as a second "LTE" carrier at 13.6-15.2 MHz."""
    n = int(61.44e6 * 0.04)
    x = band_capture(61.44e6, n, [carrier("LTE", -20e6, -8e6, 0, n)], snr_db=25)
    y = resample_poly(x, 1, 2).astype(np.complex64)
    rec = open_recording(write_sigmf(tmp_path / "r", y, sample_rate_hz=30.72e6))
    res = A.annotate_recording(rec, energy_predictor, phy=False)
    assert len(res.annotations) == 1, res.annotations  # the real (clipped) carrier only
    a = res.annotations[0]
    assert a.freq_lower_edge_hz == -15.36e6 and abs(a.freq_upper_edge_hz + 8e6) < 0.6e6


def test_edge_alias_rule():
    power = np.ones((40, 10))
    ramp = Box(35, 39, 0, 10, 2, 0.0, 1)
    power[35:40] = 10 ** (np.array([0.5, 1.0, 2.0, 4.0, 7.0])[:, None] / 10)  # rising toward the top edge
    assert edge_alias(power, ramp)
    flat = power.copy()
    flat[35:40] = 10 ** (np.array([10.0, 20.0, 20.5, 19.8, 20.1])[:, None] / 10)  # a real carrier cut by the edge
    assert not edge_alias(flat, ramp)
    falling = power.copy()
    falling[35:40] = 10 ** (np.array([20.0, 20.0, 19.0, 16.0, 12.0])[:, None] / 10)  # receiver roll-off
    assert not edge_alias(falling, ramp)
    low = np.flipud(power)  # the same ramp at the bottom edge
    assert edge_alias(low, Box(0, 4, 0, 10, 2, 0.0, 1))
    assert not edge_alias(power, Box(30, 36, 0, 10, 2, 0.0, 1))  # not at an edge


def _merge_every_pair(boxes, *, gap_columns, row_tolerance=1, same_class=True):
    """merge_boxes as it was: each box compared with every merged box so far (the reference)."""
    out = []
    for b in sorted(boxes, key=lambda b: (b.col_lo, b.row_lo)):
        kw = {"gap_columns": gap_columns, "row_tolerance": row_tolerance, "same_class": same_class}
        if not any(absorb(m, b, **kw) for m in out):
            out.append(Box(**vars(b)))
    return out


def test_merge_boxes_compares_only_boxes_still_in_reach():
    """Comparing a box only with the merged boxes that end within the gap of its start (the rest can take no later
    box) gives the very result of comparing it with all of them: random boxes, both modes, several gaps."""
    rng = np.random.default_rng(11)
    for trial in range(40):
        n = int(rng.integers(1, 80))
        lo, c0 = rng.integers(0, 6, n), rng.integers(0, 400, n)
        boxes = [Box(int(a), int(a + rng.integers(3, 6)), int(c), int(c + rng.integers(1, 60)), int(rng.integers(1, 3)),
                     float(rng.random()), int(rng.integers(1, 50)), float(rng.random()), float(rng.random()))
                 for a, c in zip(lo, c0)]  # fmt: skip
        for gap in (0, 5, 40):
            for same_class in (True, False):
                got = A.merge_boxes(boxes, gap_columns=gap, same_class=same_class)
                assert got == _merge_every_pair(boxes, gap_columns=gap, same_class=same_class), (trial, gap)
