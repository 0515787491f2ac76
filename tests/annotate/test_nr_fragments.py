"""annotate.nr_fragments: a piece of an NR cell is told from another transmitter by its OFDM clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from band_predictors import LTE, NR, band_predictor

import radiofm.annotate as A
from radiofm.annotate import nr_idle, nr_scan
from radiofm.annotate.nr_fragments import aligned
from radiofm.data import open_recording, write_sigmf
from radiofm.dsp.nr_cells import pss_timing
from radiofm.synth.nrlte.carrier import single_carrier
from radiofm.synth.nrlte_alt import scene

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


def test_an_idle_cells_coreset_boxed_apart_joins_the_cell(tmp_path, monkeypatch):
    """An idle cell (SSB and CORESET only, no PDSCH: no DMRS to find) whose CORESET the model boxed apart from the
    SSB and called LTE: the piece runs on the cell's clock, so it is one NR carrier with the cell's PCI, its band
    over both pieces; without the test, two carriers."""
    n = 2_457_600
    plans = scene.plan_scene(np.random.default_rng(2), split="test", regimes=["idle"], sample_rate_hz=FS, n_samples=n)
    p = scene.replace(next(q for q in plans if q.kind == "NR"), snr_db=20.0)
    c, f0 = p.cell, p.center_hz - 6 * p.cell.n_rb * p.scs_hz
    ssb = (f0 + c.ssb_sc0 * p.scs_hz, f0 + (c.ssb_sc0 + 240) * p.scs_hz)
    coreset = (f0 + 12 * c.coreset_rb0 * p.scs_hz, f0 + 12 * (c.coreset_rb0 + c.coreset_n_rb) * p.scs_hz)
    assert coreset[1] < ssb[0] - 1e6  # the scene this test needs: the CORESET well apart from the SSB
    x = scene.render_carrier(p, np.random.default_rng(1), FS, n)[0]
    x += np.random.default_rng(2).standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(
        math.sqrt(0.5)
    )
    rec = open_recording(write_sigmf(tmp_path / "idle", x, sample_rate_hz=FS, center_freq_hz=3.5e9))
    model = band_predictor([(ssb[0] - 0.1e6, ssb[1] + 0.1e6), (coreset[0] + 0.1e6, coreset[1] - 0.1e6)], LTE)

    (a,) = A.annotate_recording(rec, model).annotations
    assert a.label == "NR" and a.extra["radiofm:pci"] == c.pci and a.extra["radiofm:edges"] == "estimated"
    assert a.freq_lower_edge_hz - 3.5e9 <= coreset[0] + 0.3e6 and a.freq_upper_edge_hz - 3.5e9 >= ssb[1] - 0.3e6
    assert "taken into the cell" in a.extra["radiofm:evidence"]["items"][-1]

    monkeypatch.setattr(nr_scan, "pieces_of", lambda *args, **kwargs: ([], []))
    assert len(A.annotate_recording(rec, model).annotations) == 2


def test_an_idle_cell_seen_in_pieces_is_one_annotation_over_its_silences(tmp_path, monkeypatch):
    """The model sees an idle cell's SSB band only now and then (2-3 ms of silence between its pieces, as a TDD
    cell's uplink slots leave): the SSB gives its PCI, so the cell is on throughout and is one annotation from its
    first piece to its last; with no silence bridged (``NR_CELL_GAP_MS`` = 0), one per piece."""
    from radiofm.annotate import merge

    n = 2_457_600
    plans = scene.plan_scene(np.random.default_rng(2), split="test", regimes=["idle"], sample_rate_hz=FS, n_samples=n)
    p = scene.replace(next(q for q in plans if q.kind == "NR"), snr_db=20.0)
    c, f0 = p.cell, p.center_hz - 6 * p.cell.n_rb * p.scs_hz
    ssb = (f0 + c.ssb_sc0 * p.scs_hz, f0 + (c.ssb_sc0 + 240) * p.scs_hz)
    x = scene.render_carrier(p, np.random.default_rng(1), FS, n)[0]
    x += np.random.default_rng(2).standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(
        math.sqrt(0.5)
    )
    rec = open_recording(write_sigmf(tmp_path / "idle", x, sample_rate_hz=FS, center_freq_hz=3.5e9))
    pieces = [(0, 1_300_000), (1_500_000, 2_000_000), (2_150_000, n)]
    model = band_predictor([(ssb[0] - 0.1e6, ssb[1] + 0.1e6, a, z) for a, z in pieces], LTE)

    (a,) = A.annotate_recording(rec, model).annotations
    assert a.label == "NR" and a.extra["radiofm:pci"] == c.pci
    assert a.sample_start == 0 and a.sample_count == n

    monkeypatch.setattr(merge, "NR_CELL_GAP_MS", 0.0)
    got = A.annotate_recording(rec, model).annotations
    assert len(got) == 3 and all(g.extra["radiofm:pci"] == c.pci for g in got)


def _ofdm_neighbour(n: int, *, lower_hz: float, n_sc: int, shift: int, seed: int) -> np.ndarray:
    """A fully loaded 30 kHz OFDM carrier with no sync signal (no SSB: no stage can identify it as a cell),
    occupying [lower_hz, lower_hz + n_sc * 30 kHz), its symbols ``shift`` samples off frame timing: (n,)
    complex64 at an in-band SNR of about 20 dB over unit noise."""
    from radiofm.synth.nrlte_alt import ofdm

    rng = np.random.default_rng(seed)
    n_fft, _, slot_len = ofdm.slot_layout(SCS, FS)
    n_sym = 14 * (-(-(n + shift) // slot_len))
    qpsk = (rng.choice([-1.0, 1.0], (n_sym, n_sc)) + 1j * rng.choice([-1.0, 1.0], (n_sym, n_sc))) / math.sqrt(2)
    x = ofdm.modulate(qpsk.astype(np.complex64), scs_hz=SCS, sample_rate_hz=FS, lte_dc=False)[shift : shift + n]
    x *= np.float32(math.sqrt(100.0 / n_fft))
    centre = lower_hz + 0.5 * n_sc * SCS
    return (x * np.exp(2j * np.pi * centre / FS * np.arange(n))).astype(np.complex64)


def _low_idle_cell(n: int):
    """An idle 30 kHz cell (SSB and CORESET only) of the alt generator, moved to the bottom of the band so that
    a neighbour fits above it: (its plan, its SSB band (Hz), its occupied upper edge (Hz), its samples (n,) at an
    in-band SNR of 20 dB over unit noise, noise not yet added)."""
    plans = scene.plan_scene(np.random.default_rng(2), split="test", regimes=["idle"], sample_rate_hz=FS, n_samples=n)
    p = next(q for q in plans if q.kind == "NR")
    half = 6 * p.cell.n_rb * p.scs_hz
    p = scene.replace(p, snr_db=20.0, center_hz=p.scs_hz * round((-0.5 * FS + 2e6 + half) / p.scs_hz))
    c, f0 = p.cell, p.center_hz - half
    ssb = (f0 + c.ssb_sc0 * p.scs_hz, f0 + (c.ssb_sc0 + 240) * p.scs_hz)
    return p, ssb, scene.occupied_edges(p)[1], scene.render_carrier(p, np.random.default_rng(1), FS, n)[0]


def _with_noise(x: np.ndarray) -> np.ndarray:
    """``x`` plus unit-power complex noise (seed 2)."""
    noise = np.random.default_rng(2).standard_normal(2 * x.size, dtype=np.float32).view(np.complex64)
    return x + noise * np.float32(math.sqrt(0.5))


def test_a_cell_without_dmrs_stops_short_of_a_carrier_on_another_clock(tmp_path, monkeypatch):
    """An idle cell (SSB and CORESET only) 1.5 MHz below a fully loaded 30 kHz carrier with no sync signal: the
    power walk beside the cell used to bridge the gap and take the neighbour's band (two NR carriers became one
    band over both, found on an alt-generator clip). The neighbour's symbols start elsewhere, so it is another
    transmitter: the cell's band stops short of it. Without that test (every piece "unclear"), it does not."""
    n = 737_280  # 12 ms
    p, ssb, top, x = _low_idle_cell(n)
    c = p.cell
    neighbour = (top + 1.5e6, top + 1.5e6 + 300 * SCS)  # 9 MHz
    assert neighbour[1] < 0.5 * FS - 1e6  # the scene this test needs: room for the neighbour above the cell
    x = _with_noise(x + _ofdm_neighbour(n, lower_hz=neighbour[0], n_sc=300, shift=700, seed=3))
    rec = open_recording(write_sigmf(tmp_path / "pair", x, sample_rate_hz=FS, center_freq_hz=3.5e9))
    model = band_predictor([(ssb[0] - 0.1e6, ssb[1] + 0.1e6), (neighbour[0] + 0.1e6, neighbour[1] - 0.1e6)], NR)

    def cell_upper():
        got = A.annotate_recording(rec, model).annotations
        (a,) = [g for g in got if g.extra.get("radiofm:pci") == c.pci]
        assert any(g is not a and g.freq_lower_edge_hz - 3.5e9 > neighbour[0] - 0.5e6 for g in got)  # neighbour
        return a.freq_upper_edge_hz - 3.5e9

    assert ssb[1] - 0.3e6 <= cell_upper() <= neighbour[0] - nr_idle.NEIGHBOUR_GUARD_HZ + 1.0
    monkeypatch.setattr(nr_idle, "relation", lambda *args, **kwargs: None)
    assert cell_upper() > neighbour[0] + 1e6


def test_a_cell_without_dmrs_stops_short_of_an_lte_cell_found_beside_it(tmp_path):
    """An idle cell 1.5 MHz below an LTE cell the model did not box: the power walk beside the cell runs into the
    LTE carrier, the LTE search over the extension finds its cell, and the cell's band is walked again short of
    it (it used to end on the LTE cell's edge, the noise between them taken as the NR cell's)."""
    from radiofm.synth.nrlte.carrier import single_carrier

    p, ssb, top, x = _low_idle_cell(2_457_600)
    c = p.cell
    rng = np.random.default_rng(5)
    lte, m = single_carrier("LTE", rng, bandwidth_mhz=5, snr_db=20.0, centre_hz=top + 1.5e6 + 2.25e6)
    rec = open_recording(write_sigmf(tmp_path / "pair", _with_noise(x + lte), sample_rate_hz=FS, center_freq_hz=3.5e9))
    model = band_predictor([(ssb[0] - 0.1e6, ssb[1] + 0.1e6)], NR)

    got = A.annotate_recording(rec, model).annotations
    (a,) = [g for g in got if g.extra.get("radiofm:pci") == c.pci]
    assert any("stopped at LTE cell" in item for item in a.extra["radiofm:evidence"]["items"])
    assert ssb[1] - 0.3e6 <= a.freq_upper_edge_hz - 3.5e9 <= m["lower_edge_hz"] - nr_idle.NEIGHBOUR_GUARD_HZ + 1.0
