"""Physical-layer evidence on fully loaded LTE and NR carriers: cell search, DC null, bandwidth, decision.

Carriers come from the NR/LTE generator (radiofm.synth.nrlte) at 61.44 MS/s, fully loaded (every PRB scheduled,
so the spectrogram cannot tell the standards apart), through its fading channels, with a CFO of +-300 Hz and a
random start. The receiver side is independent of the generator except for the 3GPP sequences (pinned in
test_sequences.py).
"""

import functools
import json

import numpy as np
import pytest

from radiofm.dsp import bandwidth, cellsearch, evidence, lte_pss, nr_cellsearch, ofdm_rx, sequences
from radiofm.errors import ConfigError, RecordingError
from radiofm.synth.nrlte.carrier import single_carrier
from radiofm.synth.nrlte.ofdm import SAMPLE_RATE_HZ as FS
from radiofm.synth.nrlte.scene import complex_noise

SNRS = (0.0, 10.0, 20.0)


@functools.cache
def _carrier(kind: str, bw: float, scs: float, snr_db: float, seed: int = 0):
    """A fully loaded carrier 3 MHz off the capture centre, CFO +-300 Hz, random start (cached across tests)."""
    rng = np.random.default_rng([seed, int(snr_db * 10) + 1000, int(bw * 10), int(scs), kind == "NR"])
    cfo = 300.0 if rng.random() < 0.5 else -300.0
    return single_carrier(kind, rng, bandwidth_mhz=bw, scs_hz=scs, snr_db=snr_db, centre_hz=3e6, cfo_hz=cfo)


def _coarse_edges(meta: dict, rng: np.random.Generator) -> tuple[float, float]:
    """The carrier's edges as a 240 kHz spectrogram grid would give them (+-120 kHz)."""
    return meta["lower_edge_hz"] + rng.uniform(-120e3, 120e3), meta["upper_edge_hz"] + rng.uniform(-120e3, 120e3)


# ---------------------------------------------------------------- the whole chain


@pytest.mark.parametrize("snr_db", SNRS)
@pytest.mark.parametrize("bw", [5, 10, 20])
def test_loaded_lte_is_labelled_lte_with_its_pci(bw, snr_db):
    iq, meta = _carrier("LTE", bw, 15e3, snr_db)
    lo, hi = _coarse_edges(meta, np.random.default_rng(1))
    ev = evidence.carrier_evidence(iq, FS, lower_hz=lo, upper_hz=hi)
    assert ev["label"] == "LTE", ev["standard_evidence"]
    assert ev["pci"] == meta["n_id_cell"]
    assert ev["scores"]["LTE"] > 0.99 and ev["scores"]["NR"] < 0.01
    assert abs(ev["lte"]["center_hz"] - meta["centre_offset_hz"]) < 1e3  # the DC found to a fraction of 15 kHz
    assert not ev["nr"]["detected"]  # the NR search finds nothing on an LTE carrier


@pytest.mark.parametrize("snr_db", SNRS)
@pytest.mark.parametrize(("scs", "bw"), [(15e3, 10), (30e3, 20)])
def test_loaded_nr_is_labelled_nr_with_its_pci_and_ssb(scs, bw, snr_db):
    iq, meta = _carrier("NR", bw, scs, snr_db)
    lo, hi = _coarse_edges(meta, np.random.default_rng(2))
    ev = evidence.carrier_evidence(iq, FS, lower_hz=lo, upper_hz=hi)
    assert ev["label"] == "NR", ev["standard_evidence"]
    assert ev["pci"] == meta["n_id_cell"]
    assert ev["nr"]["scs_hz"] == scs
    first = 12 * meta["ssb_rb_offset"] + meta["ssb_sc_offset"]  # the SS block's first subcarrier (k_SSB included)
    ssb_centre = meta["lower_edge_hz"] + (first + 120.5) * scs  # centre of SSB subcarrier 120
    assert abs(ev["nr"]["ssb_center_hz"] - ssb_centre) < scs / 2
    assert ev["nr"]["burst_period_ms"] == meta["ssb_period_ms"]  # the generator's burst period
    assert ev["lte"] is None or not ev["lte"]["detected"]


def test_pure_noise_is_unknown():
    iq = complex_noise(np.random.default_rng(3), int(0.04 * FS), 1.0).copy()
    ev = evidence.carrier_evidence(iq, FS, lower_hz=-4.5e6, upper_hz=4.5e6)
    assert ev["label"] == "unknown" and ev["pci"] is None
    assert not ev["nr"]["detected"] and not ev["lte"]["detected"]
    assert 0.1 < ev["scores"]["NR"] < 0.9


def test_a_6_ms_span_of_a_longer_recording_is_enough_at_20_db():
    iq, meta = _carrier("LTE", 10, 15e3, 20.0)
    start, count = int(0.011 * FS), int(0.006 * FS)  # holds one PSS (every 5 ms)
    ev = evidence.carrier_evidence(
        iq, FS, lower_hz=meta["lower_edge_hz"], upper_hz=meta["upper_edge_hz"], start=start, count=count
    )
    assert ev["label"] == "LTE" and ev["pci"] == meta["n_id_cell"], ev["standard_evidence"]
    capped = evidence.carrier_evidence(
        iq, FS, lower_hz=meta["lower_edge_hz"], upper_hz=meta["upper_edge_hz"], max_duration_s=0.006
    )
    assert capped["label"] == "LTE" and capped["lte"]["occurrences"] in (1, 2)  # only 6 ms were searched


def test_spans_shorter_than_an_ssb_burst_pattern_do_not_crash():
    """1-1.5 ms spans (a short annotate box) hold fewer 15 kHz symbols than the burst pattern spans (20): the
    burst statistic wraps instead of failing on mismatched shapes."""
    iq, meta = _carrier("NR", 20, 15e3, 20.0)
    for ms in (1.0, 1.3):
        ev = evidence.carrier_evidence(
            iq[: int(ms * 1e-3 * FS)], FS, lower_hz=meta["lower_edge_hz"], upper_hz=meta["upper_edge_hz"]
        )
        assert ev["label"] in ("NR", "unknown") and np.isfinite(ev["llr"])


# ---------------------------------------------------------------- the searches on their own


@pytest.mark.parametrize("snr_db", [0.0, 20.0])
def test_lte_search_pci_timing_and_the_nr_search_stays_low(snr_db):
    iq, meta = _carrier("LTE", 10, 15e3, snr_db)
    lte = cellsearch.lte_pss_search(iq, FS, center_offset_hz=meta["centre_offset_hz"] + 20e3)  # centre 20 kHz off
    assert lte["detected"] and lte["pci"] == meta["n_id_cell"]
    assert abs(lte["freq_error_hz"] + 20e3) < 1e3 and lte["occurrences"] == 8
    # the capture was rotated by time_shift: frame 0 (subframe 0) began at sample 0 before the rotation
    frame = int(0.01 * FS)
    error = (lte["frame_start_sample"] - meta["time_shift"]) % frame
    assert min(error, frame - error) < 64
    nr = nr_cellsearch.nr_pss_search(iq, FS, lower_hz=meta["lower_edge_hz"], upper_hz=meta["upper_edge_hz"])
    assert not nr["detected"] and max(nr["z"], nr["z_burst"]) < 0.8 * cellsearch.NR_PSS_Z_THRESHOLD


@pytest.mark.parametrize("snr_db", [0.0, 20.0])
def test_nr_search_and_the_lte_search_stays_low(snr_db):
    iq, meta = _carrier("NR", 10, 15e3, snr_db)
    nr = nr_cellsearch.nr_pss_search(iq, FS, lower_hz=meta["lower_edge_hz"], upper_hz=meta["upper_edge_hz"])
    assert nr["detected"] and nr["pci"] == meta["n_id_cell"]
    assert nr["n_bursts"] >= 2 and nr["burst_period_ms"] == meta["ssb_period_ms"]  # the random start may split one
    lte = cellsearch.lte_pss_search(iq, FS, center_offset_hz=meta["centre_offset_hz"])
    assert not lte["detected"] and lte["pci"] is None and lte["z_diff"] < 0.8 * cellsearch.LTE_PSS_Z_THRESHOLD
    assert lte["sss_z"] < cellsearch.SSS_Z_THRESHOLD  # what keeps a coherent PSS statistic on an SSB from counting


def test_dc_null_separates_loaded_lte_from_nr():
    for snr_db in (10.0, 20.0):
        lte_iq, lte_meta = _carrier("LTE", 10, 15e3, snr_db)
        nr_iq, nr_meta = _carrier("NR", 10, 15e3, snr_db)
        lte_score = evidence.dc_null_score(lte_iq, FS, center_offset_hz=lte_meta["centre_offset_hz"])
        nr_score = evidence.dc_null_score(nr_iq, FS, center_offset_hz=nr_meta["centre_offset_hz"])
        assert lte_score > 0.7 and nr_score < 0.3, (snr_db, lte_score, nr_score)
    noise = complex_noise(np.random.default_rng(4), int(0.04 * FS), 1.0).copy()
    assert np.isnan(evidence.dc_null_score(noise, FS, center_offset_hz=0.0))  # nothing to judge


# ---------------------------------------------------------------- bandwidth


def test_bandwidth_evidence_picks_the_table_entry():
    for row in bandwidth.carrier_table():
        half = row["occupied_hz"] / 2
        ev = bandwidth.bandwidth_evidence(-half + 1e3, half - 1e3, resolution_hz=3.75e3)
        best = ev["matches"][0]
        assert (best["standard"], best["n_rb"], best["scs_hz"]) == (row["standard"], row["n_rb"], row["scs_hz"])
    # LTE 5 MHz (4.515 MHz) vs NR 15 kHz 5 MHz (4.500 MHz): told apart at 3.75 kHz, not at the 240 kHz grid
    fine = bandwidth.bandwidth_evidence(0, 4.515e6, resolution_hz=3.75e3)
    coarse = bandwidth.bandwidth_evidence(0, 4.515e6, resolution_hz=240e3)
    assert fine["llr_nr"] == -bandwidth.BW_LLR_LIMIT and abs(coarse["llr_nr"]) < 0.1
    assert bandwidth.bandwidth_evidence(0, 7.2e6, resolution_hz=3.75e3)["llr_nr"] == 0.0  # matches nothing


@pytest.mark.parametrize(("kind", "bw", "scs"), [("LTE", 5, 15e3), ("NR", 10, 15e3), ("NR", 20, 30e3)])
def test_refine_edges_recovers_the_grid_edges(kind, bw, scs):
    iq, meta = _carrier(kind, bw, scs, 10.0)
    lo, hi = _coarse_edges(meta, np.random.default_rng(5))
    edges = bandwidth.refine_edges(iq, FS, lo, hi)
    assert all(edges["found"].values())
    assert abs(edges["lower_hz"] - meta["lower_edge_hz"]) < 8e3
    assert abs(edges["upper_hz"] - meta["upper_edge_hz"]) < 8e3


# ---------------------------------------------------------------- a tiny LTE written here (FDD and TDD, 7.68 MS/s)


def _tiny_lte(rng: np.random.Generator, *, tdd: bool, n_id_cell: int, snr_db: float) -> np.ndarray:
    """40 ms of a 5 MHz LTE-like downlink at 7.68 MS/s: random QPSK on 300 subcarriers, empty DC, PSS/SSS at the
    FDD (slot 0/10, symbols 5/6) or TDD (SSS last symbol of subframe 0/5, PSS third of subframe 1/6) positions."""
    rate, nf = 7.68e6, 512
    _, _, cps = ofdm_rx.half_ms_layout(15e3, nf)
    n_sym = 560
    k = np.r_[-150:0, 1:151]
    grid = np.zeros((n_sym, nf), complex)
    grid[:, k % nf] = np.exp(0.5j * np.pi * rng.integers(0, 4, (n_sym, k.size)) + 0.25j * np.pi)
    n1, n2 = divmod(n_id_cell, 3)
    sync = np.r_[-31:0, 1:32] % nf
    for frame in range(4):
        for sf in (0, 5):
            base = 140 * frame + 14 * sf
            sss_row, pss_row = (base + 13, base + 16) if tdd else (base + 5, base + 6)
            grid[sss_row, sync] = sequences.lte_sss(n1, n2, sf)
            grid[pss_row, sync] = sequences.lte_pss(n2)
    body = np.fft.ifft(grid, axis=1) * np.sqrt(nf)
    x = np.concatenate([np.concatenate([b[-cps[i % 7] :], b]) for i, b in enumerate(body)])
    x = x * np.exp(2j * np.pi * 250.0 / rate * np.arange(x.size))  # CFO 250 Hz
    noise = (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size)) * np.sqrt(0.5 * 10 ** (-snr_db / 10))
    return np.roll(x + noise, int(rng.integers(0, x.size))).astype(np.complex64)


@pytest.mark.parametrize("tdd", [False, True])
def test_hand_built_lte_fdd_and_tdd_at_another_sample_rate(tdd):
    rng = np.random.default_rng(7)
    iq = _tiny_lte(rng, tdd=tdd, n_id_cell=301, snr_db=5.0)
    lte = cellsearch.lte_pss_search(iq, 7.68e6, center_offset_hz=0.0)
    assert lte["pci"] == 301 and lte["duplex"] == ("TDD" if tdd else "FDD")
    ev = evidence.carrier_evidence(iq, 7.68e6, lower_hz=-2.3e6, upper_hz=2.3e6)
    assert ev["label"] == "LTE" and ev["pci"] == 301
    json.dumps(ev)  # plain types only: ready for a SigMF annotation


# ---------------------------------------------------------------- front end and errors


def test_cp_sync_finds_timing_and_grid_offset_of_a_hand_built_ofdm_signal():
    """Random QPSK OFDM (15 kHz, normal CP, 600 subcarriers) with a known half-ms boundary and a 4.2 kHz offset."""
    rng = np.random.default_rng(6)
    bb_rate, nf = 15.36e6, 1024
    nfft, offsets, cps = ofdm_rx.half_ms_layout(15e3, nf)
    symbols = []
    for _ in range(40):  # 20 ms
        for cp in cps:
            grid = np.zeros(nfft, complex)
            grid[np.r_[1:301, nfft - 300 : nfft]] = np.exp(0.5j * np.pi * rng.integers(0, 4, 600))
            body = np.fft.ifft(grid) * np.sqrt(nfft)  # unit power per subcarrier
            symbols.append(np.concatenate([body[-cp:], body]))
    x = np.concatenate(symbols)
    tau = 3000
    x = np.roll(x, tau) * np.exp(2j * np.pi * 4.2e3 / bb_rate * np.arange(x.size))
    x = (x + 0.05 * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(np.complex64)
    bb = ofdm_rx.extract_band(x, bb_rate, centre_hz=0.0, lower_hz=-7e6, upper_hz=7e6)
    sync15, sync30 = ofdm_rx.cp_sync(bb, 15e3), ofdm_rx.cp_sync(bb, 30e3)
    assert sync15.tau0 == tau and abs(sync15.freq_offset_hz - 4.2e3) < 50
    assert sync15.rho > 0.9 and sync30.rho < 0.1  # a blind numerology detector


def test_bad_input_raises_one_line_errors():
    iq = np.zeros(1000, np.complex64)
    with pytest.raises(RecordingError, match="shorter than"):
        cellsearch.lte_pss_search(iq, FS, center_offset_hz=0.0)
    with pytest.raises(RecordingError, match="complex"):
        nr_cellsearch.nr_pss_search(np.zeros(100000), FS, lower_hz=-1e6, upper_hz=1e6)
    bad = np.zeros(int(0.01 * FS), np.complex64)
    bad[5] = np.nan
    with pytest.raises(RecordingError, match="NaN"):
        evidence.dc_null_score(bad, FS, center_offset_hz=0.0)
    with pytest.raises(ConfigError, match="lower_hz < upper_hz"):
        evidence.carrier_evidence(np.zeros(int(0.01 * FS), np.complex64), FS, lower_hz=1e6, upper_hz=-1e6)
    with pytest.raises(ConfigError, match="max_duration_s"):
        evidence.carrier_evidence(np.zeros(int(0.01 * FS), np.complex64), FS, lower_hz=-1, upper_hz=1, max_duration_s=0)
    with pytest.raises(ConfigError, match="span"):
        evidence.carrier_evidence(np.zeros(int(0.01 * FS), np.complex64), FS, lower_hz=-1e6, upper_hz=1e6, start=-5)


# ---------------------------------------------------------------- the coherent LTE PSS statistic


@pytest.mark.parametrize(("bw", "snr_db"), [(10, -5.0), (20, -6.0)])
def test_weak_lte_is_found_by_the_coherent_pss_where_the_differential_one_misses(bw, snr_db):
    iq, meta = _carrier("LTE", bw, 15e3, snr_db)
    lte = cellsearch.lte_pss_search(iq, FS, center_offset_hz=meta["centre_offset_hz"])
    assert lte["z_diff"] < cellsearch.LTE_PSS_Z_THRESHOLD  # the differential statistic alone misses this cell
    assert lte["detected"] and lte["z"] >= cellsearch.LTE_COHERENT_Z_THRESHOLD
    assert lte["pci"] == meta["n_id_cell"]


def test_coherent_pss_tolerates_a_grid_timed_late_and_corrects_the_frame_start():
    iq, meta = _carrier("LTE", 10, 15e3, 0.0)
    centre = meta["centre_offset_hz"]
    bb = ofdm_rx.extract_band(iq, FS, centre_hz=centre, lower_hz=centre - 0.72e6, upper_hz=centre + 0.72e6)
    sync = ofdm_rx.cp_sync(bb, 15e3)
    period = int(round(7.5 * bb.nf15))
    results = []
    for late in (0, int(0.08 * bb.nf15)):  # 5.3 us late: beyond the CP, so the windows cut into the next symbol
        grid = ofdm_rx.symbol_grid(bb, 15e3, tau0=(sync.tau0 + late) % period, freq_offset_hz=sync.freq_offset_hz)
        results.append(cellsearch.lte_search_grid(grid, center_hz=centre))
    assert all(r["detected"] and r["pci"] == meta["n_id_cell"] for r in results)
    assert results[1]["z_diff"] < results[0]["z_diff"]  # ISI costs the differential statistic too
    step = lte_pss.LAG_STEP * FS / 15e3  # one lag step in recording samples
    assert abs(results[1]["frame_start_sample"] - results[0]["frame_start_sample"]) <= step


def test_noise_floor_and_block_powers_of_the_span_spectrum():
    rng = np.random.default_rng(2)
    n = int(0.01 * FS)
    noise = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)
    tone = 10 * np.exp(2j * np.pi * 5e6 / FS * np.arange(n)).astype(np.complex64)
    spectrum = ofdm_rx.span_spectrum(noise + tone)
    floor = ofdm_rx.noise_floor(spectrum, FS)
    assert 0.85 * n < floor < n  # E|X|^2 = N for unit-power white noise; the quietest of ~550 blocks lies below
    blocks = ofdm_rx.block_powers(spectrum, FS, 4.5e6, 5.5e6, 200e3)
    assert blocks.shape == (5,) and blocks.max() > 100 * floor  # the tone's block


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_block_powers_are_the_mean_power_of_the_bins_modulo_n(dtype):
    """Bins [first, first + count x per) taken modulo N (negative frequencies at the top of numpy's order): a band
    above the centre, one below it, one across it (the range wraps past the top bin) and the whole span; the same
    bits as the float64 mean of re^2 + im^2 written out, and of a strided (non-contiguous) spectrum."""
    rng = np.random.default_rng(3)
    n = 96_000
    spectrum = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype)
    df = FS / n
    bands = [(4.5e6, 5.5e6, 200e3), (-9e6, -2e6, 100e3), (-1.3e6, 2.1e6, 200e3), (-0.45 * FS, 0.45 * FS, 100e3)]
    for lo, hi, block in bands:
        first, per = int(np.ceil(lo / df)), int(round(block / df))
        count = int((hi - lo) / df) // per
        picked = spectrum[(first + np.arange(count * per)) % n]
        want = (picked.real.astype(np.float64) ** 2 + picked.imag.astype(np.float64) ** 2).reshape(count, per)
        got = ofdm_rx.block_powers(spectrum, FS, lo, hi, block)
        np.testing.assert_array_equal(got, want.mean(axis=1))
    wide = np.zeros(2 * n, dtype=dtype)
    wide[::2] = spectrum
    np.testing.assert_array_equal(ofdm_rx.block_powers(wide[::2], FS, -1.3e6, 2.1e6, 200e3),
                                  ofdm_rx.block_powers(spectrum, FS, -1.3e6, 2.1e6, 200e3))  # fmt: skip


def test_energy_band_extends_over_power_above_the_noise_up_to_the_limits():
    """A synthetic 10 ms spectrum: unit noise, +1 dB (x1.26) over [-4, 6] MHz except a 1 MHz gap at [2.5, 3.5],
    a strong carrier (x100) over [10, 15] MHz. The core [0, 2] MHz (an SSB) extends over the weak band and bridges
    its 1 MHz gap, but not the 4 MHz of noise before the strong carrier (wider than ``max_gap_hz``, 3 MHz) nor
    beyond the limits; on plain noise the core stays as it is."""
    rng = np.random.default_rng(4)
    n = int(0.01 * FS)
    f = np.fft.fftfreq(n, 1 / FS)
    level = np.ones(n)
    level[(f >= -4e6) & (f < 6e6) & ~((f >= 2.5e6) & (f < 3.5e6))] = 1.26
    level[(f >= 10e6) & (f < 15e6)] = 100.0
    noise = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)
    spectrum = (noise * np.sqrt(level * n)).astype(np.complex64)
    kw = {"core": (0.0, 2e6), "floor": ofdm_rx.noise_floor(spectrum, FS)}
    lo, hi = ofdm_rx.energy_band(spectrum, FS, limits=(-20e6, 20e6), **kw)
    assert abs(lo + 4e6) <= 0.2e6 and abs(hi - 6e6) <= 0.2e6
    assert ofdm_rx.energy_band(spectrum, FS, limits=(-20e6, 20e6), max_gap_hz=5e6, **kw)[1] >= 14.8e6
    lo, hi = ofdm_rx.energy_band(spectrum, FS, limits=(-2e6, 3e6), **kw)  # within the limits: the 2.5 MHz gap edge
    assert lo == -2e6 and abs(hi - 2.5e6) <= 0.2e6
    plain = (noise * np.sqrt(n)).astype(np.complex64)
    floor = ofdm_rx.noise_floor(plain, FS)
    assert ofdm_rx.energy_band(plain, FS, core=(0.0, 2e6), limits=(-20e6, 20e6), floor=floor) == (0.0, 2e6)


# ---------------------------------------------------------------- a grid whose half-ms boundaries are a symbol off


def _grids_symbols_apart(iq, rate, *, centre, lower, upper, scs, shift):
    """The grid of the CP-measured half-ms boundaries, and the two ``shift`` normal symbols earlier and later: what
    the CP correlation may give at low SNR, where only the long CP's 16 kappa Tc tells the boundary (every window
    still lies inside its symbol, but the long CP is put on the wrong one)."""
    bb = ofdm_rx.extract_band(iq, rate, centre_hz=centre, lower_hz=lower, upper_hz=upper)
    sync = ofdm_rx.cp_sync(bb, scs)
    nfft, _, cps = ofdm_rx.half_ms_layout(scs, bb.nf15)
    period = int(round(7.5 * bb.nf15))
    taus = [(sync.tau0 + s * (nfft + int(cps[1]))) % period for s in (0, -shift, shift)]
    return [ofdm_rx.symbol_grid(bb, scs, tau0=t, freq_offset_hz=sync.freq_offset_hz) for t in taus]


@pytest.mark.parametrize("tdd", [False, True])
def test_the_lte_sss_holds_on_a_grid_whose_half_ms_boundaries_are_a_symbol_off(tdd):
    iq = _tiny_lte(np.random.default_rng(8), tdd=tdd, n_id_cell=301, snr_db=5.0)
    grids = _grids_symbols_apart(iq, 7.68e6, centre=0.0, lower=-1.2e6, upper=1.2e6, scs=15e3, shift=1)
    hits = [cellsearch.lte_search_grid(g, center_hz=0.0) for g in grids]
    assert all(h["pci"] == 301 and h["duplex"] == ("TDD" if tdd else "FDD") for h in hits)
    # the PSS's channel estimate is moved onto the SSS's window: the SSS loses (almost) nothing
    assert min(h["sss_z"] for h in hits[1:]) > 0.85 * hits[0]["sss_z"]
    occ = np.arange(hits[0]["pss_symbol"], grids[0].y.shape[0], cellsearch.LTE_PERIOD_SYMBOLS)
    gap = 3 if tdd else 1
    bins = np.arange(10)
    right = ofdm_rx.window_ramp(grids[0], occ, occ - gap, bins, symbols=-gap, long_cps=-int(tdd))
    assert np.array_equal(right, np.ones_like(right))  # boundaries right: the products are left exactly as they were
    occ = np.arange(hits[1]["pss_symbol"], grids[1].y.shape[0], cellsearch.LTE_PERIOD_SYMBOLS)
    off = ofdm_rx.window_ramp(grids[1], occ, occ - gap, bins, symbols=-gap, long_cps=-int(tdd))
    assert not np.allclose(off, 1.0)


@pytest.mark.parametrize(("scs", "bw"), [(15e3, 10), (30e3, 20)])
def test_the_nr_sss_holds_on_a_grid_whose_half_ms_boundaries_are_symbols_off(scs, bw):
    # three symbols: the long CP then lies between some SSB's PSS (symbol 2 or 8) and its SSS (4 or 10); one or two
    # put it on no PSS or SSS of any SSB case
    iq, meta = _carrier("NR", bw, scs, 10.0)
    lo, hi, centre = meta["lower_edge_hz"], meta["upper_edge_hz"], meta["centre_offset_hz"]
    grids = _grids_symbols_apart(iq, FS, centre=centre, lower=lo - 60e3, upper=hi + 60e3, scs=scs, shift=3)
    hits = [nr_cellsearch.nr_search_grid(g, lower_hz=lo, upper_hz=hi) for g in grids]
    assert all(h["pci"] == meta["n_id_cell"] for h in hits)
    assert min(h["sss_z"] for h in hits[1:]) > 0.85 * hits[0]["sss_z"]


def test_a_dc_just_outside_the_searched_range_is_found_through_its_pss_alias():
    """A PSS slid by 5 bins (N_ID2 = 0) passes for ~1 us of delay: with the DC two bins beyond the searched range,
    the alias inside it stands out and only the SSS, tried at the aliases of the best candidate beyond the range
    (``beyond=True``, what the band scan uses), puts the DC where it is."""
    iq = _tiny_lte(np.random.default_rng(9), tdd=False, n_id_cell=300, snr_db=5.0)  # N_ID2 = 300 mod 3 = 0
    bb = ofdm_rx.extract_band(iq, 7.68e6, centre_hz=0.0, lower_hz=-2.3e6, upper_hz=2.3e6)
    sync = ofdm_rx.cp_sync(bb, 15e3)
    grid = ofdm_rx.symbol_grid(bb, 15e3, tau0=sync.tau0, freq_offset_hz=sync.freq_offset_hz)
    reach = 300e3
    centre = -(reach + 2 * 15e3)  # the DC (0 Hz) two bins above the range
    inside = cellsearch.lte_search_grid(grid, center_hz=centre, max_offset_hz=reach)
    assert inside["pci"] is None and inside["z"] >= cellsearch.LTE_COHERENT_Z_THRESHOLD  # the alias, no SSS
    found = cellsearch.lte_search_grid(grid, center_hz=centre, max_offset_hz=reach, beyond=True)
    assert found["pci"] == 300 and abs(found["center_hz"]) < 2e3
    centred = cellsearch.lte_search_grid(grid, center_hz=0.0, max_offset_hz=reach, beyond=True)
    assert centred["pci"] == 300 and abs(centred["center_hz"]) < 2e3


def test_coherent_metric_is_the_normalised_correlation_power():
    """coherent_metric against its definition written out: |window . steering|^2 (squared real and imaginary parts,
    summed) over 62 times the window's energy without the DC bin (to float32 rounding: the energies are summed in
    another order); in [0, 1]."""
    rng = np.random.default_rng(8)
    y = (rng.standard_normal((40, 128)) + 1j * rng.standard_normal((40, 128))).astype(np.complex64)
    dcs = np.arange(40, 90)
    _, steer = lte_pss.lag_steering(128, 9, 0.125)
    got = lte_pss.coherent_metric(y, 9, dcs, 0.125)
    windows = np.stack([y[:, d - 31 : d + 32] for d in dcs], axis=1)  # (S, D, 63)
    corr = windows.reshape(-1, 63) @ steer
    energy = (y.real**2 + y.imag**2).astype(np.float64)
    inside = np.stack([energy[:, d - 31 : d + 32].sum(axis=1) - energy[:, d] for d in dcs], axis=1)
    want = (corr.real**2 + corr.imag**2) / (62 * inside.reshape(-1, 1)).astype(np.float32)
    assert got.shape == (3, steer.shape[1] // 3, 40, 50)
    assert np.allclose(got, want.reshape(40, 50, 3, -1).transpose(2, 3, 0, 1), rtol=1e-5, atol=0)
    assert got.min() >= 0 and got.max() <= 1 + 1e-6


def _same_sums(a: np.ndarray, b: np.ndarray) -> None:
    """Equal to float32 rounding. OpenBLAS's Haswell kernels give every row of a product the same bits whatever
    the other rows; its AVX-512 kernels sum some rows in another order when the product's shape differs (2e-6
    relative at most, on 1.4 % of the values; session 60's machine), so the bits are not the property."""
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)


def test_coherent_metric_of_chosen_dcs_is_that_of_the_range_they_come_from():
    """A range of DCs (its windows copied from one slice) and DCs picked out of it (gathered) give the same sums
    of the same windows: the two ways only build the product's left matrix."""
    rng = np.random.default_rng(9)
    y = (rng.standard_normal((30, 160)) + 1j * rng.standard_normal((30, 160))).astype(np.complex64)
    dcs = np.arange(35, 120)
    whole = lte_pss.coherent_metric(y, 4, dcs, 0.125)
    picked = np.array([40, 41, 77, 119])
    _same_sums(lte_pss.coherent_metric(y, 4, picked, 0.125), whole[..., picked - 35])
    _same_sums(lte_pss.coherent_metric(y, 4, dcs[:1], 0.125), whole[..., :1])


def test_coherent_metric_in_blocks_of_symbols_gives_the_bits_of_one_product(monkeypatch):
    """The statistic is computed a block of symbols at a time (the correlations stay in the cache): blocks of 7
    symbols, the last one short, of 2, of 29 (one symbol left over, which joins the block before: a product of
    one row is a matrix-vector product, with other bits) and the smallest (one symbol, two for a single DC) give the
    same sums and the memory layout of one block for all, for a range of DCs and for chosen ones, one DC included."""
    rng = np.random.default_rng(10)
    y = (rng.standard_normal((30, 160)) + 1j * rng.standard_normal((30, 160))).astype(np.complex64)
    y[:, 50] *= 40  # a strong bin inside some windows and not others
    for dcs in (np.arange(35, 120), np.array([40, 41, 77, 119]), np.array([60])):
        monkeypatch.setattr(lte_pss, "COHERENT_BLOCK", 1 << 30)
        whole = lte_pss.coherent_metric(y, 4, dcs, 0.125)
        per_column = whole.shape[1] * 3 * dcs.size  # correlations per symbol
        for block in (7 * per_column, 2 * per_column, 29 * per_column, 1):  # 1: the smallest blocks (2 rows)
            monkeypatch.setattr(lte_pss, "COHERENT_BLOCK", block)
            blocks = lte_pss.coherent_metric(y, 4, dcs, 0.125)
            _same_sums(blocks, whole)
            assert blocks.strides == whole.strides


def test_the_evidence_says_where_the_ssb_is_from_the_recordings_centre():
    """`annotate` moves a carrier's band to 0 Hz before its evidence; the line "SSB at ... MHz" gave the place in
    that band (-0.333 MHz for an SSB at -24.57 MHz, session 58), while the stored SSB centre was right."""
    import re

    from radiofm.dsp import ofdm_rx
    from radiofm.dsp.evidence import carrier_evidence
    from radiofm.synth.nrlte.carrier import single_carrier

    fs = 61.44e6
    iq, m = single_carrier("NR", np.random.default_rng(5), bandwidth_mhz=20, scs_hz=30e3, snr_db=15.0,
                           centre_hz=-12e6, load=0.5)  # fmt: skip
    x = iq[: int(20e-3 * fs)]
    lo, hi = m["lower_edge_hz"], m["upper_edge_hz"]
    bb = ofdm_rx.extract_band(x, fs, centre_hz=0.5 * (lo + hi), lower_hz=lo - 1.5e6, upper_hz=hi + 1.5e6)
    ev = carrier_evidence(bb.x, bb.rate_hz, lower_hz=lo - bb.centre_hz, upper_hz=hi - bb.centre_hz,
                          max_duration_s=None, origin_hz=bb.centre_hz)  # fmt: skip
    ssb = lo + (12 * m["ssb_rb_offset"] + m["ssb_sc_offset"] + 120) * 30e3
    line = next(t for t in ev["standard_evidence"] if "SSB at" in t)
    assert abs(float(re.search(r"SSB at (-?[\d.]+) MHz", line).group(1)) * 1e6 - ssb) < 50e3, line


def _cell_with_its_ssb_off_grid(shift_hz: float) -> tuple[np.ndarray, "object", float]:
    """A loaded 40 MHz, 30 kHz NR cell at about 10 dB per RE whose SS blocks sit ``shift_hz`` above the carrier's
    subcarrier grid (an odd k_SSB in 15 kHz steps, 38.211 §7.4.3.1); returns (iq, cfg, SSB centre in Hz)."""
    import dataclasses

    from radiofm.synth.nrlte import nr, ofdm

    rng = np.random.default_rng(3)
    cfg = dataclasses.replace(
        nr.draw_nr(rng, traffic_regime="random"), scs_hz=30e3, bandwidth_mhz=40, n_rb=106, ssb_rb_offset=40,
        ssb_sc_offset=0, ssb_case="C", l_max=8, ssb_bitmap=[1] * 8, ssb_period_ms=20, tdd_pattern=None,
        tdd_special_dl_symbols=None, load=0.5, time_shift_symbols=0, coreset_rb=48, coreset_rb_offset=0,
        pss_boost_db=0.0, ssb_power_offset_db=0.0,
    )  # fmt: skip
    g = nr.build_grid(cfg, np.random.default_rng(4))
    ssb = np.zeros(g.shape, dtype=bool)
    k0 = 12 * cfg.ssb_rb_offset
    for r in nr.ssb_positions(cfg)[0]:
        ssb[r : r + 4, k0 : k0 + 240] = True
    nfft = ofdm.numerology(30e3)["nfft"]
    first, _ = nr.subcarrier_bins(cfg, 0)
    parts = []
    for mask in (~ssb, ssb):
        full = np.zeros((g.shape[0], nfft), dtype=np.complex64)
        ofdm.add_block(full, slice(None), first, np.where(mask, g, 0))
        parts.append(ofdm.modulate(full, 30e3))
    n = np.arange(parts[1].size)
    iq = parts[0] + parts[1] * np.exp(2j * np.pi * shift_hz * n / FS).astype(np.complex64)
    iq += complex_noise(np.random.default_rng(5), iq.size, 0.05 * 12 * cfg.n_rb / nfft)
    return iq, cfg, (first + k0 + 120) * 30e3 + shift_hz


@pytest.mark.parametrize("shift_hz", [0.0, 15e3])
def test_a_30_khz_ssb_half_a_subcarrier_off_its_carriers_grid_is_found(shift_hz):
    """In FR1 k_SSB counts 15 kHz steps, so a 30 kHz SSB may sit between the carrier's subcarriers. The search
    built its grid where the carrier's data put it (the CP sync), so such a cell's PSS fell between the bins: z 20.6
    -> 10.2, the SSS lost and the SSB placed 375 kHz off. Both grids are searched now."""
    from radiofm.dsp.nr_cells import nr_cell_band

    iq, cfg, centre = _cell_with_its_ssb_off_grid(shift_hz)
    hit = nr_cellsearch.nr_pss_search(iq, FS, lower_hz=-20e6, upper_hz=20e6, scs_hz=(30e3,))
    assert hit["pci"] == cfg.n_id_cell and hit["z"] > 15
    assert abs(hit["ssb_center_hz"] - centre) < 1e3
    assert hit["ssb_grid_shift_hz"] == shift_hz
    # the band from the DMRS, on the carrier's grid: exact edges (on the SSB's they were 15 kHz off, z a third)
    cell = {"pci": hit["pci"], "scs_hz": 30e3, "ssb_center_hz": hit["ssb_center_hz"], "lower_hz": -25e6,
            "upper_hz": 25e6}  # fmt: skip
    band = nr_cell_band(iq, FS, **cell, ssb_grid_shift_hz=hit["ssb_grid_shift_hz"])
    low, high = (-6 * cfg.n_rb - 0.5) * 30e3, (6 * cfg.n_rb - 0.5) * 30e3  # the outer subcarriers' outer edges
    assert abs(band["lower_hz"] - low) < 1e3 and abs(band["upper_hz"] - high) < 1e3
    if shift_hz:
        assert band["z"] > 1.2 * nr_cell_band(iq, FS, **cell)["z"]
