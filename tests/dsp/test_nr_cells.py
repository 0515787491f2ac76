"""dsp.nr_cells: the PDSCH DMRS sequence, point A and the used RBs from the DMRS, an NR carrier's band."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.dsp import nr_cells
from radiofm.dsp.nr_cellsearch import nr_pss_search
from radiofm.dsp.ofdm_rx import SymbolGrid
from radiofm.dsp.sequences import gold, nr_dmrs
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
SPAN = int(20e-3 * FS)


@pytest.mark.parametrize("n_id", [0, 419, 1007])
def test_dmrs_sequence_is_the_specs(n_id):
    """38.211 §7.4.1.1.1 written out here: c_init = (2^17 (14 n_s + l + 1)(2 N_ID + 1) + 2 N_ID) mod 2^31,
    r(m) = QPSK of c(2m), c(2m + 1)."""
    for slot, sym in ((0, 2), (7, 3), (19, 11)):
        c = gold((2**17 * (14 * slot + sym + 1) * (2 * n_id + 1) + 2 * n_id) % 2**31, 200).astype(float)
        expected = ((1 - 2 * c[0::2]) + 1j * (1 - 2 * c[1::2])) / np.sqrt(2)
        np.testing.assert_allclose(nr_dmrs(n_id, [slot], [sym], 100)[0], expected, atol=1e-6)


def _hand_grid(
    config: int, *, pci: int, start: int, slot_offset: int, label_shift: int, rbs: range, snr_db: float,
    port_1001: complex = 0.0,
):  # fmt: skip
    """A 30 kHz grid of 40 half-ms holding cell ``pci``'s PDSCH DMRS (configuration ``config``, symbol 2 of every
    slot, RBs ``rbs`` from point A at bin ``start``) in noise; the grid's symbol labels are ``label_shift`` off
    and its first half-ms is half-ms ``slot_offset`` of a frame. ``port_1001``: the channel of a second layer on
    port 1001 (the same pilots with w_f = +1, -1 on neighbouring values, 38.211 Table 7.4.1.1.2-1)."""
    rng = np.random.default_rng(config)
    k, per_half, n_sym = 1024, 14, 40 * 14
    noise = 10 ** (-snr_db / 20) / np.sqrt(2)
    y = (rng.standard_normal((n_sym, k)) + 1j * rng.standard_normal((n_sym, k))).astype(np.complex64) * noise
    period, offsets = nr_cells.DMRS_PATTERNS[config]
    per_rb = len(offsets) * (12 // period)
    phase = np.exp(1j * 0.7)  # a channel phase, the same everywhere
    for i in range(n_sym):
        u = i + label_shift  # the true symbol index, counted from the span's first half-ms
        if u % per_half != 2:
            continue
        slot = (u // per_half + slot_offset) % 20
        r = nr_dmrs(pci, [slot], [2], per_rb * rbs.stop)[0]
        m = np.arange(per_rb * rbs.start, per_rb * rbs.stop)
        w = phase + port_1001 * np.where(m % 2 == 0, 1.0, -1.0)  # port 1000's channel plus port 1001's
        y[i, nr_cells._positions(start, config, per_rb * rbs.stop)[m]] += r[m] * w
    half = 0.5e-3 * FS
    starts = (np.arange(n_sym) // per_half) * half + (np.arange(n_sym) % per_half) * half / per_half
    return SymbolGrid(y, 30e3, 0.0, starts, np.arange(n_sym) % per_half, FS, 0)


@pytest.mark.parametrize("config", [1, 2])
def test_dmrs_search_finds_point_a_the_frame_and_the_rbs(config):
    """Both DMRS configuration types, a frame offset and a label shift the search must find; point A far below the
    RBs in use (the carrier's lower part idle) and the used RBs exactly."""
    grid = _hand_grid(config, pci=321, start=100, slot_offset=7, label_shift=4, rbs=range(20, 35), snr_db=0.0)
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400, symbol_shifts=(0, 2, 4, 6))
    assert found is not None and found["config"] == config and found["weighting"] == "raw"
    assert (found["start_bin"], found["slot_offset"], found["symbol_shift"]) == (100, 7, 4)
    np.testing.assert_array_equal(np.flatnonzero(found["rb_present"]), np.arange(20, 35))
    assert found["top_rb"] == 34


@pytest.mark.parametrize("config", [1, 2])
def test_two_layers_at_equal_power_on_ports_1000_and_1001_are_found_at_lag_2(config):
    """Rank 2 on ports 1000 and 1001 at one receive antenna: the neighbouring pilots' products sum to |h0|^2 -
    |h1|^2, nothing at equal power (a cell the search lost; session 62's review). Pilots two apart share w_f: the
    search finds the cell there, at the same point A, frame and RBs. One layer is found at lag 1, as before."""
    kw = {"pci": 321, "start": 100, "slot_offset": 7, "label_shift": 4, "rbs": range(20, 35), "snr_db": 0.0}
    one = nr_cells.nr_dmrs_search(_hand_grid(config, **kw), pci=321, ssb_first_bin=400, symbol_shifts=(0, 2, 4, 6))
    assert one is not None and one["lag"] == 1
    grid = _hand_grid(config, **kw, port_1001=np.exp(1j * 2.1))
    only_lag_1 = nr_cells._search(grid, nr_cells._half_ms_index(grid), [], pci=321, ssb_first_bin=400, max_rb=275,
                                  symbol_shifts=(0, 2, 4, 6), lag=1)  # fmt: skip
    assert only_lag_1 is None or only_lag_1["z"] < nr_cells.DMRS_THRESHOLD  # what the search found before
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400, symbol_shifts=(0, 2, 4, 6))
    assert found is not None and found["lag"] == 2 and found["config"] == config
    assert (found["start_bin"], found["slot_offset"], found["symbol_shift"]) == (100, 7, 4)
    np.testing.assert_array_equal(np.flatnonzero(found["rb_present"]), np.arange(20, 35))


def test_rbs_far_under_the_noise_are_not_the_cells(monkeypatch):
    """A recording resampled in software with no noise added: its band edge is digitally empty, and there the
    filter's residue of the cell's own DMRS (coherent, but 10 orders of magnitude under the noise) passed the
    coherence test: a 53-RB cell read 270 RB wide (session 60's review). Such RBs hold no power of a transmitter."""
    grid = _hand_grid(1, pci=321, start=100, slot_offset=7, label_shift=4, rbs=range(20, 35), snr_db=0.0)
    residue = _hand_grid(1, pci=321, start=100, slot_offset=7, label_shift=4, rbs=range(60, 70), snr_db=200.0)
    empty = slice(100 + 12 * 50, 100 + 12 * 75)  # RBs 50-74: no noise, the residue on 60-69
    grid.y[:, empty] = residue.y[:, empty] * np.float32(1e-5)
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400, symbol_shifts=(0, 2, 4, 6))
    np.testing.assert_array_equal(np.flatnonzero(found["rb_present"]), np.arange(20, 35))
    monkeypatch.setattr(nr_cells, "RB_MIN_POWER", 0.0)  # without the power test: the residue is "present"
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400, symbol_shifts=(0, 2, 4, 6))
    assert found["top_rb"] >= 60


def test_a_strong_neighbour_does_not_hide_a_cells_dmrs(monkeypatch):
    """Random data 25 dB above the noise on 400 bins beside the cell (inside the 275 RB the search sums over):
    summed as received the neighbour buries it, whitened the cell is found as it is alone."""
    grid = _hand_grid(1, pci=321, start=100, slot_offset=7, label_shift=0, rbs=range(20, 35), snr_db=0.0)
    rng = np.random.default_rng(3)
    data = rng.choice(np.array([1, 1j, -1, -1j], np.complex64), size=(grid.y.shape[0], 400))
    grid.y[:, 600:1000] += data * np.float32(10 ** (25 / 20) / np.sqrt(2))
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400)
    assert found is not None and found["start_bin"] == 100 and found["weighting"] == "whitened"
    np.testing.assert_array_equal(np.flatnonzero(found["rb_present"]), np.arange(20, 35))
    monkeypatch.setattr(nr_cells, "WEIGHTINGS", ("raw",))
    assert nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400) is None


def test_dmrs_search_finds_nothing_for_another_cell_or_noise():
    grid = _hand_grid(1, pci=321, start=100, slot_offset=7, label_shift=0, rbs=range(20, 35), snr_db=0.0)
    assert nr_cells.nr_dmrs_search(grid, pci=322, ssb_first_bin=400) is None
    noise = _hand_grid(1, pci=321, start=100, slot_offset=7, label_shift=0, rbs=range(0), snr_db=0.0)
    assert nr_cells.nr_dmrs_search(noise, pci=321, ssb_first_bin=400) is None


def test_carrier_band_is_the_narrowest_table_bandwidth_holding_the_rbs_seen():
    grid = SymbolGrid(np.zeros((1, 8), np.complex64), 30e3, -1e6, np.zeros(1), np.zeros(1, np.int64), FS, 0)
    band = nr_cells.nr_carrier_band({"start_bin": 0, "top_rb": 40}, scs_hz=30e3, grid=grid, ssb_first_bin=12)
    assert band["n_rb"] == 51 and band["lower_hz"] == pytest.approx(-1e6 - 15e3)  # 41 RBs seen: 20 MHz (51 RB)
    assert band["upper_hz"] == pytest.approx(band["lower_hz"] + 51 * 12 * 30e3)
    ssb_high = nr_cells.nr_carrier_band({"start_bin": 0, "top_rb": 3}, scs_hz=30e3, grid=grid, ssb_first_bin=12 * 30)
    assert ssb_high["n_rb"] == 51  # the SSB (RBs 30..49) lies inside the carrier too


@pytest.mark.parametrize(("scs", "bw", "seed"), [(30e3, 20, 5), (15e3, 10, 8)])
def test_band_of_a_partly_loaded_carrier_from_its_ssb_and_dmrs(scs, bw, seed):
    """A carrier with 30 % of its RBs scheduled per slot: from its SSB (found by the NR search) the DMRS give the
    lower edge to the subcarrier and, over 20 ms of random scheduling, every RB: the band."""
    iq, m = single_carrier("NR", np.random.default_rng(seed), bandwidth_mhz=bw, scs_hz=scs, snr_db=8.0,
                           centre_hz=-5e6, load=0.3)  # fmt: skip
    x = iq[:SPAN]
    ssb = nr_pss_search(x, FS, lower_hz=m["lower_edge_hz"], upper_hz=m["upper_edge_hz"], scs_hz=(scs,))
    assert ssb["pci"] == m["n_id_cell"]
    band = nr_cells.nr_cell_band(x, FS, pci=ssb["pci"], scs_hz=scs, ssb_center_hz=ssb["ssb_center_hz"],
                                 lower_hz=-25e6, upper_hz=25e6)  # fmt: skip
    assert band is not None and band["n_rb"] == m["n_rb"]
    assert band["lower_hz"] == pytest.approx(m["lower_edge_hz"], abs=1e3)
    assert band["upper_hz"] == pytest.approx(m["upper_edge_hz"], abs=1e3)
    wrong = nr_cells.nr_cell_band(x, FS, pci=(ssb["pci"] + 3) % 1008, scs_hz=scs, ssb_center_hz=ssb["ssb_center_hz"],
                                  lower_hz=-25e6, upper_hz=25e6)  # fmt: skip
    assert wrong is None


@pytest.mark.parametrize("scs", [30e3, 15e3])
def test_the_control_region_reaches_the_band_the_pdsch_leaves_empty(scs):
    """The MATLAB example's regime: PDSCH in a few RB groups, CORESET 0 over the whole 106-RB carrier. Its DMRS and
    SSB reach no RB above the 78 (30 kHz) or 79 (15 kHz) RB of the next table bandwidth (the band before session
    58); the power of the cell's slot starts runs on towards the top of the CORESET, inside the true 106 RB."""
    iq, m = single_carrier("NR", np.random.default_rng(28), bandwidth_mhz=40 if scs == 30e3 else 20, scs_hz=scs,
                           snr_db=8.0, centre_hz=-3e6, traffic="matlab")  # fmt: skip
    assert (m["coreset_rb_offset"], m["coreset_rb"], m["n_rb"]) == (0, 102, 106)
    x = iq[:SPAN]
    ssb = nr_pss_search(x, FS, lower_hz=m["lower_edge_hz"], upper_hz=m["upper_edge_hz"], scs_hz=(scs,))
    band = nr_cells.nr_cell_band(x, FS, pci=ssb["pci"], scs_hz=scs, ssb_center_hz=ssb["ssb_center_hz"],
                                 lower_hz=-29e6, upper_hz=29e6)  # fmt: skip
    assert band["n_rb"] == 106 and band["coreset_top_rb"] >= 79
    assert band["lower_hz"] == pytest.approx(m["lower_edge_hz"], abs=1e3)
    assert band["upper_hz"] == pytest.approx(m["upper_edge_hz"], abs=1e3)


@pytest.mark.parametrize("scs", [30e3, 15e3])
def test_the_dmrs_give_the_slot_timing_the_control_region_is_read_on(scs, monkeypatch):
    """Each grid symbol's index in its slot comes from the DMRS found (at 15 kHz a slot spans two half-ms): on a
    clean, loaded cell the slot start it gives is where the slot-start contrast is largest, as the walk took it
    before session 60."""
    from radiofm.dsp import nr_coreset

    seen = []

    def spy(grid, core, slot_symbol=None):
        seen.append((nr_coreset.coreset_contrast(grid, core)["slot_offset"], slot_symbol))
        return nr_coreset.coreset_contrast(grid, core, slot_symbol)

    monkeypatch.setattr(nr_cells, "coreset_contrast", spy)
    iq, m = single_carrier("NR", np.random.default_rng(28), bandwidth_mhz=40 if scs == 30e3 else 20, scs_hz=scs,
                           snr_db=8.0, centre_hz=-3e6, traffic="matlab")  # fmt: skip
    x = iq[:SPAN]
    ssb = nr_pss_search(x, FS, lower_hz=m["lower_edge_hz"], upper_hz=m["upper_edge_hz"], scs_hz=(scs,))
    nr_cells.nr_cell_band(x, FS, pci=ssb["pci"], scs_hz=scs, ssb_center_hz=ssb["ssb_center_hz"], lower_hz=-29e6,
                          upper_hz=29e6)  # fmt: skip
    ((guessed, slot_symbol),) = seen
    assert slot_symbol is not None and set(np.unique(slot_symbol)) == set(range(14))
    assert slot_symbol[guessed] == 0 and (np.diff(slot_symbol) % 14 == 1).all()


def test_the_receivers_dc_is_left_out_of_the_dmrs_search(monkeypatch):
    """A receiver's DC spike is the same in every symbol and, off the cell's subcarrier raster, leaks into the bins
    beside it; on capture 8 of `generate nrlte --seed 322 --traffic matlab` it passed for DMRS on one RB, which gave
    a 106-RB band to a 38-RB cell (session 58). The bins at the recording's 0 Hz reach the search as zeros."""
    seen = {}

    def spy(grid, **kw):
        seen["grid"] = grid
        return None

    monkeypatch.setattr(nr_cells, "nr_dmrs_search", spy)
    iq, m = single_carrier("NR", np.random.default_rng(5), bandwidth_mhz=20, scs_hz=30e3, snr_db=8.0, centre_hz=0.0)
    x = iq[:SPAN] + np.complex64(0.5)  # a DC spike
    ssb = nr_pss_search(x, FS, lower_hz=m["lower_edge_hz"], upper_hz=m["upper_edge_hz"], scs_hz=(30e3,))
    nr_cells.nr_cell_band(x, FS, pci=ssb["pci"], scs_hz=30e3, ssb_center_hz=ssb["ssb_center_hz"], lower_hz=-25e6,
                          upper_hz=25e6)  # fmt: skip
    grid = seen["grid"]
    dc = grid.bin_of(0.0)
    guard = nr_cells.DC_GUARD_BINS
    assert not np.any(grid.y[:, dc - guard : dc + guard + 1]) and np.all(np.abs(grid.y[:, dc + guard + 1]) > 0)


def _sparse_grid(*, pci: int, start: int, rbs: range, slots: set[int], snr_db: float, dmrs=(3,)) -> SymbolGrid:
    """80 half-ms at 30 kHz: cell ``pci``'s PDSCH in ``slots`` of each frame on ``rbs``, DMRS on the symbols
    ``dmrs`` (default 3: dmrs-TypeA-Position 3, no additional position) and QPSK data of the same power on its
    other symbols from 2 on."""
    rng = np.random.default_rng(11)
    k, per_half, n_sym = 1024, 14, 80 * 14
    noise = 10 ** (-snr_db / 20) / np.sqrt(2)
    y = (rng.standard_normal((n_sym, k)) + 1j * rng.standard_normal((n_sym, k))).astype(np.complex64) * noise
    data_bins = start + 12 * rbs.start + np.arange(12 * len(rbs))
    qpsk = np.array([1 + 1j, 1 - 1j, -1 + 1j, -1 - 1j], np.complex64) / np.float32(np.sqrt(2))
    for i in range(n_sym):
        slot, sym = divmod(i, per_half)
        if slot % 20 not in slots or sym < 2:
            continue
        if sym in dmrs:
            r = nr_dmrs(pci, [slot % 20], [sym], 6 * rbs.stop)[0]
            y[i, nr_cells._positions(start, 1, 6 * rbs.stop)[6 * rbs.start :]] += r[6 * rbs.start :]
        else:
            y[i, data_bins] += rng.choice(qpsk, size=data_bins.size)
    half = 0.5e-3 * FS
    starts = (np.arange(n_sym) // per_half) * half + (np.arange(n_sym) % per_half) * half / per_half
    return SymbolGrid(y, 30e3, 0.0, starts, np.arange(n_sym) % per_half, FS, 0)


def test_a_sparse_cells_dmrs_are_not_drowned_by_the_data_beside_them():
    """Two slots of 20 and 8 RBs, as in the MATLAB example's regime: summed over symbols 2, 3 and 11 together, the
    data of symbols 2 and 11 tripled the noise of the statistic and the cell was not found (before session 59).
    Each set of DMRS symbols a slot may carry is its own hypothesis: found, on symbol 3 alone, every RB."""
    grid = _sparse_grid(pci=321, start=100, rbs=range(20, 28), slots={3, 7}, snr_db=10.0)
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400)
    assert found is not None and found["start_bin"] == 100 and found["symbols"] == (3,)
    np.testing.assert_array_equal(np.flatnonzero(found["rb_present"]), np.arange(20, 28))
    assert nr_cells.nr_dmrs_search(grid, pci=322, ssb_first_bin=400) is None


def test_dmrs_additional_position_3_is_a_set_of_its_own():
    """dmrs-AdditionalPosition 3 (symbols 2, 5, 8, 11), which both generators draw: at 4 dB the cell was missed
    when only its symbols 2 and 11 were looked for (the review of session 59 measured 41.7 against 85.5)."""
    grid = _sparse_grid(pci=321, start=100, rbs=range(20, 28), slots={3, 7}, snr_db=4.0, dmrs=(2, 5, 8, 11))
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400)
    assert found is not None and found["start_bin"] == 100 and found["symbols"] == (2, 5, 8, 11)
    np.testing.assert_array_equal(np.flatnonzero(found["rb_present"]), np.arange(20, 28))


def test_a_raw_find_the_whitened_sums_do_not_confirm_is_dropped(monkeypatch):
    """A hypothesis of the sums as received is checked at the whitened sums, as one hypothesis named in advance:
    the cell's own scores far above the threshold there; with the bar out of reach the raw find is dropped and
    only a whitened find could stand."""
    grid = _hand_grid(1, pci=321, start=100, slot_offset=7, label_shift=0, rbs=range(20, 35), snr_db=0.0)
    found = nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400)
    assert found is not None and found["weighting"] == "raw"
    h0 = nr_cells._half_ms_index(grid)
    kw = dict(pci=321, ssb_first_bin=400, max_rb=nr_cells.N_RB_MAX, symbol_shifts=(0,))
    at = nr_cells._best_hypothesis(grid, nr_cells.whitened(grid.y), h0, only=found, **kw)
    elsewhere = nr_cells._best_hypothesis(grid, nr_cells.whitened(grid.y), h0, only=found | {"slot_offset": 3}, **kw)
    assert at["z"] > 10 * nr_cells.CONFIRM_THRESHOLD and elsewhere["z"] < nr_cells.CONFIRM_THRESHOLD
    monkeypatch.setattr(nr_cells, "WEIGHTINGS", ("raw",))
    monkeypatch.setattr(nr_cells, "CONFIRM_THRESHOLD", np.inf)
    assert nr_cells.nr_dmrs_search(grid, pci=321, ssb_first_bin=400) is None


def test_an_idle_cell_beside_a_strong_idle_lte_cell_shows_no_dmrs():
    """Capture 17 of `generate nrlte --generator alt --split test --seed 332`: an idle NR cell (SSB and CORESET, no
    PDSCH) and, 34 MHz above, an idle 1.4 MHz LTE cell 23.5 dB above the noise, its CRS boosted. Their structure
    repeats every frame; one hypothesis of the raw sums reached 69 and gave the NR cell a 270-RB band over the LTE
    cell, which the whitened sums did not confirm (3.5 at that hypothesis)."""
    from radiofm.data.nrlte import _alt_frame
    from radiofm.synth.nrlte.traffic import resolve_mix

    iq, meta = _alt_frame(np.random.default_rng(np.random.SeedSequence([332, 17])), "test", resolve_mix(None))
    nr = next(c for c in meta["carriers"] if c["type"] == "NR")
    assert nr["traffic"] == "idle" and nr["pci"] == 305
    ssb = nr_pss_search(iq, FS, lower_hz=nr["lower_edge_hz"], upper_hz=nr["upper_edge_hz"], scs_hz=(15e3,))
    assert ssb["pci"] == 305
    band = nr_cells.nr_cell_band(iq, FS, pci=305, scs_hz=15e3, ssb_center_hz=ssb["ssb_center_hz"], lower_hz=-29e6,
                                 upper_hz=29e6)  # fmt: skip
    assert band is None
