"""dsp.lte_cells: the CRS sequence, an LTE cell's band from its CRS, and the scan for cells anywhere in a band."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.dsp import lte_cells
from radiofm.dsp.sequences import gold, lte_crs
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
SPAN = int(20e-3 * FS)  # 20 ms, as annotate analyses


def _lte(seed: int, bandwidth_mhz: float, centre_hz: float, snr_db: float, load: float):
    iq, meta = single_carrier("LTE", np.random.default_rng(seed), bandwidth_mhz=bandwidth_mhz, snr_db=snr_db,
                              centre_hz=centre_hz, load=load)  # fmt: skip
    return iq[:SPAN], meta


@pytest.mark.parametrize("pci", [0, 17, 503])
def test_crs_sequence_is_the_specs_and_indexed_from_the_dc(pci):
    """36.211 §6.10.1.1 written out here: c_init = 2^10 (7 (ns + 1) + l + 1)(2 PCI + 1) + 2 PCI + N_CP, r(m) =
    QPSK of c(2m), c(2m + 1); a cell of N_RB uses m' = m + 110 - N_RB, the middle of the 110-RB sequence."""
    slots, symbols = np.arange(20), np.tile([0, 4], 10)
    full = lte_crs(pci, slots, symbols)
    assert full.shape == (20, 220) and np.allclose(np.abs(full), 1.0)
    for ns, sym, row in ((0, 0, 0), (7, 4, 7), (19, 4, 19)):
        c = gold(2**10 * (7 * (ns + 1) + sym + 1) * (2 * pci + 1) + 2 * pci + 1, 440).astype(float)
        np.testing.assert_allclose(full[row], ((1 - 2 * c[0::2]) + 1j * (1 - 2 * c[1::2])) / np.sqrt(2), atol=1e-6)
    for n_rb in (6, 50, 100):
        np.testing.assert_array_equal(lte_crs(pci, slots, symbols, n_rb), full[:, 110 - n_rb : 110 + n_rb])


def test_crs_offsets_skip_the_dc_and_follow_v_shift():
    off = lte_cells.crs_offsets(7, 0)  # v_shift = 1, port 0 symbol 0: v = 0
    assert off[110] == 2 and off[109] == -5 and 0 not in off  # j = 0 -> 6*0 + 1 + 1 (above the DC)
    assert np.all(np.diff(lte_cells.crs_offsets(7, 4)) >= 6)


def test_scan_finds_a_lightly_loaded_cell_and_its_band_from_the_crs():
    """A 10 MHz cell at 6 dB with 5 % of its RBs in use: its spectrum hardly steps at the edges, its CRS do."""
    x, meta = _lte(11, 10, -6e6, 6.0, 0.05)
    cells = lte_cells.scan_lte_cells(x, FS, lower_hz=-15e6, upper_hz=3e6)
    assert [c["pci"] for c in cells] == [meta["n_id_cell"]]
    (c,) = cells
    assert c["n_rb"] == 50 and c["cut"] == () and c["unseen"] == ()
    assert c["lower_hz"] == pytest.approx(meta["lower_edge_hz"], abs=1e3)
    assert c["upper_hz"] == pytest.approx(meta["upper_edge_hz"], abs=1e3)


@pytest.mark.parametrize("structure", ["tdd", "mbsfn"])
def test_scan_finds_tdd_and_mbsfn_cells_of_the_main_generator_and_their_duplex(structure):
    """The scan was written against the alt generator's TDD; the main generator's TDD (written apart) must agree:
    the PSS three symbols after the SSS, only downlink subframes, and MBSFN subframes with their CRS cut short."""
    iq, meta = single_carrier("LTE", np.random.default_rng(4), bandwidth_mhz=5, snr_db=8.0, centre_hz=2e6,
                              load=0.5, frame_structure=structure)  # fmt: skip
    cells = lte_cells.scan_lte_cells(iq[:SPAN], FS, lower_hz=-1e6, upper_hz=5e6)
    assert [(c["pci"], c["duplex"]) for c in cells] == [(meta["n_id_cell"], meta["duplex"])]
    assert meta["duplex"] == ("TDD" if structure == "tdd" else "FDD")
    assert cells[0]["lower_hz"] == pytest.approx(meta["lower_edge_hz"], abs=1e3)
    assert cells[0]["upper_hz"] == pytest.approx(meta["upper_edge_hz"], abs=1e3)


def test_a_cell_running_past_the_capture_takes_its_band_from_the_edge_it_shows():
    """A 10 MHz cell at 7.5..16.5 MHz received at 30.72 MS/s: the receiver's band ends at 15.36 MHz, so its upper
    edge is never seen. A band is symmetric about its DC, so the lower edge fixes it (50 RB), as long as the CRS
    runs on up to the capture's edge; the band is reported up to that edge."""
    from scipy.signal import resample_poly

    wide, meta = _lte(11, 10, 12e6, 10.0, 0.05)
    x = resample_poly(wide, 1, 2).astype(np.complex64)  # 30.72 MS/s: the decimation filter cuts above 15.36 MHz
    (c,) = lte_cells.scan_lte_cells(x, FS / 2, lower_hz=10e6, upper_hz=14e6)
    assert c["pci"] == meta["n_id_cell"] and c["n_rb"] == 50 and c["cut"] == c["unseen"] == ("upper",)
    assert c["lower_hz"] == pytest.approx(meta["lower_edge_hz"], abs=1e3) and c["upper_hz"] == FS / 4
    kw = {"dc_hz": c["dc_hz"], "frame_start_sample": c["frame_start_sample"]}
    assert lte_cells.cell_band(x, FS / 2, pci=(c["pci"] + 1) % 504, **kw) is None  # still the cell's own CRS only


def test_no_band_when_the_whole_grid_lies_beyond_the_crs_reach(monkeypatch):
    """The cut cell above with a reach that holds none of its grid (as for a DC near the edge of a very wide
    capture): no band, and no error."""
    from scipy.signal import resample_poly

    wide, _ = _lte(11, 10, 12e6, 10.0, 0.05)
    x = resample_poly(wide, 1, 2).astype(np.complex64)
    (c,) = lte_cells.scan_lte_cells(x, FS / 2, lower_hz=10e6, upper_hz=14e6)
    monkeypatch.setattr(lte_cells, "CRS_REACH", 0.05)
    kw = {"dc_hz": c["dc_hz"], "frame_start_sample": c["frame_start_sample"]}
    assert lte_cells.cell_band(x, FS / 2, pci=c["pci"], **kw) is None


def test_scan_splits_two_adjacent_cells():
    """Two 10 MHz cells side by side (what a spectrogram model sees as one block): both, each with its band."""
    a, ma = _lte(3, 10, -4.8e6, 12.0, 0.3)
    b, mb = _lte(4, 10, 4.8e6, 12.0, 0.3)
    cells = lte_cells.scan_lte_cells(a + b, FS, lower_hz=-9.6e6, upper_hz=9.6e6)
    assert [c["pci"] for c in cells] == [ma["n_id_cell"], mb["n_id_cell"]]
    for c, m in zip(cells, (ma, mb), strict=True):
        assert c["lower_hz"] == pytest.approx(m["lower_edge_hz"], abs=1e3)
        assert c["upper_hz"] == pytest.approx(m["upper_edge_hz"], abs=1e3)


def test_no_cell_on_noise_or_on_an_nr_carrier():
    rng = np.random.default_rng(0)
    noise = ((rng.standard_normal(SPAN) + 1j * rng.standard_normal(SPAN)) / np.sqrt(2)).astype(np.complex64)
    assert lte_cells.scan_lte_cells(noise, FS, lower_hz=-20e6, upper_hz=20e6) == []
    iq, _ = single_carrier("NR", np.random.default_rng(5), bandwidth_mhz=20, snr_db=15.0, centre_hz=0.0)
    assert lte_cells.scan_lte_cells(iq[:SPAN], FS, lower_hz=-10e6, upper_hz=10e6) == []


def test_band_from_crs_needs_the_right_cell():
    """The CRS test is specific: the same capture with another PCI's CRS shows no band."""
    x, meta = _lte(11, 10, -6e6, 10.0, 0.05)
    (c,) = lte_cells.scan_lte_cells(x, FS, lower_hz=-8e6, upper_hz=-4e6)
    kw = {"dc_hz": c["dc_hz"], "frame_start_sample": c["frame_start_sample"]}
    assert lte_cells.cell_band(x, FS, pci=c["pci"], **kw)["n_rb"] == 50
    assert lte_cells.cell_band(x, FS, pci=(c["pci"] + 1) % 504, **kw) is None


def test_scan_skips_noise_only_sub_bands_and_still_finds_a_weak_idle_cell(monkeypatch):
    """An idle 10 MHz cell at -3 dB in 42 MHz of otherwise empty band (40 ms): the cell is found, and the
    sub-bands holding only noise are not searched (QUIET_DB above the span's noise floor)."""
    iq, meta = single_carrier("LTE", np.random.default_rng(1), bandwidth_mhz=10, snr_db=-3.0, centre_hz=-6e6, load=0.0)
    searched = []
    search = lte_cells._search

    def counting(x, fs, lo, hi, spectrum):
        searched.append((lo, hi))
        return search(x, fs, lo, hi, spectrum)

    monkeypatch.setattr(lte_cells, "_search", counting)
    cells = lte_cells.scan_lte_cells(iq, FS, lower_hz=-24e6, upper_hz=18e6)
    assert [(c["pci"], c["n_rb"]) for c in cells] == [(meta["n_id_cell"], 50)]
    assert len(searched) < 35 / 2  # 35 sub-bands of 1.2 MHz
    assert all(hi > meta["lower_edge_hz"] and lo < meta["upper_edge_hz"] for lo, hi in searched)


def test_a_weak_cell_under_another_carriers_image_is_found_by_the_wider_sync(monkeypatch):
    """An idle 20 MHz cell at 1.4 dB (EVA, 216 Hz Doppler) on for 26 of 40 ms, under the mixer image of an idle NR
    cell 26 dB up (the alt generator's validation capture 7, seed 310): synchronised on the 2.4 MHz around its DC
    alone, the CP timing is the image's and the SSS confirms nothing (before session 44: no cell); the retry
    synchronised 3.6 MHz wider finds PCI 110 and its 100 RB."""
    from radiofm.synth.nrlte_alt import channel, scene

    n = 2_457_600
    regimes = ["random", "matlab", "full", "idle", "gated"]
    plans = scene.plan_scene(np.random.default_rng(np.random.SeedSequence([310, 7])), split="test", regimes=regimes,
                             sample_rate_hz=FS, n_samples=n)  # fmt: skip
    rng = np.random.default_rng(3)
    y = sum(scene.render_carrier(p, rng, FS, n)[0] for p in plans[:2])
    y = channel.iq_imbalance(y + rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(0.5**0.5),
                             -0.2, 2.8)  # fmt: skip
    assert plans[0].kind == "LTE" and plans[0].cell.pci == 110 and plans[0].cell.n_rb == 100
    scan = {"lower_hz": -17.5e6, "upper_hz": -15.1e6}
    (cell,) = lte_cells.scan_lte_cells(y, FS, **scan)
    lo, hi = scene.occupied_edges(plans[0])
    assert cell["pci"] == 110 and cell["n_rb"] == 100 and abs(cell["lower_hz"] - lo) < 5e3
    monkeypatch.setattr(lte_cells, "RETRY_SYNC_PAD_HZ", lte_cells.PSS_HALF_BAND_HZ)  # no wider retry
    assert lte_cells.scan_lte_cells(y, FS, **scan) == []


def test_sub_bands_searched_on_several_threads_give_the_serial_result(monkeypatch):
    """Two adjacent cells scanned on 1 and on 3 threads: the same cells, bit for bit (each sub-band is searched on
    its own, the hits kept in band order), every sub-band searched once, and numpy's BLAS threads restored."""
    from radiofm.dsp import threads

    a, ma = _lte(3, 10, -4.8e6, 12.0, 0.3)
    b, mb = _lte(4, 10, 4.8e6, 12.0, 0.3)
    searched = []
    search = lte_cells._search
    monkeypatch.setattr(lte_cells, "_search", lambda x, fs, lo, hi, s: searched.append(lo) or search(x, fs, lo, hi, s))
    serial = lte_cells.scan_lte_cells(a + b, FS, lower_hz=-9.6e6, upper_hz=9.6e6, workers=1)
    n = len(searched)
    before = [int(get()) for get, _ in threads._openblas()]
    parallel = lte_cells.scan_lte_cells(a + b, FS, lower_hz=-9.6e6, upper_hz=9.6e6, workers=3)
    assert [int(get()) for get, _ in threads._openblas()] == before
    assert sorted(searched[n:]) == searched[:n] and len(set(searched[:n])) == n
    assert [c["pci"] for c in parallel] == [ma["n_id_cell"], mb["n_id_cell"]]
    assert parallel == serial


SCAN = {"lower_hz": -9.6e6, "upper_hz": 9.6e6, "workers": 1}


def _two_cells_scanned(monkeypatch):
    """Two adjacent 10 MHz cells (DCs at -4.8 and +4.8 MHz) scanned over SCAN with every sub-band search recorded:
    (samples, both truths, the scan's cells, the sub-bands it searched, the list later searches are appended to)."""
    a, ma = _lte(3, 10, -4.8e6, 12.0, 0.3)
    b, mb = _lte(4, 10, 4.8e6, 12.0, 0.3)
    searched = []
    search = lte_cells._search
    monkeypatch.setattr(lte_cells, "_search", lambda x, fs, lo, hi, s: searched.append(lo) or search(x, fs, lo, hi, s))
    both = lte_cells.scan_lte_cells(a + b, FS, **SCAN)
    return a + b, (ma, mb), both, list(searched), searched


def test_sub_bands_inside_an_occupied_band_are_not_searched(monkeypatch):
    """Two adjacent cells, the upper one already identified (its band ``occupied``): only the sub-bands lying wholly
    inside that band are left out, the rest are the same sub-bands as without it, and the lower cell comes out
    bit for bit as before."""
    x, (ma, mb), both, everywhere, searched = _two_cells_scanned(monkeypatch)
    band = (mb["lower_edge_hz"], mb["upper_edge_hz"])
    (lower,) = lte_cells.scan_lte_cells(x, FS, occupied=[band], **SCAN)
    left = searched[len(everywhere) :]
    step = lte_cells.SCAN_STEP_HZ
    assert left == [lo for lo in everywhere if not (band[0] <= lo and lo + step <= band[1])]
    assert 0 < len(left) < len(everywhere) - 3
    assert lower == both[0] and lower["pci"] == ma["n_id_cell"]


def test_the_sub_bands_around_a_known_dc_first_then_none_inside_its_cell(monkeypatch):
    """Given the DC another search found, the scan first searches the sub-bands whose grid holds it, then leaves
    out the sub-bands lying wholly inside the band of the cell they confirmed: both cells come out as without the
    hint, bit for bit, with fewer searches (the other cell's sub-bands are all searched). Here the DC lies on the
    boundary of two sub-bands, and the one above it gives the stronger detection."""
    x, (ma, mb), both, everywhere, searched = _two_cells_scanned(monkeypatch)
    dc, band = both[1]["dc_hz"], (both[1]["lower_hz"], both[1]["upper_hz"])
    hinted = lte_cells.scan_lte_cells(x, FS, known_dc_hz=dc, **SCAN)
    left = searched[len(everywhere) :]
    step, half = lte_cells.SCAN_STEP_HZ, lte_cells.PSS_HALF_BAND_HZ
    first = [lo for lo in everywhere if lo - half <= dc <= lo + step + half]
    assert len(first) == 2 and left[:2] == first
    assert left[2:] == [lo for lo in everywhere if lo not in first and not (band[0] <= lo and lo + step <= band[1])]
    assert len(left) < len(everywhere) - 3
    assert hinted == both and [c["pci"] for c in both] == [ma["n_id_cell"], mb["n_id_cell"]]
    # a DC where no cell is confirmed changes nothing but the order of the searches
    del searched[:]
    assert lte_cells.scan_lte_cells(x, FS, known_dc_hz=-0.1e6, **SCAN) == both
    assert sorted(searched) == sorted(everywhere)
