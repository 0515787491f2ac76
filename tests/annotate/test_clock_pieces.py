"""annotate.clock_pieces: carriers no cell identified, boxed apart, are one carrier when they run on one OFDM clock."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.annotate import clock_pieces
from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision
from radiofm.annotate.nr_fragments import piece_clock, same_clock
from radiofm.annotate.plan import plan_analysis
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
SCS = 30e3


@pytest.fixture(scope="module")
def two_carriers(tmp_path_factory):
    """Two 20 MHz, 30 kHz NR carriers at -15 and +12 MHz from independent transmitters (their own timing), 60 %
    of their RBs scheduled: (recording, metadata of each)."""
    rng = np.random.default_rng(5)
    a, ma = single_carrier("NR", rng, bandwidth_mhz=20, scs_hz=SCS, snr_db=15.0, centre_hz=-15e6, load=0.6)
    b, mb = single_carrier("NR", rng, bandwidth_mhz=20, scs_hz=SCS, snr_db=15.0, centre_hz=12e6, load=0.6)
    assert abs(ma["time_shift"] - mb["time_shift"]) > 2000  # the scene this test needs: other symbol timings
    path = write_sigmf(tmp_path_factory.mktemp("clock") / "two", a + b, sample_rate_hz=FS, center_freq_hz=3.5e9)
    return open_recording(path), ma, mb


def _box(plan, lo_hz, hi_hz, c0=0, c1=None):
    freq = plan.row_freq_hz(plan.grid[0] + np.arange(plan.grid[1] - plan.grid[0]))
    rows = np.flatnonzero((freq >= lo_hz) & (freq <= hi_hz))
    return Box(int(rows[0]), int(rows[-1]), c0, plan.n_columns if c1 is None else c1, 1, 50.0, 100, 30.0, 20.0)


def _undecided():
    return Decision("unknown", {"NR": 0.6, "LTE": 0.4}, "undecided", 0.5)


def test_pieces_of_one_carrier_share_its_clock_and_another_carrier_does_not(two_carriers):
    rec, ma, mb = two_carriers
    x = rec.read(0, 600_000)
    lo, hi = ma["lower_edge_hz"], ma["upper_edge_hz"]
    low = piece_clock(x, FS, band_hz=(lo + 0.5e6, lo + 6e6), scs_hz=SCS)
    high = piece_clock(x, FS, band_hz=(hi - 6e6, hi - 0.5e6), scs_hz=SCS)
    late = piece_clock(x[300_000:], FS, band_hz=(hi - 6e6, hi - 0.5e6), scs_hz=SCS, x_start=300_000)  # read later
    other = piece_clock(x, FS, band_hz=(mb["lower_edge_hz"] + 0.5e6, mb["lower_edge_hz"] + 6e6), scs_hz=SCS)
    assert same_clock(low, high) and same_clock(high, low) and same_clock(low, late)
    assert not same_clock(low, other)
    slow = piece_clock(x, FS, band_hz=(lo + 0.5e6, lo + 6e6), scs_hz=15e3, min_rho=0.0)
    assert not same_clock(low, slow)  # another numerology


def test_carriers_boxed_apart_join_when_on_one_clock(two_carriers):
    """Two pieces of the first carrier and one of the second, each its own undecided carrier: the first two become
    one carrier over both bands, labelled from the evidence of the whole; the third stays apart."""
    rec, ma, mb = two_carriers
    plan = plan_analysis(FS, rec.n_samples)
    lo, hi = ma["lower_edge_hz"], ma["upper_edge_hz"]
    boxes = [_box(plan, lo + 0.5e6, lo + 6e6), _box(plan, hi - 6e6, hi - 0.5e6),
             _box(plan, mb["lower_edge_hz"] + 0.5e6, mb["upper_edge_hz"] - 0.5e6)]  # fmt: skip
    decisions = [_undecided() for _ in boxes]
    got_b, got_d, clocks = clock_pieces.join_pieces(boxes, decisions, rec, plan, min_score=0.75, phy_max_ms=20.0)
    assert clocks == 3 and got_b == boxes
    assert got_d[0] is got_d[1] and got_d[2] is decisions[2]
    joined = got_d[0]
    assert joined.label == "NR" and joined.band_hz[0] <= lo + 0.8e6 and joined.band_hz[1] >= hi - 0.8e6
    assert "one OFDM clock" in joined.evidence["items"][-1]


def test_no_join_without_overlap_in_time_or_for_identified_cells(two_carriers):
    rec, ma, _ = two_carriers
    plan = plan_analysis(FS, rec.n_samples)
    lo, hi = ma["lower_edge_hz"], ma["upper_edge_hz"]
    half = plan.n_columns // 2
    apart = [_box(plan, lo + 0.5e6, lo + 6e6, 0, half - 10), _box(plan, hi - 6e6, hi - 0.5e6, half + 10)]
    decisions = [_undecided(), _undecided()]
    got = clock_pieces.join_pieces(apart, decisions, rec, plan, min_score=0.75, phy_max_ms=20.0)[1]
    assert got[0] is not got[1]
    cell = Decision("NR", {"NR": 1.0, "LTE": 0.0}, "phy", 0.9, {"ssb": {}}, pci=7)  # a cell is never rejoined
    boxes = [_box(plan, lo + 0.5e6, lo + 6e6), _box(plan, hi - 6e6, hi - 0.5e6)]
    got = clock_pieces.join_pieces(boxes, [cell, _undecided()], rec, plan, min_score=0.75, phy_max_ms=20.0)[1]
    assert got[0] is cell and got[1] is not cell
