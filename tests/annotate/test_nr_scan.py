"""annotate.nr_scan: an NR carrier the model saw in pieces becomes one carrier, from its SSB and PDSCH DMRS."""

from __future__ import annotations

import warnings

import numpy as np
from band_predictors import NR, band_box, band_predictor

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


def test_a_carrier_its_ssb_identified_is_not_searched_again_for_lte_cells(tmp_path):
    """The NR stage runs before the LTE cell scan: the carrier its SSB scan identified is no longer "unidentified",
    so no LTE PSS is searched at every DC position over its band (on a 40 ms capture of a 48 MHz NR carrier that
    search was most of the physical layer's time)."""
    rec, m, ssb = _carrier(tmp_path)
    piece = (ssb + 1.0e6, min(ssb + 5.0e6, m["upper_edge_hz"] - 0.3e6))  # the per-carrier search cannot see the SSB
    result = A.annotate_recording(rec, band_predictor([piece], NR))
    _whole_carrier(result.annotations[0], m)
    assert result.phy["nr_searches"] >= 1 and result.phy["lte_scans"] == 0


def test_a_piece_inside_a_measured_cell_band_is_not_searched_for_an_ssb(tmp_path, monkeypatch):
    """A piece holding the SSB (its PCI found per carrier) and a piece near the carrier's far edge, out of the SSB's
    reach: the cell's DMRS band is measured first, the second piece lies inside it, so no SSB search runs for it
    (one was run before) and the result is the whole carrier as before."""
    import radiofm.annotate.nr_scan as S

    rec, m, ssb = _carrier(tmp_path)
    lo, hi = m["lower_edge_hz"], m["upper_edge_hz"]
    far = (lo + 0.5e6, lo + 3.5e6) if ssb - lo > hi - ssb else (hi - 3.5e6, hi - 0.5e6)
    assert min(abs(ssb - far[0]), abs(ssb - far[1])) > S.SSB_REACH_HZ  # out of reach: the old rule searched it
    calls, search = [], S.nr_pss_search
    monkeypatch.setattr(S, "nr_pss_search", lambda *a, **k: calls.append(k["lower_hz"]) or search(*a, **k))
    result = A.annotate_recording(rec, band_predictor([(ssb - 3.8e6, ssb + 3.8e6), far], NR))
    (a,) = result.annotations
    _whole_carrier(a, m)
    assert calls == [] and result.phy["nr_searches"] == 1  # the DMRS band, measured once for both stages


def test_cell_bands_measured_ahead_on_the_cores_are_the_one_by_one_bands(tmp_path, monkeypatch):
    """Two cells' DMRS bands on different spans (a long capture's cells): measured at once on two threads, each on
    its own read of its span, they equal the bands measured one after the other through the shared span reader;
    a cell already measured is not measured again."""
    import threading

    import radiofm.annotate.nr_scan as S
    from radiofm.annotate import spans
    from radiofm.annotate.decide import Decision
    from radiofm.annotate.plan import plan_analysis

    rec, m, ssb = _carrier(tmp_path)
    plan = plan_analysis(FS, rec.n_samples)
    cell = Decision("NR", {"NR": 1.0, "LTE": 0.0}, "phy", 0.9, {"ssb": {"scs_hz": SCS, "center_hz": round(ssb)}},
                    pci=m["n_id_cell"])  # fmt: skip
    cells = [(cell, 0), (cell, int(0.01 * FS))]  # 30 ms spans from 0 and from 10 ms
    serial = S._Bands(plan, 30.0, spans.LastSpan(rec, "error"))
    want = [serial(c, start) for c, start in cells]
    assert all(b is not None and b["n_rb"] == m["n_rb"] for b in want)
    names, measure = [], S.measure_band
    monkeypatch.setattr(S, "measure_band", lambda *a, **k: names.append(threading.current_thread().name)
                        or measure(*a, **k))  # fmt: skip
    monkeypatch.setattr(S, "usable_cores", lambda: 2)
    bands = S._Bands(plan, 30.0, spans.LastSpan(rec, "error"))
    bands.ahead(cells)
    assert sorted(names) == ["radiofm-nr-band_0", "radiofm-nr-band_1"]
    got = [bands(c, start) for c, start in cells]
    assert len(names) == 2  # no second measurement
    for a, b in zip(got, want, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    bands.ahead(cells)
    assert len(names) == 2
    x = rec.read()  # the same cell with NaN samples in both spans, read with them repaired: counted, never warned
    x[[int(0.012 * FS), int(0.025 * FS)]] = np.nan
    bad = open_recording(write_sigmf(tmp_path / "bad", x, sample_rate_hz=FS, center_freq_hz=FC))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_by_one = S._Bands(plan, 30.0, spans.LastSpan(bad, "repair"))
        want_bad = [one_by_one(c, start) for c, start in cells]
        names.clear()
        repairing = S._Bands(plan, 30.0, spans.LastSpan(bad, "repair"))
        repairing.ahead(cells)
    assert sorted(names) == ["radiofm-nr-band_0", "radiofm-nr-band_1"]  # side by side, as without repairs
    assert all(b is not None and b["n_rb"] == m["n_rb"] for b in want_bad)
    for a, b in zip((repairing(c, start) for c, start in cells), want_bad, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_an_idle_cell_spans_at_least_its_ssb():
    """A cell whose DMRS were not found (idle: SSB and CORESET only): its band is its SSB's (7.2 MHz at 30 kHz)
    widened over the boxes it took, edges "estimated"; without boxes, the SSB's band."""
    from radiofm.annotate.decide import Decision
    from radiofm.annotate.merge import annotation_extra
    from radiofm.annotate.nr_idle import idle_decision

    base = Decision("NR", {"NR": 0.6, "LTE": 0.4}, "phy", 0.5, {"ssb": {"scs_hz": SCS, "center_hz": 1e6},
                    "items": ["NR PSS"]}, pci=7)  # fmt: skip
    box = A.Box(10, 40, 0, 255, 1, 100.0, 200, 80.0, 20.0)
    d = idle_decision(base, [box], [(3e6, 9e6)])  # a CORESET box reaching 4.4 MHz above the SSB
    assert d.band_hz == (1e6 - 120 * SCS, 9e6) and d.pci == 7 and d.label == "NR"
    assert annotation_extra(d)["radiofm:edges"] == "estimated" and "no PDSCH DMRS" in d.evidence["items"][-1]
    assert idle_decision(base, [], []).band_hz == (1e6 - 120 * SCS, 1e6 + 120 * SCS)


def test_energy_limits_stop_short_of_the_nearest_other_cell_on_each_side():
    from radiofm.annotate.nr_idle import EDGE_GUARD_HZ, NEIGHBOUR_GUARD_HZ, energy_limits

    ssb = {"center_hz": 1e6, "scs_hz": 15e3}  # 275 RB either side: 49.5 MHz, beyond the recording's band
    assert energy_limits(ssb, FS, []) == (-FS / 2 + EDGE_GUARD_HZ, FS / 2 - EDGE_GUARD_HZ)
    taken = [(-20e6, -15e6), (-12e6, -8e6), (5e6, 9e6), (12e6, 20e6)]
    assert energy_limits(ssb, FS, taken) == (-8e6 + NEIGHBOUR_GUARD_HZ, 5e6 - NEIGHBOUR_GUARD_HZ)
    assert energy_limits(ssb, FS, taken, within=(-6e6, 3e6)) == (-6e6, 3e6)
    assert energy_limits({"center_hz": 1e6, "scs_hz": 15e3 / 8}, FS, []) == (
        1e6 - 12 * 275 * 15e3 / 8,
        1e6 + 12 * 275 * 15e3 / 8,
    )


def test_carriers_over_one_span_share_its_read_and_its_spectrum(tmp_path, monkeypatch):
    """Two unidentified carriers over the same 40 ms are searched for SSBs on one read and one FFT of the span, and
    a search given the span's spectrum returns exactly what it computes without it."""
    import radiofm.annotate.nr_scan as S
    from radiofm.annotate import spans
    from radiofm.annotate.decide import Decision
    from radiofm.annotate.plan import plan_analysis
    from radiofm.dsp import ofdm_rx
    from radiofm.dsp.nr_cellsearch import nr_pss_search

    iq, _ = single_carrier("NR", np.random.default_rng(6), bandwidth_mhz=10, scs_hz=SCS, snr_db=-20.0, centre_hz=0.0)
    rec = open_recording(write_sigmf(tmp_path / "n", iq, sample_rate_hz=FS, center_freq_hz=FC))
    plan = plan_analysis(FS, rec.n_samples)

    reads, spectra = [], []
    read, search = spans.read_span, S.nr_pss_search
    monkeypatch.setattr(spans, "read_span", lambda *a: reads.append(a[1:3]) or read(*a))  # LastSpan's reads
    monkeypatch.setattr(S, "nr_pss_search", lambda *a, **k: spectra.append(k.get("spectrum")) or search(*a, **k))
    boxes = [band_box(plan, -22e6, -12e6, sums=(90.0, 10.0)), band_box(plan, 8e6, 18e6, sums=(90.0, 10.0))]
    decisions = [Decision("NR", {"NR": 0.9, "LTE": 0.1}, "spectrogram", 0.9) for _ in boxes]
    cells, searches = S._scan_ssbs(boxes, decisions, plan, 40.0, spans.LastSpan(rec, "error"))
    assert searches == 2 and cells == [] and len(reads) == 1
    assert spectra[0] is not None and spectra[1] is spectra[0]
    x = rec.read()
    alone = nr_pss_search(x, FS, lower_hz=-25e6, upper_hz=-9e6)
    assert nr_pss_search(x, FS, lower_hz=-25e6, upper_hz=-9e6, spectrum=ofdm_rx.span_spectrum(x)) == alone


def test_the_cell_stages_share_one_read_of_a_span(tmp_path, monkeypatch):
    """A 40 ms capture: the SSB scan, the DMRS search and the blind scan all work on the whole capture, and read it
    (and take its FFT) once between them."""
    from radiofm.annotate import nr_idle, spans

    rec, m, ssb = _carrier(tmp_path)
    reads = []
    read = spans.read_span
    monkeypatch.setattr(spans, "read_span", lambda *a: reads.append(a[1:3]) or read(*a))  # LastSpan's reads
    monkeypatch.setattr(nr_idle, "read_span", lambda *a: reads.append(a[1:3]) or read(*a))
    piece = (ssb + 1.0e6, min(ssb + 5.0e6, m["upper_edge_hz"] - 0.3e6))
    result = A.annotate_recording(rec, band_predictor([piece], NR))
    _whole_carrier(result.annotations[0], m)
    assert result.phy["nr_searches"] == 2 and result.phy["blind_searches"] > 0
    assert reads.count((0, rec.n_samples)) == 1


def test_ssb_searches_over_one_span_run_at_once_with_the_one_by_one_result(tmp_path, monkeypatch):
    """Two unidentified pieces of one NR carrier, each within reach of its SSB, over the same span: on two cores both
    searches start at once, but the second piece's band holds the cell the first found, so its result is not used:
    one search counted and the same cell as one search after the other."""
    import threading

    import radiofm.annotate.nr_scan as S
    from radiofm.annotate import spans
    from radiofm.annotate.decide import Decision
    from radiofm.annotate.plan import plan_analysis

    rec, m, ssb = _carrier(tmp_path)
    plan = plan_analysis(FS, rec.n_samples)
    threads, search = [], S.nr_pss_search
    monkeypatch.setattr(S, "nr_pss_search", lambda *a, **k: threads.append(threading.current_thread().name)
                        or search(*a, **k))  # fmt: skip
    runs = {}
    for cores in (1, 2):
        monkeypatch.setattr(S, "usable_cores", lambda cores=cores: cores)
        threads.clear()
        boxes = [band_box(plan, ssb + 1.0e6, ssb + 3.0e6), band_box(plan, ssb - 3.0e6, ssb - 1.5e6)]
        decisions = [Decision("NR", {"NR": 0.9, "LTE": 0.1}, "spectrogram", 0.9) for _ in boxes]
        runs[cores] = S._scan_ssbs(boxes, decisions, plan, 40.0, spans.LastSpan(rec, "error")), list(threads)
    (cells, searches), names = runs[2]
    assert searches == 1 and len(cells) == 1 and cells[0][0].pci == m["n_id_cell"]
    assert len(names) == 2 and all(n.startswith("radiofm-ssb") for n in names)
    (cells1, searches1), names1 = runs[1]
    assert searches1 == 1 and len(names1) == 1 and cells1[0][0].evidence == cells[0][0].evidence


def test_an_idle_cell_is_not_widened_over_a_signal_with_no_ofdm_clock_beside_it(tmp_path):
    """An NR cell without DMRS takes the power beside its SSB: a band of noise-like energy 1.3 MHz past its upper
    edge (a radar, a hopper) was walked over and swallowed into the cell (session 56: 17.6 MHz for an 8.6 MHz
    cell). Judged "no OFDM", it now bounds the walk and keeps its own annotation."""
    import scipy.fft

    iq, m = single_carrier("NR", np.random.default_rng(5), bandwidth_mhz=20, scs_hz=SCS, snr_db=8.0, centre_hz=-5e6,
                           traffic="idle")  # fmt: skip
    ssb = m["lower_edge_hz"] + (12 * m["ssb_rb_offset"] + m["ssb_sc_offset"] + 120.5) * SCS
    lo, hi = m["upper_edge_hz"] + 1.3e6, m["upper_edge_hz"] + 4.3e6
    rng = np.random.default_rng(1)
    w = scipy.fft.fft(rng.standard_normal(iq.size) + 1j * rng.standard_normal(iq.size))
    f = scipy.fft.fftfreq(iq.size, 1 / FS)
    w[(f < lo) | (f >= hi)] = 0
    other = scipy.fft.ifft(w)
    other *= np.sqrt(0.3 * np.mean(np.abs(iq) ** 2) / np.mean(np.abs(other) ** 2))
    rec = open_recording(write_sigmf(tmp_path / "c", (iq + other).astype(np.complex64), sample_rate_hz=FS,
                                     center_freq_hz=FC))  # fmt: skip
    anns = A.annotate_recording(rec, band_predictor([(ssb - 3.8e6, ssb + 3.8e6), (lo + 0.2e6, hi - 0.2e6)], NR))
    cell = next(a for a in anns.annotations if a.label == "NR")
    assert cell.extra["radiofm:edges"] == "estimated" and cell.freq_upper_edge_hz - FC < lo
    assert [a.extra["radiofm:decision"] for a in anns.annotations if a.label != "NR"] == ["no OFDM"]


def test_a_cell_whose_ssb_sits_half_a_subcarrier_off_its_grid_is_found_and_measured(tmp_path):
    """An odd k_SSB at 30 kHz (the alt generator draws it, 38.211 §7.4.3.1): the SSB is searched on the grid 15 kHz
    off the carrier's, and the decision passes that offset on, so the DMRS band is measured on the carrier's own
    grid (on the SSB's its edges came out 15 kHz off)."""
    import dataclasses

    from radiofm.synth.nrlte_alt import channel as ch
    from radiofm.synth.nrlte_alt import scene
    from radiofm.synth.nrlte_alt.capture import carrier_meta

    n = int(0.04 * FS)
    for seed in range(100):
        rng = np.random.default_rng(seed)
        plans = scene.plan_scene(rng, split="test", regimes=["random"], sample_rate_hz=FS, n_samples=n)
        plans = [p for p in plans if p.kind == "NR" and p.scs_hz == SCS and p.cell.bandwidth_hz >= 20e6]
        if plans:
            break
    cell = dataclasses.replace(plans[0].cell, ssb_half=True, tdd_pattern=None)
    plan = scene.replace(plans[0], cell=cell, channel=ch.ChannelSpec(), cfo_hz=0.0, snr_db=10.0, gate_slots=None)
    iq, _ = scene.render_carrier(plan, rng, FS, n)
    iq += rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(np.sqrt(0.5))
    m = carrier_meta(plan, FS, n, 0.0)
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    (a,) = A.annotate_recording(
        rec, band_predictor([(m["lower_edge_hz"] + 3e5, m["upper_edge_hz"] - 3e5)], NR)
    ).annotations
    evidence = a.extra["radiofm:evidence"]
    assert a.label == "NR" and a.extra["radiofm:pci"] == m["pci"]
    assert evidence["ssb"]["grid_shift_hz"] == 15e3 and evidence["nr_band"]["n_rb"] == m["n_rb"]
    assert abs(a.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3
    assert abs(a.freq_upper_edge_hz - (FC + m["upper_edge_hz"])) < 2e3
