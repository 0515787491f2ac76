"""annotate.blind_scan (by default in ``annotate``): cells the model did not see, found in the band left free."""

from __future__ import annotations

import numpy as np
import pytest
from band_predictors import NR, band_predictor

import radiofm.annotate as A
from radiofm.annotate.blind_scan import free_bands
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
FC = 3.5e9
SCS = 30e3


def test_free_bands_are_the_gaps_wide_enough_for_a_carrier():
    taken = [(5e6, 10e6), (-20e6, -12e6), (9e6, 11e6), (11.5e6, 20e6)]
    assert free_bands(-30e6, 30e6, taken) == [(-30e6, -20e6), (-12e6, 5e6), (20e6, 30e6)]  # 11..11.5 MHz: too narrow
    assert free_bands(-30e6, 30e6, []) == [(-30e6, 30e6)]


@pytest.mark.parametrize(("kind", "snr_db"), [("NR", 0.0), ("LTE", 10.0)])
def test_blind_scan_finds_a_cell_the_model_missed(tmp_path, kind, snr_db):
    """A cell the model does not see at all (an NR carrier at 0 dB, an LTE cell at 10 dB, 30 % load): nothing
    without the blind scan of its standard (``scan_nr=False`` / ``scan_lte=False``); by default, the cell over the
    searched span, its band from its DMRS or CRS."""
    kw = {"bandwidth_mhz": 20, "scs_hz": SCS} if kind == "NR" else {"bandwidth_mhz": 10}
    iq, m = single_carrier(kind, np.random.default_rng(5 if kind == "NR" else 11), snr_db=snr_db, centre_hz=8e6,
                           load=0.3, **kw)  # fmt: skip
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    off = {"scan_nr": False} if kind == "NR" else {"scan_lte": False}
    other = {"scan_lte": False} if kind == "NR" else {"scan_nr": False}
    assert A.annotate_recording(rec, band_predictor([]), **off).annotations == []
    (a,) = A.annotate_recording(rec, band_predictor([])).annotations
    assert A.annotate_recording(rec, band_predictor([]), **other).annotations == [a]
    assert a.label == kind and a.extra["radiofm:pci"] == m["n_id_cell"] and a.sample_start == 0
    assert abs(a.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3
    assert abs(a.freq_upper_edge_hz - (FC + m["upper_edge_hz"])) < 2e3


def test_blind_scan_finds_an_lte_cell_cut_by_the_capture(tmp_path):
    """A 10 MHz LTE cell at 4.5..13.5 MHz received at 25 MS/s (a rate off the LTE grid; resampled before writing): the
    capture ends at 12.5 MHz, past which the cell's band runs. Its PSS/SSS and lower edge are in the capture, so it
    is the cell, with its PCI, over the band it shows, and the evidence says where the band was cut."""
    from scipy.signal import resample_poly

    iq, m = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=10.0, centre_hz=9e6, load=0.3)
    rate = 25e6
    x = resample_poly(iq, 625, 1536).astype(np.complex64)  # 61.44 -> 25 MS/s
    rec = open_recording(write_sigmf(tmp_path / "c", x, sample_rate_hz=rate, center_freq_hz=FC))
    (a,) = A.annotate_recording(rec, band_predictor([]), scan_nr=False).annotations
    assert a.label == "LTE" and a.extra["radiofm:pci"] == m["n_id_cell"]
    assert abs(a.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3 and a.freq_upper_edge_hz == FC + rate / 2
    assert a.extra["radiofm:evidence"]["lte_n_rb"] == 50
    assert any("cut there" in item for item in a.extra["radiofm:evidence"]["items"])


def test_one_box_over_two_nr_carriers_becomes_both(tmp_path):
    """Two 10 MHz NR carriers 0.36 MHz apart (too close for annotate's guard-band cut) the model drew as one block:
    the per-carrier search finds one SSB, its DMRS give that carrier's band, and the rest of the box is searched:
    the other carrier, with its own band."""
    a, ma = single_carrier("NR", np.random.default_rng(5), bandwidth_mhz=10, scs_hz=SCS, snr_db=12.0,
                           centre_hz=-4.5e6, load=0.3)  # fmt: skip
    b, mb = single_carrier("NR", np.random.default_rng(6), bandwidth_mhz=10, scs_hz=SCS, snr_db=12.0,
                           centre_hz=4.5e6, load=0.3)  # fmt: skip
    rec = open_recording(write_sigmf(tmp_path / "c", a + b, sample_rate_hz=FS, center_freq_hz=FC))
    anns = A.annotate_recording(rec, band_predictor([(ma["lower_edge_hz"], mb["upper_edge_hz"])], NR)).annotations
    assert sorted(x.extra["radiofm:pci"] for x in anns) == sorted([ma["n_id_cell"], mb["n_id_cell"]])
    for x in anns:
        m = ma if x.extra["radiofm:pci"] == ma["n_id_cell"] else mb
        assert x.label == "NR" and abs(x.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3
        assert abs(x.freq_upper_edge_hz - (FC + m["upper_edge_hz"])) < 2e3
