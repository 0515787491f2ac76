"""annotate.nr_scan: an NR carrier the model saw in pieces becomes one carrier, from its SSB and PDSCH DMRS."""

from __future__ import annotations

import numpy as np
from band_predictors import NR, band_predictor

import radiofm.annotate as A
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
FC = 3.5e9
SCS = 30e3


def _carrier(tmp_path):
    """A 20 MHz, 30 kHz NR carrier with 30 % of its RBs scheduled per slot; its SSB centre (Hz from the centre)."""
    iq, m = single_carrier("NR", np.random.default_rng(5), bandwidth_mhz=20, scs_hz=SCS, snr_db=8.0, centre_hz=-5e6,
                           load=0.3)  # fmt: skip
    ssb = m["lower_edge_hz"] + (12 * m["ssb_rb_offset"] + m["ssb_sc_offset"] + 120.5) * SCS
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    return rec, m, ssb


def _whole_carrier(a, m):
    assert a.label == "NR" and a.extra["radiofm:pci"] == m["n_id_cell"]
    assert a.extra["radiofm:edges"] == "measured" and a.extra["radiofm:evidence"]["nr_band"]["n_rb"] == m["n_rb"]
    assert abs(a.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3
    assert abs(a.freq_upper_edge_hz - (FC + m["upper_edge_hz"])) < 2e3


def test_pieces_of_a_carrier_around_its_ssb_become_the_whole_carrier(tmp_path):
    """Two pieces: one holding the SSB (the per-carrier search finds the PCI), one 5 MHz away holding only PDSCH.
    Before this stage: two carriers, the second labelled by the spectrogram alone."""
    rec, m, ssb = _carrier(tmp_path)
    pieces = [(ssb - 3.8e6, ssb + 3.8e6), (m["lower_edge_hz"] + 0.5e6, m["lower_edge_hz"] + 3.5e6)]
    (a,) = A.annotate_recording(rec, band_predictor(pieces, NR)).annotations
    _whole_carrier(a, m)
    assert len(A.annotate_recording(rec, band_predictor(pieces, NR), phy=False).annotations) == 2


def test_a_piece_cutting_the_ssb_is_scanned_for_it(tmp_path):
    """The piece covers only the upper part of the SSB: the per-carrier search, limited to the piece, cannot see
    the PSS; the scan around it finds the SSB, then the DMRS give the carrier."""
    rec, m, ssb = _carrier(tmp_path)
    piece = (ssb + 1.0e6, min(ssb + 5.0e6, m["upper_edge_hz"] - 0.3e6))
    anns = A.annotate_recording(rec, band_predictor([piece], NR)).annotations
    (a,) = anns
    _whole_carrier(a, m)
    assert "scan of" in a.extra["radiofm:evidence"]["items"][0]
