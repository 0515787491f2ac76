"""annotate.nr_fragments: a piece of an NR cell is told from another transmitter by its OFDM clock."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.annotate.nr_fragments import aligned
from radiofm.dsp.nr_cells import pss_timing
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
SCS = 30e3


@pytest.fixture(scope="module")
def cell():
    """A 20 MHz, 30 kHz NR carrier at -8 MHz, 60 % of its RBs scheduled: (iq, metadata, SSB centre, PSS CP
    start)."""
    iq, m = single_carrier("NR", np.random.default_rng(11), bandwidth_mhz=20, scs_hz=SCS, snr_db=15.0,
                           centre_hz=-8e6, load=0.6)  # fmt: skip
    ssb = m["lower_edge_hz"] + (12 * m["ssb_rb_offset"] + m["ssb_sc_offset"] + 120.5) * SCS
    pss = pss_timing(iq, FS, ssb_center_hz=ssb, scs_hz=SCS, n_id2=m["n_id_cell"] % 3)
    return iq, m, ssb, pss


def _far_from_ssb(m, ssb):
    """A 3 MHz piece of the carrier on the side of the SSB with more room."""
    lo, hi = m["lower_edge_hz"], m["upper_edge_hz"]
    return (lo + 0.3e6, lo + 3.3e6) if ssb - lo > hi - ssb else (hi - 3.3e6, hi - 0.3e6)


def test_a_piece_of_the_cell_runs_on_its_clock_from_any_start(cell):
    iq, m, ssb, pss = cell
    band = _far_from_ssb(m, ssb)
    for start in (0, 123_457, 1_000_000):  # pieces read from anywhere: the cell's timing is counted from each
        piece = iq[start : start + 400_000]
        assert aligned(piece, FS, band_hz=band, scs_hz=SCS, pss_cp_start=pss - start, ssb_center_hz=ssb)


def test_another_transmitter_does_not(cell):
    iq, m, ssb, pss = cell
    band = _far_from_ssb(m, ssb)
    piece = iq[:400_000]
    late = np.roll(iq, 1000)[:400_000]  # the same signal 16 us later: another gNB's timing
    assert not aligned(late, FS, band_hz=band, scs_hz=SCS, pss_cp_start=pss, ssb_center_hz=ssb)
    shifted = piece * np.exp(2j * np.pi * 7e3 / FS * np.arange(piece.size)).astype(np.complex64)  # off the raster
    assert not aligned(shifted, FS, band_hz=(band[0] + 7e3, band[1] + 7e3), scs_hz=SCS, pss_cp_start=pss,
                       ssb_center_hz=ssb)  # fmt: skip
    assert not aligned(piece, FS, band_hz=band, scs_hz=15e3, pss_cp_start=pss, ssb_center_hz=ssb)  # numerology


def test_noise_and_short_pieces_are_not_tested(cell):
    iq, m, ssb, pss = cell
    noise = np.random.default_rng(1).standard_normal(800_000).astype(np.float32).view(np.complex64)
    assert not aligned(noise, FS, band_hz=(10e6, 13e6), scs_hz=SCS, pss_cp_start=pss, ssb_center_hz=ssb)
    short = iq[: int(0.8e-3 * FS)]
    assert not aligned(short, FS, band_hz=_far_from_ssb(m, ssb), scs_hz=SCS, pss_cp_start=pss, ssb_center_hz=ssb)
