"""annotate.blind_scan (``annotate --scan-all``): cells the model did not see, found in the band left free."""

from __future__ import annotations

import numpy as np
import pytest

import radiofm.annotate as A
from radiofm.annotate.blind_scan import free_bands
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
FC = 3.5e9
SCS = 30e3


def blind_predictor(images, frames):
    """A model that sees nothing: noise everywhere."""
    out = np.zeros((len(images), 3, 256, 256), np.float32)
    out[:, 0] = 1.0
    return out


def test_free_bands_are_the_gaps_wide_enough_for_a_carrier():
    taken = [(5e6, 10e6), (-20e6, -12e6), (9e6, 11e6), (11.5e6, 20e6)]
    assert free_bands(-30e6, 30e6, taken) == [(-30e6, -20e6), (-12e6, 5e6), (20e6, 30e6)]  # 11..11.5 MHz: too narrow
    assert free_bands(-30e6, 30e6, []) == [(-30e6, 30e6)]


@pytest.mark.parametrize(("kind", "snr_db"), [("NR", 0.0), ("LTE", 10.0)])
def test_scan_all_finds_a_cell_the_model_missed(tmp_path, kind, snr_db):
    """A cell the model does not see at all (an NR carrier at 0 dB, an LTE cell at 10 dB, 30 % load): nothing
    without ``scan_all``; with it, the cell over the searched span, its band from its DMRS or CRS."""
    kw = {"bandwidth_mhz": 20, "scs_hz": SCS} if kind == "NR" else {"bandwidth_mhz": 10}
    iq, m = single_carrier(kind, np.random.default_rng(5 if kind == "NR" else 11), snr_db=snr_db, centre_hz=8e6,
                           load=0.3, **kw)  # fmt: skip
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    assert A.annotate_recording(rec, blind_predictor).annotations == []
    (a,) = A.annotate_recording(rec, blind_predictor, scan_all=True).annotations
    assert a.label == kind and a.extra["radiofm:pci"] == m["n_id_cell"] and a.sample_start == 0
    assert abs(a.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3
    assert abs(a.freq_upper_edge_hz - (FC + m["upper_edge_hz"])) < 2e3
