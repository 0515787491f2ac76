"""Carrier-level scoring (radiofm.tasks.segmentation_carriers) on hand-built probability maps."""

import numpy as np
import pytest

from radiofm.dsp.frontend import FRAME_SAMPLES, row_freqs_hz
from radiofm.synth.nrlte import label_image
from radiofm.tasks import segmentation_carriers as sc

H = 64
F = row_freqs_hz(H, 256)


def _carrier(kind, row0, row1, traffic, start=0, count=FRAME_SAMPLES, scs_hz=15e3):
    """A carrier whose occupied band covers exactly rows row0..row1-1 of a 64-row image."""
    step = F[1] - F[0]
    return {
        "type": kind,
        "lower_edge_hz": F[row0] - step / 2,
        "upper_edge_hz": F[row1 - 1] + step / 2,
        "sample_start": start,
        "sample_count": count,
        "traffic": traffic,
        "snr_db": 10.0,
        "scs_hz": scs_hz,
    }


def _probs(pred, confidence=0.8):
    p = np.full((3, *pred.shape), (1 - confidence) / 2, np.float32)
    for k in range(3):
        p[k][pred == k] = confidence
    return p


def test_box_matches_the_label_image():
    c = _carrier("LTE", 10, 20, "full", start=FRAME_SAMPLES // 4, count=FRAME_SAMPLES // 2)
    rows, cols = sc.carrier_box(c, (H, H), fft_size=256)
    assert np.flatnonzero(rows).tolist() == list(range(10, 20)) and cols.sum() == H // 2
    lab = label_image([c], fft_size=256, image_size=H)
    assert np.array_equal(lab == 2, rows[:, None] & cols[None, :])


def test_pooling_takes_the_whole_carriers_evidence():
    nr, lte = _carrier("NR", 5, 25, "matlab"), _carrier("LTE", 35, 55, "full", count=FRAME_SAMPLES // 2)
    pred = np.zeros((H, H), int)
    pred[5:25] = 1  # NR carrier: all NR
    pred[35:55, :32] = 1  # LTE carrier: 60 % of its active pixels called NR ...
    pred[35:55, :13] = 2
    pred[35:55, 32:] = 2  # ... outside its active span it is LTE: must not count
    probs = _probs(pred)
    probs[:, 35:55, 13:32] = np.array([0.1, 0.46, 0.44])[
        :, None, None
    ]  # ... but only just: the pooled sum still favours LTE
    records = sc.score_frame(probs, [nr, lte], fft_size=256)
    assert [r["predicted"] for r in records] == ["NR", "LTE"]
    s_lte = 13 * 0.8 + 19 * 0.44 + 0 * 0.1
    s_nr = 13 * 0.1 + 19 * 0.46
    assert records[1]["scores"]["LTE"] == pytest.approx(s_lte / (s_lte + s_nr), abs=1e-4)
    assert records[1]["pixels"] == 20 * 32 and records[1]["pixels_right"] == 20 * 13
    assert records[0]["freq_iou"] == 1.0 and records[1]["freq_iou"] == 1.0


def test_frequency_iou_and_adjacent_carriers():
    a, b = _carrier("NR", 10, 20, "random"), _carrier("LTE", 22, 32, "idle")
    pred = np.zeros((H, H), int)
    pred[8:22] = 1  # a's band predicted 2 rows too low, running into the gap
    pred[22:30] = 2  # b's band 2 rows short at the top
    pred[40:44] = 2  # a spurious band far away: not either carrier's
    records = sc.score_frame(_probs(pred), [a, b], fft_size=256)
    # gap row 20 is nearer a's band, row 21 nearer b's: a's band is rows 8..20 (IoU 10/13); b's 21..29 (signal of
    # either class counts as occupied), against its true 22..31 (IoU 8/11); the spurious band belongs to neither
    assert records[0]["freq_iou"] == pytest.approx(10 / 13, abs=1e-4)
    assert records[1]["freq_iou"] == pytest.approx(8 / 11, abs=1e-4)
    pred[:] = 0
    assert [r["freq_iou"] for r in sc.score_frame(_probs(pred), [a, b], fft_size=256)] == [0.0, 0.0]


def test_tally_report_per_regime_and_class():
    tally = sc.CarrierTally(fft_size=256)
    nr, lte = _carrier("NR", 5, 25, "matlab"), _carrier("LTE", 35, 55, "full")
    right = np.zeros((H, H), int)
    right[5:25], right[35:55] = 1, 2
    wrong = right.copy()
    wrong[35:55] = 1  # LTE called NR
    tally.add(np.stack([_probs(right), _probs(wrong)]), [[nr, lte], [nr, lte]])
    rep = tally.report()
    cl = rep["carrier_level"]
    assert cl["carriers"] == 4 and cl["carrier_accuracy"] == 0.75
    assert cl["per_class"]["NR"]["carrier_accuracy"] == 1.0 and cl["per_class"]["LTE"]["carrier_accuracy"] == 0.5
    assert cl["confusion"] == {"NR": {"NR": 2, "LTE": 0}, "LTE": {"NR": 1, "LTE": 1}}
    assert set(rep["per_regime"]) == {"matlab", "full"}
    full = rep["per_regime"]["full"]
    assert full["carriers"] == 2 and full["carrier_accuracy"] == 0.5 and full["pixel_accuracy"] == 0.5
    assert set(full["per_class"]) == {"LTE"} and full["freq_iou_mean"] == 1.0
    assert [r["frame"] for r in cl["records"]] == [0, 0, 1, 1]
    assert cl["per_numerology"]["NR 15 kHz"]["carrier_accuracy"] == 1.0
    assert cl["per_numerology"]["LTE 15 kHz"]["carriers"] == 2


def test_tally_report_per_numerology():
    tally = sc.CarrierTally(fft_size=256)
    nr15, nr30 = _carrier("NR", 5, 25, "full"), _carrier("NR", 35, 55, "full", scs_hz=30e3)
    pred = np.zeros((H, H), int)
    pred[5:25], pred[35:55] = 2, 1  # the 15 kHz NR carrier called LTE, the 30 kHz one right
    tally.add(_probs(pred)[None], [[nr15, nr30]])
    per = tally.report()["carrier_level"]["per_numerology"]
    assert list(per) == ["NR 15 kHz", "NR 30 kHz"]
    assert per["NR 15 kHz"]["carrier_accuracy"] == 0.0 and per["NR 30 kHz"]["carrier_accuracy"] == 1.0
    del nr15["scs_hz"], nr30["scs_hz"]  # a manifest without numerologies: no block entries
    tally = sc.CarrierTally(fft_size=256)
    tally.add(_probs(pred)[None], [[nr15, nr30]])
    assert tally.report()["carrier_level"]["per_numerology"] == {}


def test_tally_report_per_duplex():
    """Both generators' manifests: ``duplex`` (LTE main, all alt) or an NR ``tdd_pattern`` (main NR)."""
    lte_tdd, lte_fdd = _carrier("LTE", 2, 14, "full"), _carrier("LTE", 18, 30, "full")
    lte_tdd["duplex"], lte_fdd["duplex"] = "TDD", "FDD"
    nr_tdd, nr_none = _carrier("NR", 34, 46, "idle"), _carrier("NR", 50, 62, "idle")
    nr_tdd["tdd_pattern"] = "DDDSU"
    pred = np.zeros((H, H), int)
    pred[2:14], pred[18:30], pred[34:46], pred[50:62] = 1, 2, 1, 1  # the TDD LTE carrier called NR
    tally = sc.CarrierTally(fft_size=256)
    tally.add(_probs(pred)[None], [[lte_tdd, lte_fdd, nr_tdd, nr_none]])
    per = tally.report()["carrier_level"]["per_duplex"]
    assert list(per) == ["LTE FDD", "LTE TDD", "NR TDD"]  # the NR carrier saying nothing is left out
    assert per["LTE TDD"]["carrier_accuracy"] == 0.0 and per["LTE FDD"]["carrier_accuracy"] == 1.0
    assert per["NR TDD"]["carriers"] == 1
    assert [sc.duplex(c) for c in (lte_tdd, nr_tdd, {"tdd_pattern": None}, {})] == ["TDD", "TDD", "FDD", None]
