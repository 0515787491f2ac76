"""annotate.score: annotate's boxes against true annotations, per carrier and per pixel, on hand-built cases."""

from __future__ import annotations

import numpy as np

from radiofm.annotate.score import AnnotateScore, match, paint
from radiofm.data.sigmf_format import Annotation

N = 256_000  # samples: 1000 per grid column
BAND = dict(n_samples=N, lower_hz=-128e6, upper_hz=128e6)  # 1 MHz per grid row


def ann(lo_mhz, hi_mhz, label, s0=0, s1=N, **extra):
    return Annotation(s0, s1 - s0, lo_mhz * 1e6, hi_mhz * 1e6, label, extra)


def test_paint_rows_and_columns_from_cell_centres():
    grid = paint([ann(0, 10, "NR", 0, N // 2), ann(5, 20, "LTE", N // 4, N), ann(-20, -10, "unknown")], **BAND)
    assert grid.shape == (256, 256) and grid.dtype == np.uint8
    assert (grid[128:133, :64] == 1).all() and (grid[133:148, 64:] == 2).all()  # the later box wins the overlap
    assert (grid[108:118] == 3).all() and (grid[118:128] == 0).all() and grid[148:, :].max() == 0
    assert (grid[128:133, 128:] == 0).all() and (grid[133:138, 128:] == 2).all()  # NR off, LTE on


def test_match_picks_the_largest_frequency_iou_among_boxes_on_at_the_same_time():
    truth = ann(0, 10, "NR", 0, N // 2)
    late = ann(0, 10, "NR", N // 2, N)  # same band, after the carrier ended
    half = ann(0, 6, "LTE")  # IoU 0.6
    assert match(truth, [late, half]) == (half, 0.6)
    assert match(truth, [ann(0, 4, "NR")]) == (None, 0.4)  # below 0.5: missed
    assert match(truth, []) == (None, 0.0)


def test_outcomes_pixels_and_false_boxes():
    truth = [ann(0, 10, "NR", regime="a"), ann(20, 30, "LTE"), ann(40, 50, "LTE"), ann(60, 70, "NR")]
    predicted = [ann(0, 10, "NR"), ann(20, 30, "NR"), ann(41, 50, "unknown"), ann(-50, -40, "LTE")]
    score = AnnotateScore()
    records = score.add(truth, predicted, tags={"capture": 3}, **BAND)
    assert [r["outcome"] for r in records] == ["right", "wrong", "unknown", "missed"]
    assert all(r["capture"] == 3 for r in records) and records[2]["freq_iou"] == 0.9
    rep = score.report()
    assert rep["false_boxes"] == 1 and rep["recordings"] == 1
    assert rep["carriers"]["NR"] == {
        "n": 2, "right": 1, "wrong": 0, "unknown": 0, "missed": 1, "accuracy": 0.5, "accuracy_of_found": 1.0,
        "freq_iou_mean": 0.5, "freq_iou_ge_0.9": 0.5,
    }  # fmt: skip
    assert rep["per_decision"] == {  # annotations without a radiofm:decision: all under "None"
        "None": {"carriers": 3, "right": 1, "wrong": 1, "unknown": 1, "false_boxes": 1}
    }
    px = rep["pixel"]
    assert px["per_class_accuracy"]["NR"] == 0.5  # rows 128-137 right, 188-197 missed
    assert px["per_class_accuracy"]["LTE"] == 0.0  # one called NR, one unknown
    noise = np.array(px["confusion"][0])
    assert noise.sum() == 256 * (256 - 40) and noise[2] == 10 * 256  # the false LTE box
    assert px["mean_class_accuracy"] == np.mean([noise[0] / noise.sum(), 0.5, 0.0])


def test_scores_add_up_over_recordings():
    a, b = AnnotateScore(), AnnotateScore()
    a.add([ann(0, 10, "NR")], [ann(0, 10, "NR")], **BAND)
    b.add([ann(0, 10, "LTE")], [], **BAND)
    total = AnnotateScore()
    total += a
    total += b
    rep = total.report()
    assert rep["recordings"] == 2 and rep["carriers"]["NR"]["right"] == 1 and rep["carriers"]["LTE"]["missed"] == 1
    assert np.array(rep["pixel"]["confusion"]).sum() == 2 * 256 * 256


def test_carriers_and_false_boxes_by_the_step_that_decided_them():
    def by(decision, *args):
        return ann(*args, **{"radiofm:decision": decision})

    truth = [ann(0, 10, "NR"), ann(20, 30, "LTE"), ann(40, 50, "NR"), ann(60, 70, "LTE")]
    predicted = [by("phy", 0, 10, "NR"), by("spectrogram", 20, 30, "NR"), by("NR unconfirmed", 40, 50, "unknown")]
    predicted += [by("spectrogram", -50, -40, "LTE"), by("no OFDM", -30, -20, "unknown")]
    a = AnnotateScore()
    a.add(truth, predicted, **BAND)
    b = AnnotateScore()
    b.add([ann(0, 10, "LTE")], [by("phy", 0, 10, "LTE"), by("phy", 50, 60, "LTE")], **BAND)
    a += b
    rep = a.report()
    assert rep["false_boxes"] == 3
    assert rep["per_decision"] == {
        "NR unconfirmed": {"carriers": 1, "right": 0, "wrong": 0, "unknown": 1, "false_boxes": 0},
        "no OFDM": {"carriers": 0, "right": 0, "wrong": 0, "unknown": 0, "false_boxes": 1},
        "phy": {"carriers": 2, "right": 2, "wrong": 0, "unknown": 0, "false_boxes": 1},
        "spectrogram": {"carriers": 1, "right": 0, "wrong": 1, "unknown": 0, "false_boxes": 1},
    }  # the LTE at 60-70 MHz was missed: no step decided it
    assert [r["decision"] for r in a.carriers] == ["phy", "spectrogram", "NR unconfirmed", None, "phy"]
